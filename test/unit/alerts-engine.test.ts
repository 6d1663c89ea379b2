import { describe, expect, it } from 'vitest';
import { RUNBOOK, type Alert } from '../../src/core/alert.js';
import { PROBLEMS } from '../../src/core/health.js';
import { exitCodeFor, type TargetResult } from '../../src/core/outcome.js';
import type { AlertChannel, TargetMetrics } from '../../src/core/runtime.js';
import { rotate, status } from '../../src/engine/commands.js';
import { DAY, fakeTokenWorld, fakeWorld, type FakeWorld } from '../support/fakes.js';

/**
 * Alerts and health state over fakes: the engine's results in, channels that record what they get,
 * a memory store, and a clock the test moves. Which alerts a run sends, and what it writes.
 */

interface Recorder extends AlertChannel {
  sent: Alert[];
  failing: boolean;
}

function recorder(name: string, events: readonly string[] = PROBLEMS): Recorder {
  const channel: Recorder = {
    name,
    type: 'webhook',
    events: new Set(events),
    sent: [],
    failing: false,
    send(alert) {
      if (channel.failing) return Promise.reject(new Error(`${name} is down`));
      channel.sent.push(alert);
      return Promise.resolve();
    },
  };
  return channel;
}

/** Wires recording channels and a metrics sink into a fake world; counts tag writes of health state. */
function wire(w: FakeWorld, ...channels: Recorder[]) {
  const metrics: TargetMetrics[] = [];
  const healthWrites: Record<string, string>[] = [];
  w.runtime.alertChannels = channels;
  w.runtime.metrics = (m) => void metrics.push(m);
  const setTags = w.store.setTags.bind(w.store);
  w.store.setTags = (id, tags) => {
    if (Object.keys(tags).some((k) => k.startsWith('rotator:alert:'))) healthWrites.push({ ...tags });
    return setTags(id, tags);
  };
  return { metrics, healthWrites };
}

const run = async (w: FakeWorld, options: Parameters<typeof rotate>[2] = {}): Promise<TargetResult> =>
  (await rotate(w.config, w.runtime, options))[0]!;
const events = (c: Recorder) => c.sent.map((a) => `${a.action} ${a.problem ?? a.event}`);

