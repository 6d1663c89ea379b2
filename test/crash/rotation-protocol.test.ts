import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
// @ts-expect-error -- plain ESM build script without type declarations
import { buildLambda } from '../../scripts/build-lambda.mjs';
import { authenticates, labelledKeys, unreferencedRotatorKeys } from '../support/assertions.js';
import { spawnNode } from '../support/child.js';
import { AWS_ENV, World } from '../support/world.js';
import { allRequests, checkObservation, crashPointsOf, inPool, runWithCrash, storedVersions, type CrashPoint } from './harness.js';

/**
 * Secrets Manager's rotation protocol, driven the way Secrets Manager drives it, against the built
 * Lambda bundle in real child processes: createSecret, setSecret, testSecret, finishSecret with one
 * token. The child is SIGKILLed before and after every remote call of that sequence; Secrets
 * Manager's retry is the whole sequence again with the same token, in a new process. It must
 * converge, and at every observation AWSCURRENT must authenticate and no stored version vanish.
 *
 * One bundle serves every world: its bundled configuration takes the emulators' addresses and the
 * account from ${ENV} placeholders, as a deployment would take its own.
 */

const PREFIX = 'rot-app-';
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
let buildDir: string;
let bundle: string;

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'tkr-crash-lambda-'));
  const probe = await World.start('aws');
  const config = probe.configObject([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 }, prefix: PREFIX }]) as {
    twilio: Record<string, unknown>;
    stores: Record<string, unknown>;
    targets: Record<string, unknown>[];
  };
  await probe.close();
  config.twilio.baseUrl = '${TKR_TWILIO_URL}';
  config.stores = { aws: { region: 'us-east-1', endpoint: '${TKR_SM_URL}' } };
  for (const t of config.targets) t.accountSid = '${TKR_ACCOUNT_SID}';
  await writeFile(join(buildDir, 'rotator.yaml'), stringify(config));
  bundle = ((await buildLambda({ config: join(buildDir, 'rotator.yaml'), outdir: join(buildDir, 'lambda') })) as { outfile: string }).outfile;
}, 60_000);
afterAll(() => rm(buildDir, { recursive: true, force: true }));

function envFor(world: World): NodeJS.ProcessEnv {
  return { ...AWS_ENV, TKR_TWILIO_URL: world.twilio.url, TKR_SM_URL: world.sm.url, TKR_ACCOUNT_SID: world.accountSid, LAMBDA_TASK_ROOT: buildDir };
}

/** One Lambda execution environment: the events in order, stopping at the first that throws. */
function invokeAll(world: World, events: unknown[], crash?: CrashPoint) {
  const script = `const { handler } = await import(${JSON.stringify(bundle)});
for (const event of ${JSON.stringify(events)}) {
  try { await handler(event, { getRemainingTimeInMillis: () => 300000 }); }
  catch (err) { console.log('FAILED ' + (event.Step ?? 'scheduled') + ': ' + err.message); process.exit(1); }
}
console.log('ALL OK');`;
  return runWithCrash(world, spawnNode(['--input-type=module', '-e', script], envFor(world)), crash);
}

async function setup(): Promise<{ world: World; originalKey: string; events: unknown[] }> {
  const world = await World.start('aws');
  await world.seedAdmin('auth-token');
  const originalKey = await world.seedCurrentKey();
  const token = randomUUID();
  world.sm.beginRotation('twilio/app', token);
  const arn = world.sm.inspect('twilio/app')!.arn;
  return { world, originalKey, events: STEPS.map((Step) => ({ Step, SecretId: arn, ClientRequestToken: token })) };
}

async function crashPoints(): Promise<CrashPoint[]> {
  const { world, events } = await setup();
  try {
    world.resetLogs();
    const clean = await invokeAll(world, events);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    return crashPointsOf(allRequests(world));
  } finally {
    await world.close();
  }
}

async function crashAndRetry(point: CrashPoint): Promise<void> {
  const { world, originalKey, events } = await setup();
  const where = `crash ${point.phase} request #${point.seq} (${point.operation})`;
  const token = (events[0] as { ClientRequestToken: string }).ClientRequestToken;
  try {
    const seen = await storedVersions(world);
    const crashed = await invokeAll(world, events, point);
    expect(crashed.signal, `${where}: the child was killed`).toBe('SIGKILL');
    await checkObservation(world, seen, `${where}, after the kill`);

    // Secrets Manager retries the rotation with the same token, from createSecret.
    const retried = await invokeAll(world, events);
    await checkObservation(world, seen, `${where}, after the retry`);
    expect(retried.code, `${where}: the retry succeeds; ${retried.stdout}`).toBe(0);

    expect(world.sm.inspect('twilio/app')!.versions.find((v) => v.versionId === token)?.stages, `${where}: the token's version is AWSCURRENT`).toEqual(['AWSCURRENT']);
    const { current, previous } = await labelledKeys(world);
    expect(previous?.apiKeySid, `${where}: the original key is AWSPREVIOUS`).toBe(originalKey);
    expect(await authenticates(world, current)).toBe(true);
    expect(await unreferencedRotatorKeys(world, PREFIX), `${where}: no unreferenced rotator-made key survives`).toEqual([]);
    // finishSecret left the original alive for the gate; the next scheduled run retires it.
    expect(world.liveKeys(), `${where}: the original key outlives finishSecret`).toContain(originalKey);
    const scheduled = await invokeAll(world, [{ version: '0', id: randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} }]);
    expect(scheduled.code, `${where}: ${scheduled.stdout}`).toBe(0);
    expect(world.liveKeys(), `${where}: the scheduled run retires the original key`).not.toContain(originalKey);
  } finally {
    await world.close();
  }
}

describe('rotation protocol: crash anywhere, Secrets Manager retries, converge', () => {
  it('survives SIGKILL before and after every remote call of the four steps', { timeout: 240_000 }, async () => {
    const points = await crashPoints();
    expect(points.length).toBeGreaterThan(10);
    await inPool(points, 3, crashAndRetry);
    const mutating = points.filter((p) => p.phase === 'after').length;
    console.log(`rotation-protocol crash test: covered ${points.length} crash points (${points.length - mutating} before a request took effect, ${mutating} after a change and before its answer) over ${[...new Set(points.map((p) => p.operation))].join(', ')}`);
  });
});
