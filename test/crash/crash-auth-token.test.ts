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
  // A short retry budget keeps the creation window short: a kill between announcing a creation and
  // storing its token is written off by the first run after the window (2 × budget + 5 s).
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

async function crashPoints(kind: StoreKind): Promise<{ points: CrashPoint[]; createSeq: number }> {
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
    const createSeq = points.find((p) => p.operation === 'CreateSecondaryAuthToken')!.seq;
    return { points, createSeq };
  } finally {
    await world.close();
  }
}

/**
 * A kill between Twilio making the secondary and the store holding it loses the token's value: after
 * Create, or (Secrets Manager) before the store write that follows it. That secondary can never be
 * proven the rotator's, so it is kept and reported until a person runs --replace-secondary.
 */
const losesValue = (kind: StoreKind, point: CrashPoint, createSeq: number) =>
  (point.seq === createSeq && point.phase === 'after') ||
  (kind === 'aws' && point.seq === createSeq + 1 && point.phase === 'before');

async function crashAndRecover(kind: StoreKind, point: CrashPoint, createSeq: number): Promise<void> {
  const world = await setup(kind);
  const original = world.twilio.authToken();
  const where = `${kind} store, crash ${point.phase} request #${point.seq} (${point.operation})`;
  const lost = losesValue(kind, point, createSeq);
  let personActed = false;
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
      if (!personActed && rerun.code === 1 && rerun.stdout.includes("this rotator's own")) {
        // Kept, never deleted; the person follows the report's fix.
        expect(lost, `${where}: only a kill that lost the value leaves a secondary nobody holds`).toBe(true);
        expect(world.twilio.secondaryToken(), `${where}: the secondary was kept`).toBeDefined();
        personActed = true;
        const fix = await runChild(world, ['rotate', '--target', 'token', '--replace-secondary']);
        await checkObservation(world, seen, `${where}, after --replace-secondary`);
        expect(fix.code, `${where}: --replace-secondary exit code; stdout: ${fix.stdout}`).toBe(0);
        converged = fix.stdout.includes('token: done.');
        continue;
      }
      expect(rerun.code, `${where}: rerun ${attempt} exit code; stdout: ${rerun.stdout}`).toBe(0);
      converged = rerun.stdout.includes('token: done.');
    }
    expect(converged, `${where}: converges within 3 reruns`).toBe(true);
    expect(personActed, `${where}: a person was asked to act exactly when the value was lost`).toBe(lost);

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
    const { points, createSeq } = await crashPoints(kind);
    await inPool(points, 3, (p) => crashAndRecover(kind, p, createSeq));
    const mutating = points.filter((p) => p.phase === 'after').length;
    console.log(
      `crash test, Auth Token (${kind} store): covered ${points.length} crash points ` +
        `(${points.length - mutating} before a request took effect, ${mutating} after a change and ` +
        `before its answer)`,
    );
  });
});

/**
 * A secondary someone else made is there before the rotation: whatever point a `rotate` is killed at
 * (within the settling wait after Twilio's 70002 included), no later run deletes it. It is kept and
 * reported on every run, and AWSCURRENT keeps working.
 */
async function foreignPoints(kind: StoreKind): Promise<CrashPoint[]> {
  const world = await setup(kind);
  try {
    world.twilio.seedSecondary();
    world.resetLogs();
    const clean = await runChild(world, ['rotate', '--target', 'token', '--force']);
    expect(clean.code, clean.stdout).toBe(1);
    expect(clean.stdout).toContain('this rotator did not create');
    return crashPointsOf(allRequests(world), { allStateRemote: kind === 'aws' });
  } finally {
    await world.close();
  }
}

async function crashBesideForeign(kind: StoreKind, point: CrashPoint): Promise<void> {
  const world = await setup(kind);
  const where = `${kind} store, foreign secondary, crash ${point.phase} request #${point.seq} (${point.operation})`;
  try {
    const foreign = world.twilio.seedSecondary();
    const original = world.twilio.authToken();
    const crashed = await runChild(world, ['rotate', '--target', 'token', '--force'], point);
    expect(crashed.signal, `${where}: the child was killed`).toBe('SIGKILL');
    let reported = 0;
    for (let attempt = 1; attempt <= 3 && reported < 2; attempt++) {
      const rerun = await runChild(world, ['rotate', '--target', 'token', '--force']);
      if (rerun.stdout.includes('being created by another run')) {
        await new Promise((resolve) => setTimeout(resolve, CREATION_WINDOW_MS));
        continue;
      }
      expect(rerun.code, `${where}: rerun ${attempt}; stdout: ${rerun.stdout}`).toBe(1);
      expect(rerun.stdout, `${where}: rerun ${attempt} reports the secondary`).toMatch(/FAILED at start-rotation/);
      reported++;
    }
    expect(reported, `${where}: two reruns report the kept secondary`).toBe(2);
    expect(world.twilio.secondaryToken(), `${where}: the foreign secondary is kept`).toBe(foreign);
    const deletes = world.twilio.controls.log.filter((e) => e.operation === 'DeleteSecondaryAuthToken');
    expect(deletes, `${where}: no secondary was ever deleted`).toEqual([]);
    expect(world.twilio.authToken(), `${where}: nothing was promoted`).toBe(original);
    expect(await tokenIn(world, TOKEN, 'AWSCURRENT'), `${where}: AWSCURRENT is unchanged`).toBe(original);
    expect(await tokenIn(world, TOKEN, 'AWSPENDING'), `${where}: nothing pending`).toBeUndefined();
  } finally {
    await world.close();
  }
}

describe.each<StoreKind>(['aws', 'file'])('Auth Token: crash beside a foreign secondary (%s store)', (kind) => {
  it('never deletes it, wherever a run is killed', { timeout: 300_000 }, async () => {
    const points = await foreignPoints(kind);
    const started = Date.now();
    await inPool(points, 3, (p) => crashBesideForeign(kind, p));
    console.log(
      `crash test, Auth Token beside a foreign secondary (${kind} store): ${points.length} crash ` +
        `points in ${Math.round((Date.now() - started) / 1000)} s, secondary kept at every one`,
    );
  });
});
