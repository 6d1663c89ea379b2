import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/core/alert.js';
import { CURRENT, labelsStamp, PREVIOUS } from '../../src/core/labels.js';
import type { TargetResult } from '../../src/core/outcome.js';
import type { AlertChannel } from '../../src/core/runtime.js';
import { TAG_PAUSED } from '../../src/core/rollback.js';
import { rotate, status } from '../../src/engine/commands.js';
import { rotationStep } from '../../src/engine/protocol.js';
import { rollback } from '../../src/engine/rollback.js';
import { RotationError, UsageError } from '../../src/errors.js';
import { fakeTokenWorld, fakeWorld, type FakeWorld } from '../support/fakes.js';

/**
 * `rollback <target>` over in-memory fakes: the overlap it acts in, what it refuses, the pause it
 * leaves, and a kill before or after each of its remote calls followed by a rerun.
 */

const run = async (w: FakeWorld, options: Parameters<typeof rotate>[2] = {}): Promise<TargetResult> =>
  (await rotate(w.config, w.runtime, options))[0]!;
const sidAt = async (w: FakeWorld, stage: string, secretId = 'twilio/app') => {
  const v = (await w.store.read(secretId))?.versions.find((x) => x.stages.includes(stage));
  return v?.value ? (JSON.parse(v.value) as { apiKeySid: string }).apiKeySid : undefined;
};
const tags = async (w: FakeWorld) => (await w.store.read('twilio/app'))!.tags;
const stamp = async (w: FakeWorld) => labelsStamp(await w.store.read('twilio/app'));

/** A target whose forced rotation waits at its gate: AWSCURRENT new, AWSPREVIOUS old, both alive. */
async function inOverlap(target: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const w = await fakeWorld(target, extra);
  await run(w);
  const oldSid = (await sidAt(w, CURRENT))!;
  expect(await run(w, { force: true })).toMatchObject({ kind: 'waiting', kept: oldSid });
  const newSid = (await sidAt(w, CURRENT))!;
  return { w, oldSid, newSid };
}

function recorder(): AlertChannel & { sent: Alert[] } {
  const sent: Alert[] = [];
  const send = (alert: Alert) => {
    sent.push(alert);
    return Promise.resolve();
  };
  return { name: 'ops', type: 'webhook', events: new Set(['rolled-back']), sent, send };
}

