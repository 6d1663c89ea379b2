import { describe, expect, it } from 'vitest';
import { spawnCli } from '../support/child.js';
import { AWS_ENV, World, type StoreKind } from '../support/world.js';
import { allRequests, crashPointsOf, inPool, runWithCrash, storedVersions, type CrashPoint } from './harness.js';

/**
 * Kills a real `rotate` child (SIGKILL) before and after every remote call of a whole Auth Token
 * rotation — creation, the store write, the promotion and the label move, the admin copy — then reruns
 * it until it converges. The target manages itself (its own token is its admin credential), and an
 * API-key target's admin secret holds the same token: neither may ever be locked out.
 */

const TOKEN = 'twilio/token';
const ADMIN = 'twilio/admin';
const CREATION_WINDOW_MS = 2 * 2000 + 5000;

async function setup(kind: StoreKind): Promise<World> {
  const world = await World.start(kind);
  await world.seedToken(TOKEN);
  await world.seedAdmin('auth-token', ADMIN);
  // A short retry budget keeps the creation window short: a kill between creating a secondary and
  // storing it is cleaned up by the first run after the window (2 × budget + 5 s).
  await world.writeConfig(
    [
      { kind: 'auth-token', gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } },
      { name: 'app', adminSecretId: ADMIN },
    ],
    { retry: { attempts: 4, budgetSeconds: 2, minDelayMs: 5 } },
  );
  return world;
}

async function runChild(world: World, args: string[], crash?: CrashPoint) {
  return runWithCrash(world, await spawnCli([...args, '--config', world.configPath], AWS_ENV), crash);
}

async function tokenIn(world: World, secretId: string, stage: string): Promise<string | undefined> {
  return world.storedToken(stage, secretId);
}

/** At every observation: some stored token works (no lock-out), and nothing stored was lost or changed. */
async function checkObservation(world: World, seen: Map<string, string>, where: string): Promise<void> {
  const current = await tokenIn(world, TOKEN, 'AWSCURRENT');
  const pending = await tokenIn(world, TOKEN, 'AWSPENDING');
  const works = (await world.tokenWorks(current)) || (await world.tokenWorks(pending));
  expect(works, `${where}: AWSCURRENT or AWSPENDING of ${TOKEN} authenticates`).toBe(true);
  if (!(await world.tokenWorks(current)))
    expect(pending, `${where}: a dead AWSCURRENT only while the promoted token waits as AWSPENDING`).toBe(
      world.twilio.authToken(),
    );
  const now = await storedVersions(world, TOKEN);
  for (const [id, value] of seen) expect(now.get(id), `${where}: version ${id} is still stored, unchanged`).toBe(value);
  for (const [id, value] of now) seen.set(id, value);
}

async function crashPoints(kind: StoreKind): Promise<CrashPoint[]> {
  const world = await setup(kind);
  try {
    world.resetLogs();
    const clean = await runChild(world, ['rotate', '--target', 'token', '--force']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('token: done.');
    const requests = allRequests(world);
    console.log(`crash test, Auth Token (${kind} store): a forced rotation makes ${requests.length} requests`);
    const points = crashPointsOf(requests, { allStateRemote: kind === 'aws' });
    const operations = new Set(points.map((p) => p.operation));
    for (const op of ['CreateSecondaryAuthToken', 'PromoteAuthToken'])
      expect(operations, `a forced rotation calls ${op}`).toContain(op);
    return points;
  } finally {
    await world.close();
  }
}

async function crashAndRecover(kind: StoreKind, point: CrashPoint): Promise<void> {
  const world = await setup(kind);
  const original = world.twilio.authToken();
  const where = `${kind} store, crash ${point.phase} request #${point.seq} (${point.operation})`;
  try {
    const seen = await storedVersions(world, TOKEN);
    const crashed = await runChild(world, ['rotate', '--target', 'token', '--force'], point);
    expect(crashed.signal, `${where}: the child was killed`).toBe('SIGKILL');
    await checkObservation(world, seen, `${where}, after the kill`);

    let converged = false;
    let waited = false;
    for (let attempt = 1; attempt <= 3 && !converged; attempt++) {
      const rerun = await runChild(world, ['rotate', '--target', 'token']);
      if (!waited && rerun.stdout.includes('being created by another run')) {
        // The killed run had announced a creation: nothing is touched until its window has passed.
        waited = true;
        attempt--;
        await new Promise((resolve) => setTimeout(resolve, CREATION_WINDOW_MS));
        continue;
      }
      await checkObservation(world, seen, `${where}, after rerun ${attempt}`);
      expect(rerun.code, `${where}: rerun ${attempt} exit code; stdout: ${rerun.stdout}`).toBe(0);
      converged = rerun.stdout.includes('token: done.');
    }
    expect(converged, `${where}: converges within 3 reruns`).toBe(true);

    const primary = world.twilio.authToken();
    expect(await tokenIn(world, TOKEN, 'AWSCURRENT'), `${where}: AWSCURRENT is Twilio's primary`).toBe(primary);
    expect(await tokenIn(world, TOKEN, 'AWSPENDING'), `${where}: nothing left pending`).toBeUndefined();
    expect(world.twilio.secondaryToken(), `${where}: no secondary token left behind`).toBeUndefined();
    expect(await tokenIn(world, ADMIN, 'AWSCURRENT'), `${where}: the admin copy holds the working token`).toBe(primary);
    if (primary !== original) expect(await world.tokenWorks(original), `${where}: the old token is dead`).toBe(false);
  } finally {
    await world.close();
  }
}

describe.each<StoreKind>(['aws', 'file'])('Auth Token: crash anywhere, rerun, converge (%s store)', (kind) => {
  it('survives SIGKILL before and after every remote call of a forced rotation', { timeout: 240_000 }, async () => {
    const points = await crashPoints(kind);
    await inPool(points, 3, (p) => crashAndRecover(kind, p));
    const mutating = points.filter((p) => p.phase === 'after').length;
    console.log(
      `crash test, Auth Token (${kind} store): covered ${points.length} crash points (${points.length - mutating} before a request took effect, ${mutating} after a change and before its answer)`,
    );
  });
});
