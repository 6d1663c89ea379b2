import { describe, expect, it } from 'vitest';
import { labelledKeys, unreferencedRotatorKeys } from '../support/assertions.js';
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
 * Kills a real `rotate` child process (SIGKILL) at every remote call of a full rotation, before the
 * call takes effect and after (see ./harness.ts), then restarts it until it converges.
 */

const PREFIX = 'rot-app-';

async function setup(kind: StoreKind): Promise<{ world: World; originalKey: string }> {
  const world = await World.start(kind);
  await world.seedAdmin('auth-token');
  const originalKey = await world.seedCurrentKey();
  await world.writeConfig([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 }, prefix: PREFIX }]);
  return { world, originalKey };
}

/** Crash points of one undisturbed forced rotation, read from the emulators' request logs. */
async function crashPoints(kind: StoreKind): Promise<CrashPoint[]> {
  const requests = await cleanRun(
    async () => (await setup(kind)).world,
    ['rotate', '--force'],
    (clean) => {
      expect(clean.code, clean.stderr).toBe(0);
      expect(clean.stdout).toContain('done');
    },
  );
  console.log(`crash test (${kind} store): a forced rotation makes ${requests.length} requests`);
  return crashPointsOf(requests, { allStateRemote: kind === 'aws' });
}

async function crashAndRecover(kind: StoreKind, point: CrashPoint): Promise<void> {
  const { world, originalKey } = await setup(kind);
  const where = `${kind} store, crash ${point.phase} request #${point.seq} (${point.operation})`;
  try {
    const seen = await storedVersions(world);
    const crashed = await runChild(world, ['rotate', '--force'], point);
    expect(crashed.signal, `${where}: the child was killed`).toBe('SIGKILL');
    await checkObservation(world, seen, `${where}, after the kill`);

    let converged = false;
    for (let attempt = 1; attempt <= 3 && !converged; attempt++) {
      const rerun = await runChild(world, ['rotate']);
      await checkObservation(world, seen, `${where}, after rerun ${attempt}`);
      expect(rerun.code, `${where}: rerun ${attempt} exit code; stdout: ${rerun.stdout}`).toBe(0);
      converged = rerun.stdout.includes(': done.');
    }
    expect(converged, `${where}: converges within 3 reruns`).toBe(true);

    const { current } = await labelledKeys(world);
    expect(await unreferencedRotatorKeys(world, PREFIX), `${where}: no unreferenced rotator-made key survives`).toEqual(
      [],
    );
    if (current?.apiKeySid !== originalKey)
      expect(world.liveKeys(), `${where}: the retired key is gone`).not.toContain(originalKey);
  } finally {
    await world.close();
  }
}

describe.each<StoreKind>(['aws', 'file'])('crash anywhere, rerun, converge (%s store)', (kind) => {
  it('survives SIGKILL before and after every remote call of a forced rotation', { timeout: 240_000 }, async () => {
    const points = await crashPoints(kind);
    expect(points.length).toBeGreaterThan(kind === 'aws' ? 10 : 5);
    await inPool(points, 3, (p) => crashAndRecover(kind, p));
    const mutating = points.filter((p) => p.phase === 'after').length;
    console.log(
      `crash test (${kind} store): covered ${points.length} crash points ` +
        `(${points.length - mutating} before a request took effect, ${mutating} after a change and ` +
        `before its answer)`,
    );
  });
});