describe('alerts over fakes', () => {
  it('tells once, reminds after renotifyHours, resolves once the target moves on, writes only changes', async () => {
    const w = await fakeWorld({}, { alerts: { renotifyHours: 24 } });
    const ch = recorder('ops');
    const { healthWrites } = wire(w, ch);
    expect((await run(w)).kind).toBe('done');
    expect(ch.sent).toEqual([]);
    expect(healthWrites, 'a healthy run writes no health state').toEqual([]);

    const failRun = () => {
      w.twilio.failing = ['create'];
      return run(w, { force: true });
    };
    expect(await failRun()).toMatchObject({ kind: 'failed', step: 'start-rotation' });
    expect(events(ch)).toEqual(['trigger step-failed']);
    expect(ch.sent[0]).toMatchObject({
      target: 'app',
      credential: 'api-key',
      step: 'start-rotation',
      error: { remote: { service: 'twilio', status: 500 } },
      runbook: RUNBOOK['step-failed'],
      dedupKey: 'twilio-key-rotator/app/step-failed',
    });
    expect(healthWrites).toHaveLength(1);
    expect((await status(w.config, w.runtime))[0]!.openProblems).toEqual([
      { problem: 'step-failed', since: new Date(w.now()).toISOString(), notifiedAt: new Date(w.now()).toISOString() },
    ]);

    w.advance(23 * 3_600_000);
    await failRun();
    expect(events(ch), 'inside the interval: nothing').toEqual(['trigger step-failed']);
    expect(healthWrites).toHaveLength(1);

    w.advance(2 * 3_600_000);
    await failRun();
    expect(events(ch)).toEqual(['trigger step-failed', 'trigger step-failed']);
    expect(ch.sent[1]).toMatchObject({ renotify: true, firstSeenAt: ch.sent[0]!.firstSeenAt });
    expect(healthWrites).toHaveLength(2);

    expect((await run(w)).kind).toBe('done');
    expect(events(ch)).toEqual(['trigger step-failed', 'trigger step-failed', 'resolve step-failed']);
    expect(healthWrites[2]).toEqual({ 'rotator:alert:step-failed': '' });
    await run(w);
    expect(ch.sent).toHaveLength(3);
    expect(healthWrites).toHaveLength(3);
  });

  it('keeps a problem unnotified while no channel takes it, and sends it on the next run', async () => {
    const w = await fakeWorld();
    const ch = recorder('ops');
    wire(w, ch);
    await run(w);
    ch.failing = true;
    w.twilio.failing = ['create'];
    const failed = await run(w, { force: true });
    expect(exitCodeFor([failed])).toBe(1);
    expect(failed).toMatchObject({ kind: 'failed', step: 'start-rotation' });
    expect(w.logger.lines.some((l) => l.level === 'error' && l.message.includes('ops is down'))).toBe(true);
    expect((await w.store.read('twilio/app'))!.tags['rotator:alert:step-failed']).toMatch(/ notified=-$/);
    ch.failing = false;
    w.twilio.failing = ['create'];
    await run(w, { force: true });
    expect(events(ch)).toEqual(['trigger step-failed']);
  });

  it('leaves results and the exit code exactly as without channels when every delivery fails', async () => {
    const plain = await fakeWorld();
    const alerted = await fakeWorld();
    const ch = recorder('ops');
    ch.failing = true;
    wire(alerted, ch);
    for (const w of [plain, alerted]) {
      await run(w);
      w.twilio.failing = ['create'];
    }
    const [a, b] = [await run(plain, { force: true }), await run(alerted, { force: true })];
    const strip = ({ seen: _s, ...r }: TargetResult) => r;
    expect(strip(b)).toEqual(strip(a));
  });

  it('reports a key past maxAgeDays plus the grace, and a current key deleted on Twilio; both resolve', async () => {
    const w = await fakeWorld({ maxAgeDays: 30 }, { alerts: { keyAgeGraceDays: 7 } });
    const ch = recorder('ops');
    wire(w, ch);
    await run(w);
    w.advance(38 * DAY);
    w.twilio.failing = ['create'];
    await run(w);
    expect(events(ch)).toEqual(['trigger step-failed', 'trigger key-overdue']);
    expect(ch.sent[1]!.summary).toMatch(/app: the current key SK\w+ is 38 days old \(maxAgeDays 30, grace 7 days\)/);

    // Someone deletes the current key: the next run rotates at once and says what it found.
    const current = ch.sent[1]!.refs[0]!;
    w.twilio.keys.delete(current);
    const next = await run(w);
    expect(next.kind).toBe('done');
    expect(events(ch).slice(2)).toEqual(['trigger current-missing', 'resolve step-failed', 'resolve key-overdue']);
    expect(ch.sent[2]).toMatchObject({ severity: 'critical', refs: [current] });
    await run(w);
    expect(events(ch).slice(5)).toEqual(['resolve current-missing']);
  });

  it('reports keys named like this target’s that it will never delete', async () => {
    const w = await fakeWorld();
    const ch = recorder('ops');
    wire(w, ch);
    await run(w);
    const stray = w.twilio.seed(`rot-${'0'.repeat(8)}${'a'.repeat(24)}`);
    await run(w);
    expect(events(ch)).toEqual(['trigger orphan-found']);
    expect(ch.sent[0]).toMatchObject({ refs: [stray.sid], severity: 'warning', runbook: RUNBOOK['orphan-found'] });
    w.twilio.keys.delete(stray.sid);
    await run(w);
    expect(events(ch)).toEqual(['trigger orphan-found', 'resolve orphan-found']);
  });

  it('names a new key refused by verification, and an Auth Token secondary someone else made', async () => {
    const w = await fakeWorld();
    const ch = recorder('ops');
    wire(w, ch);
    await run(w);
    w.runtime.verifier = () => ({
      verify: () => Promise.resolve({ ok: false, definitive: true, reason: 'HTTP 401 (Twilio error 20003)' }),
    });
    expect(await run(w, { force: true })).toMatchObject({ kind: 'failed', reason: 'verification-failed' });
    expect(events(ch)).toEqual(['trigger verification-failed']);
    expect(ch.sent[0]!.runbook).toBe(RUNBOOK['verification-failed']);

    const t = await fakeTokenWorld();
    const tc = recorder('ops');
    wire(t, tc);
    t.twilio.secondary = 'f'.repeat(32);
    expect(await run(t, { force: true })).toMatchObject({ kind: 'failed', reason: 'foreign-secondary' });
    expect(events(tc)).toEqual(['trigger foreign-secondary']);
    expect(tc.sent[0]).toMatchObject({ credential: 'auth-token', runbook: RUNBOOK['foreign-secondary'] });
  });

  it('sends news of a finished rotation only to channels that asked, and to each channel only its events', async () => {
    const w = await fakeWorld({ gate: { minOverlapSeconds: 0 } });
    const news = recorder('news', ['rotation-completed']);
    const pager = recorder('pager', ['stuck']);
    const { metrics } = wire(w, news, pager);
    await run(w);
    expect((await run(w, { force: true })).kind).toBe('done');
    expect(events(news)).toEqual(['notify rotation-completed']);
    expect(news.sent[0]!.refs[0]).toMatch(/^SK/);
    w.twilio.failing = ['create'];
    await run(w, { force: true });
    expect(pager.sent).toEqual([]);
    expect(metrics.map((m) => m.values)).toEqual([
      expect.objectContaining({ TargetsChecked: 1, RotationsStarted: 0, RotationsFailed: 0, KeyAgeDays: 0 }),
      expect.objectContaining({ RotationsStarted: 1, RotationsCompleted: 1, RotationsFailed: 0 }),
      expect.objectContaining({ RotationsStarted: 0, RotationsFailed: 1, OpenProblems: 1 }),
    ]);
  });

  it('sends nothing, writes nothing and emits no metrics for a dry run', async () => {
    const w = await fakeWorld();
    const ch = recorder('ops');
    const { metrics, healthWrites } = wire(w, ch);
    w.twilio.failing = ['list'];
    expect((await run(w, { dryRun: true })).kind).not.toBe('done');
    expect(ch.sent).toEqual([]);
    expect(metrics).toEqual([]);
    expect(healthWrites).toEqual([]);
  });

  it('measures the wait at the gate in hours', async () => {
    const w = await fakeWorld();
    const { metrics } = wire(w);
    await run(w);
    await run(w, { force: true });
    w.advance(1_800_000);
    await run(w);
    expect(metrics.at(-1)!.values).toMatchObject({ GateWaitHours: 0.5, TargetsStuck: 0 });
  });
});
