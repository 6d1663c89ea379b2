import { randomUUID } from 'node:crypto';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  freshLambda,
  lambdaContext,
  rotationEvent as rotationEventOf,
  scheduledEvent,
  startLambdaWorld,
  stopLambdaWorld,
  type Lambda,
} from '../support/lambda.js';
import { AWS_ENV, type World } from '../support/world.js';
import { formatStamp, TAG_CURRENT_SINCE } from '../../src/core/labels.js';

let handler: Lambda['handler'];

/**
 * The Lambda's Secrets Manager rotation handler on an Auth Token secret (AWS's TwilioAuthToken shape),
 * with the real SDK against the emulators. createSecret makes the secondary; finishSecret promotes it
 * only once the consumer gate has passed, and fails until then so Secrets Manager retries.
 */

const SECRET = 'twilio/token';
let world: World;

const context = () => lambdaContext();
const rotationEvent = (Step: string, token: string) => rotationEventOf(world, SECRET, Step, token);

beforeEach(async () => void ({ world, handler } = await startLambdaWorld()));
afterEach(() => stopLambdaWorld(world));

describe('Secrets Manager rotation protocol, Auth Token secret', () => {
  it('creates the secondary, proves it, and promotes only once the gate passes (here: a confirm)', async () => {
    const old = await world.seedToken();
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([
      { kind: 'auth-token', gate: { minOverlapSeconds: 0, maxWaitSeconds: 86_400, manualConfirm: true } },
    ]);
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    for (const step of ['createSecret', 'createSecret', 'setSecret', 'testSecret', 'testSecret'])
      await handler(rotationEvent(step, token), context());
    const secondary = world.twilio.secondaryToken();
    expect(secondary).toBeDefined();
    expect(await world.storedToken('AWSPENDING')).toBe(secondary);
    expect(world.twilio.controls.log.filter((e) => e.operation === 'CreateSecondaryAuthToken')).toHaveLength(1);

    // The gate waits for a person: finishSecret fails, nothing is promoted, the old token works.
    await expect(handler(rotationEvent('finishSecret', token), context())).rejects.toThrow(
      /cannot go on now: .*manual confirmation: run "twilio-key-rotator confirm token"; Secrets Manager will retry/,
    );
    expect(world.twilio.authToken()).toBe(old);
    expect(await world.tokenWorks(old)).toBe(true);

    const confirmed = await world.cli(['confirm', 'token']);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    await handler(rotationEvent('finishSecret', token), context());
    expect(world.twilio.authToken()).toBe(secondary);
    expect(await world.storedToken('AWSCURRENT')).toBe(secondary);
    expect(await world.tokenWorks(old)).toBe(false);
    // A repeat of any step is harmless once done.
    await handler(rotationEvent('finishSecret', token), context());
    await handler(rotationEvent('createSecret', token), context());
    expect(world.twilio.controls.log.filter((e) => e.operation === 'PromoteAuthToken')).toHaveLength(1);
    // The scheduled run proves the promotion took and reports done.
    expect(await handler(scheduledEvent(), context())).toEqual({ targets: [{ target: 'token', kind: 'done' }] });
  });

  it('RotateSecret drives the four steps through the emulator; a retry after a failed step converges', async () => {
    const old = await world.seedToken();
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([
      { kind: 'auth-token', gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } },
    ]);
    const lambdaArn = 'arn:aws:lambda:us-east-1:123456789012:function:twilio-key-rotator';
    let failOnce = true;
    world.sm.registerRotationFunction(lambdaArn, async (event) => {
      // Each invocation may be a new process: nothing survives but the store and Twilio.
      ({ handler } = await freshLambda());
      if (failOnce && event.Step === 'testSecret') {
        failOnce = false;
        throw new Error('the function timed out');
      }
      return handler(event, context());
    });
    const sm = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: world.sm.url,
      credentials: { accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY },
    });
    await sm.send(
      new RotateSecretCommand({
        SecretId: SECRET,
        RotationLambdaARN: lambdaArn,
        RotationRules: { AutomaticallyAfterDays: 30 },
        RotateImmediately: true,
      }),
    );
    const outcome = await world.sm.rotationSettled(SECRET);
    expect(outcome, JSON.stringify(outcome)).toMatchObject({ ok: true, attempts: 2 });
    const primary = world.twilio.authToken();
    expect(primary).not.toBe(old);
    expect(await world.storedToken('AWSCURRENT')).toBe(primary);
    expect(await world.storedToken('AWSPENDING')).toBeUndefined();
    expect(world.twilio.secondaryToken()).toBeUndefined();
    expect(world.twilio.controls.log.filter((e) => e.operation === 'CreateSecondaryAuthToken')).toHaveLength(1);
  });

  it('refuses to start while a secondary exists that it did not create', async () => {
    await world.seedToken();
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{ kind: 'auth-token' }]);
    const foreign = world.twilio.seedSecondary();
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    await expect(handler(rotationEvent('createSecret', token), context())).rejects.toThrow(
      /a secondary Auth Token exists that this rotator did not create/,
    );
    expect(world.twilio.secondaryToken()).toBe(foreign);
  });

  it('finishSecret after a Promote whose labels did not move finishes the labels, promoting nothing', async () => {
    const old = await world.seedToken();
    const gate = { minOverlapSeconds: 0, maxWaitSeconds: 3600 };
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{ kind: 'auth-token', gate }]);
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    for (const step of ['createSecret', 'setSecret', 'testSecret'])
      await handler(rotationEvent(step, token), context());
    const secondary = world.twilio.secondaryToken()!;
    // A finishSecret killed right after Twilio's Promote: the old token is dead, AWSCURRENT still holds it.
    const promoted = await fetch(`${world.twilio.url}/v1/AuthTokens/Promote`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${world.accountSid}:${old}`).toString('base64')}` },
    });
    expect(promoted.status).toBe(200);
    world.resetLogs();
    await handler(rotationEvent('finishSecret', token), context());
    expect(await world.storedToken('AWSCURRENT')).toBe(secondary);
    expect(await world.storedToken('AWSPENDING')).toBeUndefined();
    expect(world.twilio.controls.log.filter((e) => e.operation === 'PromoteAuthToken')).toHaveLength(0);
  });

  it('testSecret drops AWSPENDING when its secondary was deleted outside, and fails; the old token stays', async () => {
    const old = await world.seedToken();
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{ kind: 'auth-token' }]);
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    await handler(rotationEvent('createSecret', token), context());
    world.twilio.dropSecondary();
    await expect(handler(rotationEvent('testSecret', token), context())).rejects.toThrow(
      /no longer works: its secondary was deleted outside the rotator; dropped AWSPENDING/,
    );
    expect(await world.storedToken('AWSPENDING')).toBeUndefined();
    expect(await world.storedToken('AWSCURRENT')).toBe(old);
    expect(await world.tokenWorks(old)).toBe(true);
  });

  it('testSecret writes nothing while Twilio cannot be asked about the pending token, then passes', async () => {
    const old = await world.seedToken();
    // AWSCURRENT is the rotator's own (what its mark-current leaves), so testSecret takes the direct path.
    const seeded = (await world.store().read(SECRET))!.versions.find((v) => v.stages.includes('AWSCURRENT'))!;
    await world.store().setTags(SECRET, { [TAG_CURRENT_SINCE]: formatStamp(seeded.versionId, Date.now()) });
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{ kind: 'auth-token' }]);
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    for (const step of ['createSecret', 'setSecret']) await handler(rotationEvent(step, token), context());
    world.twilio.controls.setFaults({ operations: ['FetchAccount'], sequence: Array(12).fill('server-error') });
    world.resetLogs();
    await expect(handler(rotationEvent('testSecret', token), context())).rejects.toThrow(/could not ask Twilio/);
    expect(world.sm.controls.log.filter((e) => e.mutating)).toEqual([]);
    world.twilio.controls.clearFaults();
    world.resetLogs();
    await handler(rotationEvent('testSecret', token), context());
    // The pending token alone was asked: the direct path, not the look (which asks the current one too).
    expect(world.twilio.controls.log.filter((e) => e.operation === 'FetchAccount')).toHaveLength(1);
    expect(world.sm.inspect(SECRET)!.tags['rotator:pending-since']).toMatch(new RegExp(`^${token} `));
    expect(await world.storedToken('AWSCURRENT')).toBe(old);
  });

  it('never promotes a secondary swapped in after testSecret, even once the gate passes', async () => {
    const old = await world.seedToken();
    const gate = { minOverlapSeconds: 0, maxWaitSeconds: 3600 };
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{ kind: 'auth-token', gate }]);
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    for (const step of ['createSecret', 'setSecret', 'testSecret'])
      await handler(rotationEvent(step, token), context());
    world.twilio.dropSecondary();
    const foreign = world.twilio.seedSecondary();
    await expect(handler(rotationEvent('finishSecret', token), context())).rejects.toThrow(/no longer works/);
    expect(world.twilio.controls.log.filter((e) => e.operation === 'PromoteAuthToken')).toHaveLength(0);
    expect(world.twilio.secondaryToken()).toBe(foreign);
    expect(world.twilio.authToken()).toBe(old);
    expect(await world.storedToken('AWSCURRENT')).toBe(old);
  });

  it('createSecret refuses while the previous promotion has not settled, creating nothing', async () => {
    await world.seedToken();
    const gate = { minOverlapSeconds: 0, maxWaitSeconds: 3600 };
    const config = [{ kind: 'auth-token' as const, gate, propagationDelaySeconds: 300 }];
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig(config);
    const first = randomUUID();
    world.sm.beginRotation(SECRET, first);
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'])
      await handler(rotationEvent(step, first), context());
    const promoted = world.twilio.authToken();
    const second = randomUUID();
    world.sm.beginRotation(SECRET, second);
    await expect(handler(rotationEvent('createSecret', second), context())).rejects.toThrow(
      /propagation delay: \d+ s to go/,
    );
    expect(world.twilio.controls.log.filter((e) => e.operation === 'CreateSecondaryAuthToken')).toHaveLength(1);
    expect(world.twilio.secondaryToken()).toBeUndefined();
    expect(world.twilio.authToken()).toBe(promoted);
  });
});
