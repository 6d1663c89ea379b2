import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildLambdaForWorlds, SCHEDULED_EVENT, type LambdaUnderTest } from '../support/lambda-child.js';
import { AWS_ENV, World } from '../support/world.js';

/**
 * Calls under Secrets Manager's RotateSecret, counted from the emulators' request logs, beside AWS's
 * rotation template (SecretsManagerRotationTemplate: 11 Secrets Manager calls for its four steps, and
 * here 2 Twilio calls, to make and to verify a key). The later retirement is counted on its own.
 */

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:twilio-key-rotator-prod-rotation';
let lambda: LambdaUnderTest;
let world: World;
let sm: SecretsManagerClient;

beforeAll(async () => {
  const gate = { minOverlapSeconds: 0, maxWaitSeconds: 3600 };
  lambda = await buildLambdaForWorlds([{ gate, prefix: 'rot-app-' }]);
}, 60_000);
afterAll(() => lambda.close());

beforeEach(async () => {
  world = await World.start('aws');
  await world.seedAdmin('auth-token');
  sm = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: world.sm.url,
    credentials: { accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
  world.sm.registerRotationFunction(FUNCTION_ARN, async (event) => {
    const run = await lambda.spawn(world, [event]).done;
    if (run.code !== 0) throw new Error(`exit ${run.code}: ${run.stdout}`);
  });
});
afterEach(async () => {
  sm.destroy();
  await world.close();
});

const calls = (w: World) => {
  const by: Record<string, number> = {};
  for (const e of [...w.sm.controls.log, ...w.twilio.controls.log])
    if (e.operation !== 'RotateSecret') by[e.operation] = (by[e.operation] ?? 0) + 1;
  const sm = w.sm.controls.log.filter((e) => e.operation !== 'RotateSecret').length;
  return { sm, twilio: w.twilio.controls.log.length, by };
};

describe('calls under RotateSecret', () => {
  it('counts the four steps and the later retirement (a guard; the 1.5 times goal is not met)', async () => {
    await world.seedCurrentKey();
    world.resetLogs();
    await sm.send(
      new RotateSecretCommand({
        SecretId: 'twilio/app',
        RotationLambdaARN: FUNCTION_ARN,
        RotationRules: { AutomaticallyAfterDays: 30 },
      }),
    );
    expect(await world.sm.rotationSettled('twilio/app')).toMatchObject({ ok: true, attempts: 1 });
    const steps = calls(world);
    // 29 where the goal is 1.5 × 13 = 19 (not met): each of the four invocations is a new process that
    // reads the admin secret, the secret's labelled values and the key list again (4 × 5 calls).
    expect([steps.sm, steps.twilio]).toEqual([22, 7]);
    world.resetLogs();
    const scheduled = await lambda.spawn(world, [SCHEDULED_EVENT]).done;
    expect(scheduled.code, scheduled.stdout).toBe(0);
    // The retirement: the admin secret, the secret, the key list, the current key verified, the labels
    // right before the deletion, the deletion and the retired tag (10 in issue 24).
    const retirement = calls(world);
    expect([retirement.sm, retirement.twilio]).toEqual([6, 3]);
  });
});
