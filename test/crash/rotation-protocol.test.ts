import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticates, labelledKeys, unreferencedRotatorKeys } from '../support/assertions.js';
import {
  buildLambdaForWorlds,
  rotationEvents,
  SCHEDULED_EVENT,
  type LambdaUnderTest,
} from '../support/lambda-child.js';
import { World } from '../support/world.js';
import { CURRENT, formatStamp, TAG_CURRENT_SINCE } from '../../src/core/labels.js';
import {
  allRequests,
  checkObservation,
  crashPointsOf,
  inPool,
  runWithCrash,
  storedVersions,
  type CrashPoint,
} from './harness.js';

/**
 * Secrets Manager's rotation protocol, driven the way Secrets Manager drives it, against the built
 * Lambda bundle in real child processes: createSecret, setSecret, testSecret, finishSecret with one
 * token. The child is SIGKILLed before and after every remote call of that sequence; Secrets
 * Manager's retry is the whole sequence again with the same token, in a new process. It must
 * converge, and at every observation AWSCURRENT must authenticate and no stored version vanish.
 */

const PREFIX = 'rot-app-';
let lambda: LambdaUnderTest;

beforeAll(async () => {
  lambda = await buildLambdaForWorlds([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 }, prefix: PREFIX }]);
}, 60_000);
afterAll(() => lambda.close());

function invokeAll(world: World, events: readonly unknown[], crash?: CrashPoint) {
  return runWithCrash(world, lambda.spawn(world, events), crash);
}

async function setup(): Promise<{ world: World; originalKey: string; events: unknown[] }> {
  const world = await World.start('aws');
  await world.seedAdmin('auth-token');
  const originalKey = await world.seedCurrentKey();
  // AWSCURRENT is the rotator's own, as its mark-current leaves it: testSecret and finishSecret take their
  // direct path (credentials/named/direct.ts), whose calls are crash points too.
  const seeded = (await world.store().read('twilio/app'))!.versions.find((v) => v.stages.includes(CURRENT))!;
  await world.store().setTags('twilio/app', { [TAG_CURRENT_SINCE]: formatStamp(seeded.versionId, Date.now()) });
  const token = randomUUID();
  world.sm.beginRotation('twilio/app', token);
  const arn = world.sm.inspect('twilio/app')!.arn;
  return { world, originalKey, events: rotationEvents(arn, token) };
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

    expect(
      world.sm.inspect('twilio/app')!.versions.find((v) => v.versionId === token)?.stages,
      `${where}: the token's version is AWSCURRENT`,
    ).toEqual(['AWSCURRENT']);
    const { current, previous } = await labelledKeys(world);
    expect(previous?.apiKeySid, `${where}: the original key is AWSPREVIOUS`).toBe(originalKey);
    expect(await authenticates(world, current)).toBe(true);
    expect(await unreferencedRotatorKeys(world, PREFIX), `${where}: no unreferenced rotator-made key survives`).toEqual(
      [],
    );
    // finishSecret left the original alive for the gate; the next scheduled run retires it.
    expect(world.liveKeys(), `${where}: the original key outlives finishSecret`).toContain(originalKey);
    const scheduled = await invokeAll(world, [SCHEDULED_EVENT]);
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
    console.log(
      `rotation-protocol crash test: covered ${points.length} crash points ` +
        `(${points.length - mutating} before a request took effect, ${mutating} after a change and ` +
        `before its answer) over ${[...new Set(points.map((p) => p.operation))].join(', ')}`,
    );
  });
});