describe('rollback over fakes: an API key during the overlap', () => {
  it('puts the old key back, revokes the new one, pauses the target and sends one alert', async () => {
    const { w, oldSid, newSid } = await inOverlap();
    const channel = recorder();
    w.runtime.alertChannels = [channel];
    const report = await rollback(w.config, w.runtime, 'app');
    expect(report).toMatchObject({ state: 'rolled-back', from: { ref: newSid }, to: { ref: oldSid } });
    expect(report.kept).toBeUndefined();
    expect(report.steps.map((s) => s.step)).toEqual(['verify-previous', 'pause', 'restore-previous', 'revoke-new']);
    expect(await sidAt(w, CURRENT)).toBe(oldSid);
    expect(await sidAt(w, PREVIOUS)).toBe(newSid);
    expect(w.twilio.keys.has(newSid)).toBe(false);
    expect(w.twilio.keys.has(oldSid)).toBe(true);
    expect((await tags(w))[TAG_PAUSED]).toMatch(/^\S+ rollback [0-9a-f]{32} \S+$/);
    expect(channel.sent.map((a) => [a.event, a.refs])).toEqual([['rolled-back', [oldSid, newSid]]]);
    // A rerun has nothing left to do and announces nothing again.
    const again = await rollback(w.config, w.runtime, 'app');
    expect(again.steps.map((s) => s.step)).toEqual(['rolled-back']);
    expect(channel.sent).toHaveLength(1);
  });

  it('stays paused: scheduled and named runs leave it alone; rotate --force on it resumes', async () => {
    const { w, oldSid } = await inOverlap();
    await rollback(w.config, w.runtime, 'app');
    w.advance(40 * 86_400_000);
    const before = await stamp(w);
    const writes = w.twilio.writes.length;
    for (const options of [{}, { targets: ['app'] }, { scheduled: true }, { force: true }])
      expect(await run(w, options), JSON.stringify(options)).toMatchObject({ kind: 'deferred', reason: 'paused' });
    expect(await stamp(w)).toBe(before);
    expect(w.twilio.writes).toHaveLength(writes);
    const resumed = await run(w, { force: true, targets: ['app'] });
    expect(resumed.steps.map((s) => s.step)).toContain('resume');
    expect(resumed.steps.map((s) => s.step)).toContain('start-rotation');
    expect((await tags(w))[TAG_PAUSED]).toBe('');
    expect(await sidAt(w, PREVIOUS)).toBe(oldSid);
  });

  it('tells in status that the target is paused by the rollback', async () => {
    const { w } = await inOverlap();
    await rollback(w.config, w.runtime, 'app');
    const [s] = await status(w.config, w.runtime);
    expect(s).toMatchObject({ paused: true, attention: false });
    expect(s!.pausedBy).toMatch(/paused by a rollback at .*rotate --force --target app/);
    expect(s!.next).toMatch(/^nothing: paused by a rollback/);
  });

  it('refuses when the old key no longer works, changing nothing', async () => {
    const { w, oldSid } = await inOverlap();
    w.twilio.refused.add(oldSid);
    const before = await stamp(w);
    const writes = w.twilio.writes.length;
    const err = await rollback(w.config, w.runtime, 'app').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/previous key SK\w+ no longer works.*nothing was changed/);
    expect(await stamp(w)).toBe(before);
    expect(w.twilio.writes).toHaveLength(writes);
  });

  it('refuses with nothing to roll back: no rotation yet, or the old key already retired', async () => {
    const w = await fakeWorld({ gate: { minOverlapSeconds: 0 } });
    await run(w);
    await expect(rollback(w.config, w.runtime, 'app')).rejects.toThrow(/no previous key; nothing to roll back/);
    await run(w, { force: true });
    await run(w);
    const retired = await rollback(w.config, w.runtime, 'app').catch((e: unknown) => e);
    expect(retired).toBeInstanceOf(UsageError);
    expect((retired as Error).message).toMatch(/already retired .* nothing to go back to/);
    expect((await tags(w))[TAG_PAUSED]).toBeUndefined();
  });

  it('keeps a new key whose name does not prove it is this target’s, and says so', async () => {
    const { w, oldSid, newSid } = await inOverlap();
    w.twilio.keys.get(newSid)!.friendlyName = 'renamed-by-hand';
    const report = await rollback(w.config, w.runtime, 'app');
    expect(report.steps.map((s) => s.step)).not.toContain('revoke-new');
    expect(report.kept).toMatch(/not provably this target's/);
    expect(await sidAt(w, CURRENT)).toBe(oldSid);
    expect(w.twilio.keys.has(newSid)).toBe(true);
  });

  it('shows the plan on --dry-run and changes nothing', async () => {
    const { w, newSid } = await inOverlap();
    const before = await stamp(w);
    const writes = w.twilio.writes.length;
    const plan = await rollback(w.config, w.runtime, 'app', { dryRun: true });
    expect(plan.state).toBe('planned');
    expect(plan.steps.map((s) => s.step)).toEqual([
      'verify-previous',
      'pause',
      'restore-previous',
      'revoke-new',
      'alert',
    ]);
    expect(plan.steps.find((s) => s.step === 'revoke-new')!.detail).toContain(newSid);
    expect(await stamp(w)).toBe(before);
    expect(w.twilio.writes).toHaveLength(writes);
  });

  it('stops when someone moved AWSCURRENT back by hand: no rollback of its own is recorded', async () => {
    const { w, oldSid, newSid } = await inOverlap();
    const previousVersion = (await w.store.read('twilio/app'))!.versions.find((v) => v.stages.includes(PREVIOUS))!;
    await w.store.promote('twilio/app', previousVersion.versionId);
    const err = await rollback(w.config, w.runtime, 'app').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RotationError);
    expect((err as Error).message).toMatch(/no rollback of this rotator's is recorded/);
    expect(w.twilio.keys.has(newSid)).toBe(true);
    expect(await sidAt(w, CURRENT)).toBe(oldSid);
  });
});

