import {
  CreateSecretCommand,
  DescribeSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { authenticates, labelledKeys, unreferencedRotatorKeys } from '../support/assertions.js';
import { buildLambdaForWorlds, SCHEDULED_EVENT, type LambdaUnderTest } from '../support/lambda-child.js';
import { AWS_ENV, World } from '../support/world.js';

/**
 * Secrets Manager driving the rotation, as a deployment with `rotate-secret --rotation-lambda-arn`
 * does: RotateSecret through the real SDK, the emulator invokes the rotation function once per step,
 * and each invocation is the built bundle in a fresh Node 22 process. Then the scheduled function
 * retires the old key once the consumer gate passes.
 */

const PREFIX = 'rot-app-';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:twilio-key-rotator-prod-rotation';
let lambda: LambdaUnderTest;
let world: World;
let sm: SecretsManagerClient;
/** Each step Secrets Manager invoked, and whether the function succeeded. */
let invocations: { step: string; ok: boolean }[];

beforeAll(async () => {
  lambda = await buildLambdaForWorlds([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 }, prefix: PREFIX }]);
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
  invocations = [];
  // The function Secrets Manager invokes: the bundle, one fresh process per step, as Lambda may.
  world.sm.registerRotationFunction(FUNCTION_ARN, async (event) => {
    const run = await lambda.spawn(world, [event]).done;
    invocations.push({ step: event.Step, ok: run.code === 0 });
    if (run.code !== 0) throw new Error(run.stdout.match(/FAILED .*/)?.[0] ?? `exit ${run.code}: ${run.stderr}`);
  });
});
afterEach(async () => {
  sm.destroy();
  await world.close();
});

const rotateSecret = () =>
  sm.send(
    new RotateSecretCommand({
      SecretId: 'twilio/app',
      RotationLambdaARN: FUNCTION_ARN,
      RotationRules: { AutomaticallyAfterDays: 30 },
    }),
  );

describe('RotateSecret drives the built Lambda', () => {
  it('runs the four steps, moves AWSCURRENT, and the scheduled run retires the old key after the gate', async () => {
    const original = await world.seedCurrentKey();
    const { VersionId: token } = await rotateSecret();
    const outcome = await world.sm.rotationSettled('twilio/app');

    expect(outcome).toMatchObject({ ok: true, kind: 'rotation', token, attempts: 1 });
    expect(invocations).toEqual(
      ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((step) => ({ step, ok: true })),
    );
    expect(world.sm.inspect('twilio/app')!.versions.find((v) => v.versionId === token)?.stages).toContain('AWSCURRENT');
    const { current, previous } = await labelledKeys(world);
    expect(previous?.apiKeySid).toBe(original);
    expect(await authenticates(world, current)).toBe(true);
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'twilio/app' }));
    expect(described.RotationEnabled).toBe(true);
    expect(described.LastRotatedDate).toBeInstanceOf(Date);

    // finishSecret keeps the old key for the consumer gate; the scheduled function retires it.
    expect(world.liveKeys()).toContain(original);
    const scheduled = await lambda.spawn(world, [SCHEDULED_EVENT]).done;
    expect(scheduled.code, scheduled.stdout).toBe(0);
    expect(world.liveKeys()).not.toContain(original);
    expect(world.liveKeys()).toContain(current!.apiKeySid);
    expect(await unreferencedRotatorKeys(world, PREFIX)).toEqual([]);
  });

  it('retries the whole rotation with the same token after a failing step, and makes one key', async () => {
    const original = await world.seedCurrentKey();
    // Twilio fails every verification attempt of the first testSecret (4 attempts, the configured retry).
    world.twilio.controls.setFaults({
      operations: ['ListIncomingPhoneNumbers'],
      sequence: ['server-error', 'server-error', 'server-error', 'server-error'],
    });
    const { VersionId: token } = await rotateSecret();
    const outcome = await world.sm.rotationSettled('twilio/app');

    expect(outcome).toMatchObject({ ok: true, token, attempts: 2 });
    expect(invocations.filter((i) => !i.ok).map((i) => i.step)).toEqual(['testSecret']);
    // The retry starts over at createSecret, which finds its own key and makes no second one.
    expect(invocations.slice(-4).map((i) => i.step)).toEqual([
      'createSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
    ]);
    expect(world.twilio.controls.log.filter((e) => e.operation === 'CreateKey' && e.status === 201)).toHaveLength(1);
    const { current, previous } = await labelledKeys(world);
    expect(world.sm.inspect('twilio/app')!.versions.find((v) => v.versionId === token)?.stages).toContain('AWSCURRENT');
    expect(previous?.apiKeySid).toBe(original);
    expect(await authenticates(world, current)).toBe(true);
  });

  it('refuses a binary secret in the rotated secret’s place with a clear error, and changes nothing', async () => {
    const key = world.twilio.seedKey({ type: 'standard', friendlyName: 'made-by-hand' });
    await sm.send(
      new CreateSecretCommand({
        Name: 'twilio/app',
        SecretBinary: Buffer.from(JSON.stringify({ accountSid: world.accountSid, apiKeySid: key.sid })),
      }),
    );
    world.resetLogs();
    const keysBefore = world.liveKeys();

    const scheduled = await lambda.spawn(world, [SCHEDULED_EVENT]).done;
    expect(scheduled.code).toBe(1);
    expect(scheduled.stdout).toMatch(/FAILED scheduled: .*twilio\/app.*binary/i);

    await rotateSecret();
    const outcome = await world.sm.rotationSettled('twilio/app');
    expect(outcome).toMatchObject({ ok: false, failedStep: 'createSecret' });
    expect(outcome.error).toMatch(/twilio\/app.*binary/i);

    // Nothing on Twilio, and no value written: only RotateSecret's own pending placeholder exists.
    expect(world.liveKeys()).toEqual(keysBefore);
    expect(world.twilio.controls.mutatingCalls()).toEqual([]);
    expect(world.sm.controls.mutatingCalls().map((e) => e.operation)).toEqual(['RotateSecret']);
    expect(world.sm.inspect('twilio/app')!.versions.filter((v) => v.value !== undefined)).toEqual([]);
  });
});
