import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import type { RequestLogEntry } from '../emulators/common/index.js';
import { authenticates, labelledKeys } from '../support/assertions.js';
import { spawnCli, type ChildRun } from '../support/child.js';
import { AWS_ENV, type World } from '../support/world.js';

/**
 * What the crash suites share. A crash point is either
 *   - "before": the request arrives and the child dies before the service acts on it (the request
 *     is dropped: as if the process died just before sending), or
 *   - "after":  the service has acted and the child dies before reading the answer.
 * "after" is only interesting for calls that change something; for reads it equals the next
 * call's "before".
 */
export interface CrashPoint {
  seq: number;
  phase: 'before' | 'after';
  operation: string;
}

/** Both emulators' request logs as one sequence, in arrival order. */
export function allRequests(world: World): RequestLogEntry[] {
  return [...world.twilio.controls.log, ...world.sm.controls.log].sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
}

/**
 * Every crash point of an undisturbed run, from the requests it made. With `allStateRemote` (every
 * write the run makes goes through an emulator, as with the Secrets Manager store), a crash before a
 * read that follows a read leaves exactly the state a crash before that earlier read left: nothing
 * changed in between. Those repeats are skipped; with the file store, whose writes are local, none are.
 */
export function crashPointsOf(requests: RequestLogEntry[], options: { allStateRemote?: boolean } = {}): CrashPoint[] {
  return requests.flatMap((r, i): CrashPoint[] => {
    const repeat = options.allStateRemote === true && i > 0 && !r.mutating && !requests[i - 1]!.mutating;
    return [
      ...(repeat ? [] : [{ seq: i + 1, phase: 'before' as const, operation: r.operation }]),
      ...(r.mutating ? [{ seq: i + 1, phase: 'after' as const, operation: r.operation }] : []),
    ];
  });
}

/** Every version ever stored, id -> value; a crash may add versions but never remove or change one. */
export async function storedVersions(world: World, secretId = 'twilio/app'): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (world.storeKind === 'aws') {
    for (const v of world.sm.inspect(secretId)?.versions ?? [])
      if (v.value !== undefined) out.set(v.versionId, v.value);
  } else {
    const doc = JSON.parse(await readFile(world.storePath, 'utf8')) as {
      secrets: Record<string, { versions: { versionId: string; value: string }[] }>;
    };
    for (const v of doc.secrets[secretId]?.versions ?? []) out.set(v.versionId, v.value);
  }
  return out;
}

/** Invariants that hold at every observation, crashed or not. */
export async function checkObservation(world: World, seen: Map<string, string>, where: string): Promise<void> {
  expect(
    await authenticates(world, (await labelledKeys(world)).current),
    `${where}: AWSCURRENT key authenticates`,
  ).toBe(true);
  const now = await storedVersions(world);
  for (const [id, value] of seen) expect(now.get(id), `${where}: version ${id} is still stored, unchanged`).toBe(value);
  for (const [id, value] of now) seen.set(id, value);
}

/** Waits for a child; with a crash point, SIGKILLs it there (the emulators count the requests). */
export async function runWithCrash(world: World, run: ChildRun, crash?: CrashPoint) {
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
  try {
    return await run.done;
  } finally {
    world.twilio.controls.hooks = {};
    world.sm.controls.hooks = {};
  }
}

/** Runs the shipped CLI on `world`'s configuration as a child; with a crash point, SIGKILLs it there. */
export async function runCli(world: World, args: string[], crash?: CrashPoint) {
  return runWithCrash(world, await spawnCli([...args, '--config', world.configPath], AWS_ENV), crash);
}

/**
 * The requests of one undisturbed CLI run on a fresh world from `setup` (closed afterwards), after
 * `check` has looked at its result.
 */
export async function cleanRun(
  setup: () => Promise<World>,
  args: string[],
  check: (run: Awaited<ReturnType<typeof runCli>>) => void,
): Promise<RequestLogEntry[]> {
  const world = await setup();
  try {
    world.resetLogs();
    check(await runCli(world, args));
    return allRequests(world);
  } finally {
    await world.close();
  }
}

export async function inPool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: size }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}