describe("rollback over fakes: Secrets Manager's rotation schedule", () => {
  it('fails its events on a target a rollback paused, creating nothing', async () => {
    const aws = { store: 'aws', secretId: 'twilio/app' };
    const stores = { file: { path: '/nonexistent/never-used.json' }, aws: { region: 'us-east-1' } };
    const { w } = await inOverlap({ secret: aws }, { stores });
    await rollback(w.config, w.runtime, 'app');
    const writes = w.twilio.writes.length;
    const event = { Step: 'createSecret' as const, SecretId: 'twilio/app', ClientRequestToken: randomUUID() };
    await expect(rotationStep(event, w.config, w.runtime)).rejects.toThrow(/paused by a rollback .*nothing was done/);
    expect(w.twilio.writes).toHaveLength(writes);
  });
});

describe('rollback over fakes: a person acting meanwhile', () => {
  it('stops, moving nothing, when the labels change between its look and its move', async () => {
    const { w, oldSid, newSid } = await inOverlap();
    const read = w.store.read.bind(w.store);
    let acted = false;
    // Right before rollback's fresh read ahead of the move, a person moves AWSCURRENT by hand.
    w.store.read = async (id, options) => {
      if (options?.fresh && !acted) {
        acted = true;
        const previous = (await read(id))!.versions.find((v) => v.stages.includes(PREVIOUS))!;
        await w.store.promote(id, previous.versionId);
      }
      return read(id, options);
    };
    const err = await rollback(w.config, w.runtime, 'app').catch((e: unknown) => e);
    expect(acted).toBe(true);
    expect(err).toBeInstanceOf(RotationError);
    expect((err as Error).message).toMatch(/labels changed meanwhile .*nothing more was done/);
    expect(await sidAt(w, CURRENT)).toBe(oldSid);
    expect(w.twilio.keys.has(newSid)).toBe(true);
  });
});

describe('rollback over fakes: a racing run retires the old key', () => {
  it('puts AWSCURRENT straight back on the new key when the old one dies as it is restored', async () => {
    const { w, oldSid, newSid } = await inOverlap();
    const promote = w.store.promote.bind(w.store);
    // A scheduled run that decided before the pause deletes the old key just as AWSCURRENT moves to it.
    w.store.promote = async (id, token, seen) => {
      w.twilio.keys.delete(oldSid);
      return promote(id, token, seen);
    };
    const err = await rollback(w.config, w.runtime, 'app').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RotationError);
    expect((err as Error).message).toMatch(/stopped working right after AWSCURRENT moved to it/);
    expect(await sidAt(w, CURRENT)).toBe(newSid);
    expect(w.twilio.keys.has(newSid)).toBe(true);
  });
});

/** The remote calls a rollback changes things with; a crash throws before or after the n-th one. */
function crashAt(w: FakeWorld, n: number, phase: 'before' | 'after') {
  let count = 0;
  const crash = () => new Error(`killed ${phase} mutating call #${n}`);
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      count++;
      if (count === n && phase === 'before') throw crash();
      const result = await fn(...args);
      if (count === n && phase === 'after') throw crash();
      return result;
    };
  const store = w.store;
  const setTags = store.setTags.bind(store);
  const promote = store.promote.bind(store);
  const runtime = w.runtime;
  const keys = runtime.keys.bind(runtime);
  store.setTags = wrap(setTags);
  store.promote = wrap(promote);
  w.runtime.keys = (...args) => {
    const api = keys(...args);
    return { ...api, remove: wrap((sid: string) => api.remove(sid)) };
  };
  return () => {
    Object.assign(store, { setTags, promote });
    runtime.keys = keys;
  };
}

