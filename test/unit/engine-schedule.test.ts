import { describe, expect, it } from 'vitest';
import { CURRENT } from '../../src/core/labels.js';
import type { TargetResult } from '../../src/core/outcome.js';
import { rotate, status } from '../../src/engine/commands.js';
import { DAY, fakeTokenWorld, fakeWorld, type FakeWorld } from '../support/fakes.js';

/**
 * What unattended runs add to the engine's loop: pause, maintenance windows, a stop that lets the
 * step in flight finish, and the current credential's age on every outcome. Over fakes; the clock
 * starts on Monday 2026-11-30 12:00 UTC.
 */

const run = async (w: FakeWorld, options: Parameters<typeof rotate>[2] = {}): Promise<TargetResult> =>
  (await rotate(w.config, w.runtime, options))[0]!;
const steps = (r: TargetResult) => r.steps.map((s) => s.step);
const currentSid = async (w: FakeWorld) => {
  const v = (await w.store.read('twilio/app'))?.versions.find((x) => x.stages.includes(CURRENT));
  return (JSON.parse(v!.value!) as { apiKeySid: string }).apiKeySid;
};
/** Mondays 13:00-14:00 UTC: an hour after the fakes' clock starts. */
const mondayAfternoon = { days: ['mon'], start: '13:00', end: '14:00' };

describe('engine: pause', () => {
  it('leaves a paused target alone in an unattended run, and runs it when a person names it', async () => {
    const w = await fakeWorld({ paused: true });
    const skipped = await run(w);
    expect(skipped).toMatchObject({ kind: 'deferred', reason: 'paused' });
    expect(w.twilio.writes).toEqual([]);
    expect(await w.store.read('twilio/app')).toBeUndefined();

    expect(await run(w, { targets: ['app'], scheduled: true })).toMatchObject({ kind: 'deferred', reason: 'paused' });
    expect(w.twilio.writes).toEqual([]);

    expect(await run(w, { targets: ['app'] })).toMatchObject({ kind: 'done' });
    expect(w.twilio.writes).toHaveLength(1);
  });
});

describe('engine: maintenance windows', () => {
  it('starts a due rotation only inside the window, and --force starts it outside', async () => {
    const w = await fakeWorld({ maxAgeDays: 1, window: mondayAfternoon, gate: { minOverlapSeconds: 0 } });
    // The first key of a new secret is not a rotation: it is made whatever the hour.
    expect(await run(w)).toMatchObject({ kind: 'done' });
    w.advance(DAY + 60_000); // Tuesday 12:01: due, window closed
    const held = await run(w);
    expect(held).toMatchObject({ kind: 'deferred', reason: 'window' });
    expect(held.kind === 'deferred' && held.detail).toContain('mon 13:00-14:00 UTC');
    expect(w.twilio.writes).toHaveLength(1);

    const forced = await run(w, { force: true });
    expect(steps(forced)).toContain('start-rotation');
  });

  it('rotates once the window opens, and finishes a rotation in flight outside it', async () => {
    const w = await fakeWorld({ maxAgeDays: 6, window: mondayAfternoon, gate: { minOverlapSeconds: 7200 } });
    await run(w);
    const first = await currentSid(w);
    w.advance(7 * DAY + 3_600_000); // next Monday 13:00: due, window open
    const started = await run(w);
    expect(steps(started)).toEqual(['start-rotation', 'verify-pending', 'promote']);
    expect(started).toMatchObject({ kind: 'waiting', kept: first });
    w.advance(2 * 3_600_000); // 15:00: window closed, overlap over
    const finished = await run(w);
    expect(steps(finished)).toEqual(['verify-current', 'retire-previous']);
    expect(w.twilio.keys.has(first)).toBe(false);
  });

  it('holds an Auth Token promotion until the window opens, even once the gate has passed', async () => {
    const w = await fakeTokenWorld({ maxAgeDays: 6, window: mondayAfternoon, gate: { minOverlapSeconds: 3600 } });
    w.advance(7 * DAY); // next Monday 12:00: due, window closed
    expect(await run(w)).toMatchObject({ kind: 'deferred', reason: 'window' });
    expect(w.twilio.writes).toEqual([]);
    w.advance(3_600_000); // 13:00: open
    expect(steps(await run(w))).toEqual(['start-rotation', 'mark-pending']);
    w.advance(2 * 3_600_000); // 15:00: the gate has passed, the window has closed
    const held = await run(w);
    expect(held).toMatchObject({ kind: 'deferred', reason: 'window' });
    expect(held.kind === 'deferred' && held.detail).toMatch(/^promote waits for the maintenance window/);
    expect(w.twilio.writes).toEqual(['createSecondary']);
    w.advance(7 * DAY - 2 * 3_600_000); // the Monday after, 13:00
    expect(steps(await run(w))).toContain('promote');
    // The promoted token was made a week ago: older than maxAgeDays, so the next rotation follows.
    expect(w.twilio.writes.slice(0, 2)).toEqual(['createSecondary', 'promote']);
  });

  it('status says whether the window is open', async () => {
    const w = await fakeWorld({ window: mondayAfternoon, paused: true });
    const [s] = await status(w.config, w.runtime);
    expect(s).toMatchObject({ paused: true, window: { description: 'mon 13:00-14:00 UTC', open: false } });
    w.advance(3_600_000);
    expect((await status(w.config, w.runtime))[0]).toMatchObject({ window: { open: true } });
  });
});

describe('engine: a stop signal', () => {
  it('lets the step in flight finish and starts no other; the next run resumes', async () => {
    const w = await fakeWorld({ gate: { minOverlapSeconds: 0 } });
    await run(w);
    const first = await currentSid(w);
    const stop = new AbortController();
    const keys = w.runtime.keys.bind(w.runtime);
    w.runtime.keys = (admin, target) => {
      const api = keys(admin, target);
      // SIGTERM arrives while Twilio is creating the new key.
      return { ...api, create: (request) => (stop.abort(), api.create(request)) };
    };
    const stopped = await run(w, { force: true, stop: stop.signal });
    expect(steps(stopped)).toEqual(['start-rotation']);
    expect(stopped).toMatchObject({ kind: 'deferred', reason: 'stopped' });

    w.runtime.keys = keys;
    const resumed = await run(w);
    expect(steps(resumed)).toEqual(['verify-pending', 'promote', 'retire-previous']);
    expect(w.twilio.keys.has(first)).toBe(false);
  });

  it('starts no target once stopped', async () => {
    const w = await fakeWorld();
    const stop = new AbortController();
    stop.abort();
    expect(await run(w, { stop: stop.signal })).toMatchObject({ kind: 'deferred', reason: 'stopped' });
    expect(await w.store.read('twilio/app')).toBeUndefined();
  });
});

describe('engine: results carry the age of the current credential', () => {
  it('reports when the current key was stored, for both kinds', async () => {
    const w = await fakeWorld();
    const created = w.now();
    expect(await run(w)).toMatchObject({ kind: 'done', currentCreatedAtMs: created });
    const t = await fakeTokenWorld();
    expect(await run(t)).toMatchObject({ kind: 'done', currentCreatedAtMs: t.now() });
  });
});
