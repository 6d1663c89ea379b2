import { describe, expect, it } from 'vitest';
import { CURRENT, PENDING, PREVIOUS } from '../../src/core/labels.js';
import { rotate } from '../../src/engine/commands.js';
import { rotateNow } from '../../src/engine/emergency.js';
import { DAY, fakeTokenWorld, fakeWorld, type FakeWorld } from '../support/fakes.js';

/**
 * rotate --now over fakes: the gate cut to the stated overlap, the window and pause ignored, every
 * credential that existed before the command replaced. Sleeping moves the fake clock.
 */

const stored = async (w: FakeWorld, stage: string, secretId = 'twilio/app') => {
  const v = (await w.store.read(secretId))?.versions.find((x) => x.stages.includes(stage));
  return v?.value ? (JSON.parse(v.value) as { apiKeySid: string; authToken: string }) : undefined;
};
const now = (w: FakeWorld, name: string, overlapMs: number, stop?: AbortSignal) => {
  const sleeps: number[] = [];
  return {
    sleeps,
    run: rotateNow(w.config, w.runtime, name, {
      overlapMs,
      ...(stop ? { stop } : {}),
      sleep: (ms) => (sleeps.push(ms), w.advance(ms), Promise.resolve()),
    }),
  };
};
/** A gate that would never pass: a probe that reports nothing, a confirmation nobody gives. */
const strictGate = {
  minOverlapSeconds: 86400,
  manualConfirm: true,
  probes: [{ url: 'http://consumer.internal/health', field: 'keySid' }],
};

describe('rotate --now: API key', () => {
  it('replaces the key and deletes the old one at once with overlap 0, whatever gate, window, pause say', async () => {
    const w = await fakeWorld({
      gate: strictGate,
      paused: true,
      window: { days: ['sun'], start: '03:00', end: '04:00' }, // closed: the fakes' clock is a Monday
    });
    await rotate(w.config, w.runtime, { targets: ['app'] });
    const old = (await stored(w, CURRENT))!.apiKeySid;
    const { run, sleeps } = now(w, 'app', 0);
    const done = await run;
    expect(done.finished).toBe(true);
    expect(done.steps.map((s) => s.step)).toEqual(['start-rotation', 'verify-pending', 'promote', 'retire-previous']);
    expect(sleeps).toEqual([]);
    expect(w.twilio.keys.has(old)).toBe(false);
    const alerts = w.logger.lines.filter((l) => l.level === 'error' && l.message.startsWith('EMERGENCY'));
    expect(alerts.map((l) => l.message.slice(0, 60))).toEqual([
      expect.stringContaining('EMERGENCY rotation of app (rotate --now)'),
      expect.stringContaining('EMERGENCY rotation of app finished'),
    ]);
  });

  it('keeps the old key for the stated overlap, sleeping through it, then deletes it', async () => {
    const w = await fakeWorld({ gate: strictGate });
    await rotate(w.config, w.runtime);
    const old = (await stored(w, CURRENT))!.apiKeySid;
    const startedAt = w.now();
    const { run, sleeps } = now(w, 'app', 90_000);
    const done = await run;
    expect(done.finished).toBe(true);
    expect(w.twilio.keys.has(old)).toBe(false);
    expect(w.now() - startedAt).toBeGreaterThanOrEqual(90_000);
    expect(sleeps.every((ms) => ms >= 1000 && ms <= 30_000)).toBe(true);
  });

  it('deletes an old key still waiting for its gate, then replaces the current one too', async () => {
    const w = await fakeWorld({ gate: strictGate });
    await rotate(w.config, w.runtime);
    const first = (await stored(w, CURRENT))!.apiKeySid;
    await rotate(w.config, w.runtime, { force: true }); // waiting: first is AWSPREVIOUS, alive
    const second = (await stored(w, CURRENT))!.apiKeySid;
    expect(w.twilio.keys.has(first)).toBe(true);
    const done = await now(w, 'app', 0).run;
    expect(done.finished).toBe(true);
    expect(w.twilio.keys.has(first)).toBe(false);
    expect(w.twilio.keys.has(second)).toBe(false);
    expect([...w.twilio.keys.keys()]).toEqual([(await stored(w, CURRENT))!.apiKeySid]);
  });

  it("finishes a rotation found pending, then replaces that key too: the one left was the command's", async () => {
    const w = await fakeWorld({ gate: strictGate });
    await rotate(w.config, w.runtime);
    const first = (await stored(w, CURRENT))!.apiKeySid;
    // A pending key from before the command: a run stopped right after storing it.
    const keys = w.runtime.keys.bind(w.runtime);
    const stop = new AbortController();
    w.runtime.keys = (admin, target) => {
      const api = keys(admin, target);
      return { ...api, create: (r) => (stop.abort(), api.create(r)) };
    };
    await rotate(w.config, w.runtime, { force: true, stop: stop.signal });
    w.runtime.keys = keys;
    const pending = (await stored(w, PENDING))!.apiKeySid;

    const done = await now(w, 'app', 0).run;
    expect(done.finished).toBe(true);
    expect(done.steps.filter((s) => s.step === 'start-rotation')).toHaveLength(1);
    expect(w.twilio.keys.has(first)).toBe(false);
    expect(w.twilio.keys.has(pending)).toBe(false);
    expect((await stored(w, PREVIOUS))!.apiKeySid).toBe(pending);
  });

  it('stops when told, between steps or in its sleep, and says it did not finish', async () => {
    const w = await fakeWorld({ gate: strictGate });
    await rotate(w.config, w.runtime);
    const old = (await stored(w, CURRENT))!.apiKeySid;
    const stop = new AbortController();
    const done = await rotateNow(w.config, w.runtime, 'app', {
      overlapMs: 600_000,
      stop: stop.signal,
      sleep: () => (stop.abort(), Promise.resolve()),
    });
    expect(done.finished).toBe(false);
    expect(w.twilio.keys.has(old)).toBe(true);
    expect(w.logger.lines.at(-1)).toMatchObject({
      level: 'error',
      message: expect.stringMatching(/^EMERGENCY rotation of app did NOT finish .*Run the same command again/),
    });
  });
});

describe('rotate --now: Auth Token', () => {
  it('promotes the new token after the overlap, skipping the gate, and the old one is dead', async () => {
    const w = await fakeTokenWorld({ gate: strictGate, maxAgeDays: 90 });
    const old = w.twilio.primary;
    const { run } = now(w, 'token', 30_000);
    const done = await run;
    expect(done.finished).toBe(true);
    expect(done.steps.map((s) => s.step)).toEqual(['start-rotation', 'mark-pending', 'promote', 'settle']);
    expect(w.twilio.primary).not.toBe(old);
    expect((await stored(w, CURRENT, 'twilio/token'))!.authToken).toBe(w.twilio.primary);
    expect(w.twilio.writes).toEqual(['createSecondary', 'promote']);
  });

  it("treats a token rotation waiting at its gate as not the command's: promotes it, then rotates again", async () => {
    const w = await fakeTokenWorld({ gate: strictGate });
    await rotate(w.config, w.runtime, { force: true }); // a secondary waits for the strict gate
    w.advance(DAY);
    const done = await now(w, 'token', 0).run;
    expect(done.finished).toBe(true);
    expect(w.twilio.writes).toEqual(['createSecondary', 'promote', 'createSecondary', 'promote']);
  });
});
