import { randomUUID } from 'node:crypto';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { freshLambda } from '../support/lambda.js';
import { AWS_ENV, World } from '../support/world.js';

/**
 * Remote calls an Auth Token rotation makes on the Secrets Manager store, counted exactly from the
 * emulators' request logs (issue 24 item 6). Each call left is a proof or a record the flow needs
 * (docs/auth-token-flow.md); a new one shows here as a changed count.
 */

let world: World | undefined;
afterEach(async () => {
  delete process.env.TWILIO_KEY_ROTATOR_CONFIG;
  await world?.close();
  world = undefined;
});

const SECRET = 'twilio/token';
const GATE = { minOverlapSeconds: 0, maxWaitSeconds: 3600 };

/** Calls by operation, the test's own RotateSecret left out. */
function tally(w: World): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of [...w.twilio.controls.log, ...w.sm.controls.log])
    if (e.operation !== 'RotateSecret') out[e.operation] = (out[e.operation] ?? 0) + 1;
  return out;
}
const total = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);

describe('calls per Auth Token rotation (Secrets Manager store)', () => {
  it('rotates through settling in 17 calls: 6 to Twilio, 11 to Secrets Manager', async () => {
    world = await World.start('aws');
    await world.writeConfig([{ kind: 'auth-token', propagationDelaySeconds: 0, gate: GATE }]);
    const old = await world.seedToken(SECRET);
    world.resetLogs();
    const run = await world.cli(['rotate', '--force']);
    expect(run.code, run.stdout).toBe(0);
    const calls = tally(world);
    expect(await world.tokenWorks(old)).toBe(false);
    expect(await world.storedToken('AWSCURRENT')).toBe(world.twilio.authToken());
    expect(world.sm.inspect(SECRET)!.tags).toMatchObject({ 'rotator:settled': expect.any(String) });
    expect(calls).toEqual({
      // One read with every version id (the run names one), one fresh look before the promotion.
      ListSecretVersionIds: 1,
      DescribeSecret: 2,
      GetSecretValue: 1,
      // Intent before Create; pending-since once proven; promotion and its time; settled.
      TagResource: 4,
      PutSecretValue: 1,
      UpdateSecretVersionStage: 2,
      // The current token, the new one once stored and again right before Promote, then the settle
      // check: the old one is refused. That the new one is the primary is Promote's own answer.
      FetchAccount: 4,
      CreateSecondaryAuthToken: 1,
      PromoteAuthToken: 1,
    });
    expect(total(calls)).toBe(17);
  });

  it('asks nothing of the old token while the propagation delay runs', async () => {
    world = await World.start('aws');
    await world.writeConfig([{ kind: 'auth-token', propagationDelaySeconds: 60, gate: GATE }]);
    await world.seedToken(SECRET);
    world.resetLogs();
    const run = await world.cli(['rotate', '--force']);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/propagation delay/);
    const calls = tally(world);
    // The current token, the new one once stored and right before Promote; after the promotion the
    // planner waits out the delay before it reads any answer about the old token, so none is asked.
    expect(calls.FetchAccount).toBe(3);
    expect(calls.PromoteAuthToken).toBe(1);
    expect(world.sm.inspect(SECRET)!.tags['rotator:settled'] ?? '').toBe('');
    expect(total(calls)).toBe(15);
  });

  it("counts RotateSecret's events from a hand-put current: 8 calls to Twilio, 20 to Secrets Manager", async () => {
    world = await World.start('aws');
    await world.seedToken(SECRET);
    Object.assign(process.env, AWS_ENV);
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([
      { kind: 'auth-token', propagationDelaySeconds: 0, gate: GATE },
    ]);
    const { handler } = await freshLambda();
    const arn = 'arn:aws:lambda:us-east-1:123456789012:function:twilio-key-rotator';
    const context = () => ({ getRemainingTimeInMillis: () => 60_000, awsRequestId: randomUUID() });
    world.sm.registerRotationFunction(arn, (event) => handler(event, context()));
    const sm = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: world.sm.url,
      credentials: { accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY },
    });
    world.resetLogs();
    const rules = { AutomaticallyAfterDays: 30 };
    await sm.send(new RotateSecretCommand({ SecretId: SECRET, RotationLambdaARN: arn, RotationRules: rules }));
    expect(await world.sm.rotationSettled(SECRET)).toMatchObject({ ok: true, attempts: 1 });
    const calls = tally(world);
    // AWS's rotation template makes 11 Secrets Manager calls and 2 Twilio calls for the same events.
    // Each event reads the secret first; setSecret ends there (its labels alone). The seeded current carries
    // no rotator stamp, so testSecret reads the token alone, finds it not plain and takes the whole look
    // (its direct path, once AWSCURRENT is the rotator's own, is counted in rotate-secret-calls.test.ts);
    // finishSecret looks at both tokens before Promote. A step whose own writes settle its event ends it
    // without another look (engine/protocol.ts).
    expect(calls).toEqual({
      DescribeSecret: 6,
      GetSecretValue: 7,
      ListSecretVersionIds: 1,
      TagResource: 3,
      PutSecretValue: 1,
      UpdateSecretVersionStage: 2,
      FetchAccount: 6,
      CreateSecondaryAuthToken: 1,
      PromoteAuthToken: 1,
    });
    expect(total(calls)).toBe(28);
  });
});