describe('rollback over fakes: a kill before or after each remote call that changes something', () => {
  for (const n of [1, 2, 3])
    for (const phase of ['before', 'after'] as const)
      it(`finishes on a rerun after a kill ${phase} change #${n}, the current key working throughout`, async () => {
        const { w, oldSid, newSid } = await inOverlap();
        const restore = crashAt(w, n, phase);
        await expect(rollback(w.config, w.runtime, 'app')).rejects.toThrow(/killed/);
        restore();
        const current = (await sidAt(w, CURRENT))!;
        expect(w.twilio.keys.has(current), 'AWSCURRENT names a live key').toBe(true);
        // A scheduled run meanwhile, past the gate, must not retire the old key once the pause is written.
        w.advance(2 * 3_600_000);
        if ((await tags(w))[TAG_PAUSED]) expect(await run(w)).toMatchObject({ kind: 'deferred', reason: 'paused' });
        const status1 = (await status(w.config, w.runtime))[0]!;
        if ((await tags(w))[TAG_PAUSED] && w.twilio.keys.has(newSid))
          expect(status1.next, 'status tells how to finish').toMatch(/rollback is unfinished: run .*rollback app/);
        const rerun = await rollback(w.config, w.runtime, 'app');
        expect(rerun.state).toBe('rolled-back');
        expect(await sidAt(w, CURRENT)).toBe(oldSid);
        expect(w.twilio.keys.has(oldSid)).toBe(true);
        expect(w.twilio.keys.has(newSid)).toBe(false);
        expect((await tags(w))[TAG_PAUSED]).toContain('rollback');
      });
});

describe('rollback over fakes: the restored key gone after a kill', () => {
  for (const how of ['deleted', 'refused'] as const)
    it(`puts AWSCURRENT back on the new key when the restored key is ${how}, revoking nothing`, async () => {
      const { w, oldSid, newSid } = await inOverlap();
      const restore = crashAt(w, 2, 'after');
      await expect(rollback(w.config, w.runtime, 'app')).rejects.toThrow(/killed/);
      restore();
      expect(await sidAt(w, CURRENT)).toBe(oldSid);
      // A racing run retired the old key (or Twilio refuses it) right as AWSCURRENT came back to it.
      if (how === 'deleted') w.twilio.keys.delete(oldSid);
      else w.twilio.refused.add(oldSid);
      const err = await rollback(w.config, w.runtime, 'app').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RotationError);
      expect((err as Error).message).toMatch(/AWSCURRENT is back on the new key .*nothing was revoked/);
      expect(await sidAt(w, CURRENT)).toBe(newSid);
      expect(w.twilio.keys.has(newSid)).toBe(true);
    });
});

describe('rollback over fakes: the alert', () => {
  it('is sent once even when the run is killed right after revoking the new key', async () => {
    const { w } = await inOverlap();
    const channel = recorder();
    w.runtime.alertChannels = [channel];
    const restore = crashAt(w, 3, 'after');
    await expect(rollback(w.config, w.runtime, 'app')).rejects.toThrow(/killed/);
    restore();
    expect(channel.sent).toHaveLength(0);
    await rollback(w.config, w.runtime, 'app');
    await rollback(w.config, w.runtime, 'app');
    expect(channel.sent.map((a) => a.event)).toEqual(['rolled-back']);
  });
});

describe('rollback over fakes: an Auth Token', () => {
  it('says plainly after a promotion that the old token is dead, exit 2, changing nothing', async () => {
    const w = await fakeTokenWorld({ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } });
    await run(w, { force: true });
    const before = labelsStamp(await w.store.read('twilio/token'));
    const err = await rollback(w.config, w.runtime, 'token').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/old Auth Token tf_\w+ died on Twilio when tf_\w+ was promoted/);
    expect(labelsStamp(await w.store.read('twilio/token'))).toBe(before);
  });

  it('points to abort before the promotion', async () => {
    const w = await fakeTokenWorld();
    expect(await run(w, { force: true })).toMatchObject({ kind: 'waiting' });
    await expect(rollback(w.config, w.runtime, 'token')).rejects.toThrow(/not promoted yet.*abort token/);
  });
});
