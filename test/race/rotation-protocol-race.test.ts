import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CURRENT, formatStamp, TAG_CURRENT_SINCE } from '../../src/core/labels.js';
import { rotationIdForToken } from '../../src/core/rotation-id.js';
import { keyName, looksLikeRotatorKeyName, ownerFingerprint } from '../../src/credentials/named/naming.js';

import { authenticates, labelledKeys } from '../support/assertions.js';
import {
  buildLambdaForWorlds,
  rotationEvents,
  SCHEDULED_EVENT,
  type LambdaUnderTest,
} from '../support/lambda-child.js';
import { World } from '../support/world.js';

/**
 * A Secrets Manager-driven rotation (the four steps, one process) while scheduled runs of the same
 * function fire at staggered moments, all in real processes on the built bundle. Depending on when
 * they land, a scheduled run sees a rotation in progress (and stays out), finds the filled pending
 * version and promotes it itself, or retires the old key after promotion. Whatever the order: one
 * new key, the one Secrets Manager's token names; it is current and works; the old key is retired;
 * nothing else is left on Twilio; and no step of Secrets Manager's fails because of the race.
 */

const PREFIX = 'rot-app-';
let lambda: LambdaUnderTest;

beforeAll(async () => {
  lambda = await buildLambdaForWorlds([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 }, prefix: PREFIX }], {
    orphanGraceSeconds: 900,
  });
}, 60_000);
afterAll(() => lambda.close());

async function trial(delaysMs: readonly number[]): Promise<string[]> {
  const world = await World.start('aws');
  try {
    await world.seedAdmin('auth-token');
    const original = await world.seedCurrentKey();
    // AWSCURRENT is the rotator's own, as its mark-current leaves it: testSecret and finishSecret may take
    // their direct path (credentials/named/direct.ts) while scheduled runs act.
    const seeded = (await world.store().read('twilio/app'))!.versions.find((v) => v.stages.includes(CURRENT))!;
    await world.store().setTags('twilio/app', { [TAG_CURRENT_SINCE]: formatStamp(seeded.versionId, Date.now()) });
    const token = randomUUID();
    world.sm.beginRotation('twilio/app', token);
    const steps = rotationEvents(world.sm.inspect('twilio/app')!.arn, token);

    const driven = lambda.spawn(world, steps).done;
    const scheduled = delaysMs.map(async (ms) => {
      await sleep(ms);
      return lambda.spawn(world, [SCHEDULED_EVENT]).done;
    });
    const [rotation, ...runs] = await Promise.all([driven, ...scheduled]);
    for (const r of runs) expect(r.code, `a scheduled run failed: ${r.stdout}`).toBe(0);

    // No step may fail for a scheduled run's sake: a failure would fire the Errors alarm and make
    // Secrets Manager mark the rotation failed.
    expect(rotation.code, `the rotation failed: ${rotation.stdout}`).toBe(0);
    const settle = await lambda.spawn(world, [SCHEDULED_EVENT]).done;
    expect(settle.code, settle.stdout).toBe(0);

    const { current, previous, pending } = await labelledKeys(world);
    expect(world.sm.inspect('twilio/app')!.versions.find((v) => v.versionId === token)?.stages).toEqual(['AWSCURRENT']);
    expect(pending).toBeUndefined();
    expect(previous?.apiKeySid).toBe(original);
    expect(await authenticates(world, current)).toBe(true);
    const made = world.twilio.listKeys().filter((k) => looksLikeRotatorKeyName(k.friendlyName, PREFIX));
    expect(made.map((k) => [k.sid, k.friendlyName])).toEqual([
      [
        current!.apiKeySid,
        keyName(
          PREFIX,
          ownerFingerprint(world.accountSid, world.sm.inspect('twilio/app')!.arn),
          rotationIdForToken(token),
        ),
      ],
    ]);
    expect(world.twilio.controls.log.filter((e) => e.operation === 'CreateKey' && e.status === 201)).toHaveLength(1);
    expect(world.liveKeys()).not.toContain(original);
    const logged = (out: string) => [...out.matchAll(/"step":"([\w-]+)"/g)].map((m) => m[1]).join(' ');
    return runs.map((r) => logged(r.stdout));
  } finally {
    await world.close();
  }
}

describe('Secrets Manager rotation racing scheduled runs of the same function', () => {
  it('converges on the token’s key whatever the interleaving', { timeout: 120_000 }, async () => {
    // Staggered so scheduled runs land before, during and after the four steps.
    const plans = [
      [0, 0],
      [0, 40],
      [20, 80],
      [60, 120],
      [100, 160],
      [150, 250],
      [0, 300],
      [200, 400],
    ];
    const seen = new Set<string>();
    for (const delays of plans) for (const steps of await trial(delays)) for (const s of steps.split(' ')) seen.add(s);
    // Evidence that the interleavings differ: scheduled runs stayed out, promoted, retired.
    console.log(
      `rotation-protocol race: ${plans.length} trials; scheduled runs took the steps ${[...seen].sort().join(', ')}`,
    );
  });
});
