import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTwilioClient } from '../support/twilio-client.js';
import { CURRENT, PENDING, PREVIOUS } from '../../src/core/labels.js';
import { formatPause, TAG_PAUSED } from '../../src/core/rollback.js';
import { rotationIdForToken } from '../../src/core/rotation-id.js';
import { keyName, ownerFingerprint } from '../../src/credentials/named/naming.js';
import {
  freshLambda,
  lambdaContext,
  rotationEvent as rotationEventOf,
  scheduledEvent,
  startLambdaWorld,
  stopLambdaWorld,
  type Lambda,
} from '../support/lambda.js';
import type { World } from '../support/world.js';

let handler: Lambda['handler'];

const SECRET = 'twilio/app';
let world: World;

const context = lambdaContext;
/** The name createSecret gives the key for `token`: prefix + the secret's fingerprint + the token's hex. */
const nameFor = (token: string) =>
  keyName('rot-app-', ownerFingerprint(world.accountSid, world.sm.inspect(SECRET)!.arn), rotationIdForToken(token));
const rotationEvent = (Step: string, token: string) => rotationEventOf(world, SECRET, Step, token);

function labels() {
  const versions = world.sm.inspect(SECRET)!.versions;
  const sid = (stage: string) => {
    const v = versions.find((x) => x.stages.includes(stage));
    return v?.value
      ? (JSON.parse(v.value) as { apiKeySid: string; apiKeySecret: string; accountSid: string })
      : undefined;
  };
  return { current: sid(CURRENT), pending: sid(PENDING), previous: sid(PREVIOUS), versions };
}

async function authenticates(key: { apiKeySid: string; apiKeySecret: string; accountSid: string }): Promise<boolean> {
  const client = createTwilioClient(
    { username: key.apiKeySid, password: key.apiKeySecret, accountSid: key.accountSid },
    { baseUrl: world.twilio.url },
  );
  return client.api.v2010
    .accounts(key.accountSid)
    .incomingPhoneNumbers.page({ pageSize: 1 })
    .then(
      () => true,
      () => false,
    );
}

beforeEach(async () => {
  ({ world, handler } = await startLambdaWorld());
  await world.seedAdmin();
});
afterEach(() => stopLambdaWorld(world));

describe('scheduled handler', () => {
  it('runs the same reconcile as rotate for every target on an EventBridge event', async () => {
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{}, {}]);
    const out = await handler(scheduledEvent(), context());
    expect(out).toEqual({
      targets: [
        { target: 'app', kind: 'done' },
        { target: 'app1', kind: 'done' },
      ],
    });
    expect(await authenticates(labels().current!)).toBe(true);
  });

  it('starts no step inside the safety margin; the next invocation resumes', async () => {
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig();
    const out = await handler(scheduledEvent(), context(5_000));
    expect(out).toEqual({ targets: [{ target: 'app', kind: 'deferred' }] });
    expect(world.sm.inspect(SECRET)).toBeUndefined();
    expect(await handler(scheduledEvent(), context())).toEqual({ targets: [{ target: 'app', kind: 'done' }] });
  });

  it('throws when a target fails, so the Errors metric and the failure destination fire', async () => {
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{ adminSecretId: 'twilio/missing-admin' }]);
    await expect(handler(scheduledEvent(), context())).rejects.toThrow(
      /rotation needs attention: app: failed at .*admin secret "twilio\/missing-admin"/,
    );
  });
});

