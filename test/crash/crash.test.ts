import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { RequestLogEntry } from '../emulators/common/index.js';
import { authenticates, labelledKeys, unreferencedRotatorKeys } from '../support/assertions.js';
import { spawnCli } from '../support/child.js';
import { AWS_ENV, World, type StoreKind } from '../support/world.js';

/**
 * Kills a real `rotate` child process (SIGKILL) at every remote call of a full rotation, then
 * restarts it until it converges. A crash point is either
 *   - "before": the request arrives and the child dies before the service acts on it (the request
 *     is dropped: as if the process died just before sending), or
 *   - "after":  the service has acted and the child dies before reading the answer.
 * "after" is only interesting for calls that change something; for reads it equals the next
 * call's "before".
 */

interface CrashPoint {
  seq: number;
  phase: 'before' | 'after';
  operation: string;
}

const PREFIX = 'rot-app-';

async function setup(kind: StoreKind): Promise<{ world: World; originalKey: string }> {
  const world = await World.start(kind);
  await world.seedAdmin('auth-token');
  const originalKey = await world.seedCurrentKey();
  await world.writeConfig([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 }, prefix: PREFIX }]);
  return { world, originalKey };
}

function allRequests(world: World): RequestLogEntry[] {
  return [...world.twilio.controls.log, ...world.sm.controls.log].sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
}

/** Every version ever stored, id -> value; a crash may add versions but never remove or change one. */
async function storedVersions(world: World): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (world.storeKind === 'aws') {
    for (const v of world.sm.inspect('twilio/app')?.versions ?? []) if (v.value !== undefined) out.set(v.versionId, v.value);
  } else {
    const doc = JSON.parse(await readFile(world.storePath, 'utf8')) as { secrets: Record<string, { versions: { versionId: string; value: string }[] }> };
    for (const v of doc.secrets['twilio/app']?.versions ?? []) out.set(v.versionId, v.value);
  }
  return out;
}

async function currentAuthenticates(world: World): Promise<boolean> {
  return authenticates(world, (await labelledKeys(world)).current);
}

/** Invariants that hold at every observation, crashed or not. */
async function checkObservation(world: World, seen: Map<string, string>, where: string): Promise<void> {
  expect(await currentAuthenticates(world), `${where}: AWSCURRENT key authenticates`).toBe(true);
  const now = await storedVersions(world);
  for (const [id, value] of seen) expect(now.get(id), `${where}: version ${id} is still stored, unchanged`).toBe(value);
  for (const [id, value] of now) seen.set(id, value);
}

async function runChild(world: World, args: string[], crash?: CrashPoint) {
  const run = await spawnCli([...args, '--config', world.configPath], AWS_ENV);
  if (crash) {
    let count = 0;
    let fired = false;
    const kill = () => {
      fired = true;
      run.child.kill('SIGKILL');
    };
    const beforeEffect = () => {
      count++;
      if (!fired && crash.phase === 'before' && count === crash.seq) {
        kill();
        return 'drop' as const;
      }
      return undefined;
    };
    const beforeResponse = () => {
      if (!fired && crash.phase === 'after' && count === crash.seq) kill();
    };
    world.twilio.controls.hooks = { beforeEffect, beforeResponse };
    world.sm.controls.hooks = { beforeEffect, beforeResponse };
  }
  const result = await run.done;
  world.twilio.controls.hooks = {};
  world.sm.controls.hooks = {};
  return result;
}

/** Crash points of one undisturbed forced rotation, read from the emulators' request logs. */
async function crashPoints(kind: StoreKind): Promise<CrashPoint[]> {
  const { world } = await setup(kind);
  try {
    world.resetLogs();
    const clean = await runChild(world, ['rotate', '--force']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('done');
    const requests = allRequests(world);
    return requests.flatMap((r, i): CrashPoint[] => [
      { seq: i + 1, phase: 'before', operation: r.operation },
      ...(r.mutating ? [{ seq: i + 1, phase: 'after' as const, operation: r.operation }] : []),
    ]);
  } finally {
    await world.close();
  }
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
    expect(await unreferencedRotatorKeys(world, PREFIX), `${where}: no unreferenced rotator-made key survives`).toEqual([]);
    if (current?.apiKeySid !== originalKey) expect(world.liveKeys(), `${where}: the retired key is gone`).not.toContain(originalKey);
  } finally {
    await world.close();
  }
}

async function inPool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: size }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  }));
}

describe.each<StoreKind>(['aws', 'file'])('crash anywhere, rerun, converge (%s store)', (kind) => {
  it('survives SIGKILL before and after every remote call of a forced rotation', { timeout: 240_000 }, async () => {
    const points = await crashPoints(kind);
    expect(points.length).toBeGreaterThan(10);
    await inPool(points, 3, (p) => crashAndRecover(kind, p));
    const mutating = points.filter((p) => p.phase === 'after').length;
    console.log(`crash test (${kind} store): covered ${points.length} crash points (${points.length - mutating} before a request took effect, ${mutating} after a change and before its answer)`);
  });
});
