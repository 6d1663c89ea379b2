import { describe, expect, it } from 'vitest';
import { TAG_PAUSED } from '../../src/core/rollback.js';
import { authenticates, labelledKeys } from '../support/assertions.js';
import { World, type StoreKind } from '../support/world.js';
import {
  checkObservation,
  cleanRun,
  crashPointsOf,
  inPool,
  runCli as runChild,
  storedVersions,
  type CrashPoint,
} from './harness.js';

/**
 * Kills a real `rollback` child process (SIGKILL) before and after every remote call of an
 * undisturbed rollback (see ./harness.ts), checks that AWSCURRENT still names a working key and no
 * stored version was lost, that a scheduled run meanwhile leaves the old key alone, then reruns
 * `rollback` until it finishes.
 */

const GATE = { minOverlapSeconds: 3600, maxWaitSeconds: 7 * 86400 };

async function setup(kind: StoreKind): Promise<{ world: World; oldSid: string; newSid: string }> {
  const world = await World.start(kind);
  await world.seedAdmin('auth-token');
  const oldSid = await world.seedCurrentKey();
  await world.writeConfig([{ gate: GATE }]);
  const forced = await world.cli(['rotate', '--force']);
  expect(forced.code, forced.stderr).toBe(0);
  return { world, oldSid, newSid: (await labelledKeys(world)).current!.apiKeySid };
}

async function crashPoints(kind: StoreKind): Promise<CrashPoint[]> {
  const requests = await cleanRun(
    async () => (await setup(kind)).world,
    ['rollback', 'app'],
    (clean) => {
      expect(clean.code, clean.stderr).toBe(0);
    },
  );
  console.log(`crash test (${kind} store): a rollback makes ${requests.length} requests`);
  return crashPointsOf(requests, { allStateRemote: kind === 'aws' });
}

async function crashAndFinish(kind: StoreKind, point: CrashPoint): Promise<void> {
  const { world, oldSid, newSid } = await setup(kind);
  const where = `${kind} store, rollback killed ${point.phase} request #${point.seq} (${point.operation})`;
  try {
    const seen = await storedVersions(world);
    const crashed = await runChild(world, ['rollback', 'app'], point);
    expect(crashed.signal, `${where}: the child was killed`).toBe('SIGKILL');
    await checkObservation(world, seen, `${where}, after the kill`);
    // Once the pause is written, status explains a half-done rollback and an unattended run does nothing.
    if ((await labelledKeys(world)).tags[TAG_PAUSED]) {
      const told = await world.cli(['status', '--target', 'app']);
      if (world.liveKeys().includes(newSid)) expect(told.stdout, where).toContain('a rollback is unfinished');
      else expect(told.stdout, where).toContain('paused by a rollback');
      const scheduled = await world.cli(['rotate']);
      expect(scheduled.stdout, where).toContain('paused by a rollback');
      expect(world.liveKeys(), `${where}: the old key survives a scheduled run`).toContain(oldSid);
    }
    let finished = false;
    for (let attempt = 1; attempt <= 3 && !finished; attempt++) {
      const rerun = await runChild(world, ['rollback', 'app']);
      await checkObservation(world, seen, `${where}, after rerun ${attempt}`);
      expect(rerun.code, `${where}: rerun ${attempt}; ${rerun.stderr}`).toBe(0);
      finished = rerun.stdout.includes('app: rolled back from');
    }
    expect(finished, `${where}: finishes within 3 reruns`).toBe(true);
    const { current, tags } = await labelledKeys(world);
    expect(current?.apiKeySid, `${where}: the old key is current`).toBe(oldSid);
    expect(await authenticates(world, current), `${where}: and works`).toBe(true);
    expect(world.liveKeys(), `${where}: the new key is revoked`).not.toContain(newSid);
    expect(tags[TAG_PAUSED], `${where}: the target stays paused`).toMatch(/ rollback /);
  } finally {
    await world.close();
  }
}

describe.each<StoreKind>(['aws', 'file'])('rollback: crash anywhere, rerun, finish (%s store)', (kind) => {
  it('survives SIGKILL before and after every remote call of a rollback', { timeout: 240_000 }, async () => {
    const points = await crashPoints(kind);
    expect(points.length).toBeGreaterThan(kind === 'aws' ? 6 : 4);
    await inPool(points, 3, (p) => crashAndFinish(kind, p));
    const mutating = points.filter((p) => p.phase === 'after').length;
    console.log(
      `crash test (${kind} store): covered ${points.length} rollback crash points (${mutating} after a change)`,
    );
  });
});