describe('Secrets Manager rotation protocol', () => {
  async function startedRotation(gate = { minOverlapSeconds: 0, maxWaitSeconds: 3600 }) {
    const original = await world.seedCurrentKey();
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{ gate }]);
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    return { original, token };
  }

  it('runs createSecret, setSecret, testSecret, finishSecret; repeats are harmless; the gate decides', async () => {
    const { original, token } = await startedRotation();
    for (const step of [
      'createSecret',
      'createSecret',
      'setSecret',
      'setSecret',
      'testSecret',
      'testSecret',
      'finishSecret',
      'finishSecret',
      'createSecret',
      'testSecret',
    ]) {
      await handler(rotationEvent(step, token), context());
    }
    const { current, previous } = labels();
    expect(previous?.apiKeySid).toBe(original);
    expect(await authenticates(current!)).toBe(true);
    expect(world.twilio.listKeys().filter((k) => k.friendlyName === nameFor(token))).toHaveLength(1);
    // finishSecret never deletes the old key; the scheduled run does, once the gate passes.
    expect(world.liveKeys()).toContain(original);
    expect(await handler(scheduledEvent(), context())).toEqual({ targets: [{ target: 'app', kind: 'done' }] });
    expect(world.liveKeys()).not.toContain(original);
  });

  it.each([1, 2, 3])(
    'converges when the process dies after %i step(s) and Secrets Manager retries from createSecret',
    async (doneSteps) => {
      const { original, token } = await startedRotation();
      const steps = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
      for (const step of steps.slice(0, doneSteps)) await handler(rotationEvent(step, token), context());
      ({ handler } = await freshLambda()); // a new process: nothing survives but the store and Twilio
      for (const step of steps) await handler(rotationEvent(step, token), context());
      const { current, previous } = labels();
      expect(previous?.apiKeySid).toBe(original);
      expect(await authenticates(current!)).toBe(true);
      expect(world.twilio.listKeys().filter((k) => k.friendlyName?.startsWith('rot-app-'))).toHaveLength(1);
    },
  );

  it('replaces a key created by a createSecret that died before storing it', async () => {
    const { token } = await startedRotation();
    world.sm.controls.setFaults({
      operations: ['PutSecretValue'],
      sequence: ['server-error', 'server-error', 'server-error', 'server-error'],
    });
    await expect(handler(rotationEvent('createSecret', token), context())).rejects.toThrow(/PutSecretValue/);
    world.sm.controls.clearFaults();
    const stale = world.twilio.listKeys().filter((k) => k.friendlyName === nameFor(token));
    expect(stale).toHaveLength(1);
    await handler(rotationEvent('createSecret', token), context());
    const { pending } = labels();
    expect(world.liveKeys()).not.toContain(stale[0]!.sid);
    expect(world.liveKeys()).toContain(pending!.apiKeySid);
  });

  it('refuses to start while the previous key still waits for the consumer gate', async () => {
    const { token } = await startedRotation({ minOverlapSeconds: 3600, maxWaitSeconds: 86400 });
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'])
      await handler(rotationEvent(step, token), context());
    const next = randomUUID();
    world.sm.beginRotation(SECRET, next);
    await expect(handler(rotationEvent('createSecret', next), context())).rejects.toThrow(
      /previous key SK[0-9a-f]{32} is still alive, waiting for the consumer gate/,
    );
  });

  it('promotes nothing in finishSecret when the pending key was deleted outside after testSecret', async () => {
    const { original, token } = await startedRotation();
    for (const step of ['createSecret', 'setSecret', 'testSecret'])
      await handler(rotationEvent(step, token), context());
    const { pending } = labels();
    await createTwilioClient(
      { username: world.accountSid, password: world.twilio.authToken(), accountSid: world.accountSid },
      { baseUrl: world.twilio.url },
    )
      .iam.v1.apiKey(pending!.apiKeySid)
      .remove();
    world.resetLogs();
    // finishSecret proves the key with itself before the promotion: refused, it goes to the whole look,
    // which does not take that step in finishSecret. Nothing moves; the old key keeps serving.
    await expect(handler(rotationEvent('finishSecret', token), context())).rejects.toThrow(
      /the next step is drop-dead-pending .*which finishSecret does not take/,
    );
    // (The look stamps the seeded current key, which had no current-since tag: its own, older step.)
    const moves = world.sm.controls.log.filter((e) => e.mutating && e.operation !== 'TagResource');
    expect(moves).toEqual([]);
    expect(labels().current?.apiKeySid).toBe(original);
    expect(labels().pending?.apiKeySid).toBe(pending!.apiKeySid);
    expect(world.liveKeys()).toContain(original);
  });

  it('tests and promotes nothing for a paused target, however plain its pending version', async () => {
    const { original, token } = await startedRotation();
    for (const step of ['createSecret', 'setSecret']) await handler(rotationEvent(step, token), context());
    await world.store().setTags(SECRET, { [TAG_PAUSED]: formatPause(token, token, Date.now()) });
    world.resetLogs();
    for (const step of ['testSecret', 'finishSecret'])
      await expect(handler(rotationEvent(step, token), context())).rejects.toThrow(/paused|rollback/);
    expect(world.sm.controls.log.filter((e) => e.mutating)).toEqual([]);
    // The look lists keys before it reads the pause; the pending key is never asked about.
    expect(world.twilio.controls.log.filter((e) => e.operation !== 'ListKeys')).toEqual([]);
    expect(labels().current?.apiKeySid).toBe(original);
  });

  it('rejects a token that is not pending, and a secret no target rotates', async () => {
    await startedRotation();
    await expect(handler(rotationEvent('createSecret', randomUUID()), context())).rejects.toThrow(
      /has no stage for rotation/,
    );
    await expect(
      handler(
        {
          Step: 'createSecret',
          SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf',
          ClientRequestToken: randomUUID(),
        },
        context(),
      ),
    ).rejects.toThrow(/not the secret of any configured target/);
  });
});
