import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { rotate, status } from '../../src/engine/commands.js';
import { startCloudTrailEmulator, type CloudTrailEmulator } from '../emulators/cloudtrail/index.js';
import { labelledKeys } from '../support/assertions.js';
import { AWS_ENV, World } from '../support/world.js';

/**
 * The CloudTrail-fed consumer gate end to end: consumers read the secret from the Secrets Manager
 * emulator with their own access keys, the CloudTrail emulator records those reads, and the rotator
 * looks them up with @aws-sdk/client-cloudtrail. Both emulators and the rotator share one clock.
 */

const MIN = 60_000;
const ACCOUNT = '123456789012';
const BILLING_ROLE = `arn:aws:iam::${ACCOUNT}:role/billing-api`;
const REPORTS_USER = `arn:aws:iam::${ACCOUNT}:user/reports`;
const ROTATOR_ROLE = `arn:aws:iam::${ACCOUNT}:role/twilio-key-rotator`;

let world: World | undefined;
let trail: CloudTrailEmulator | undefined;
const clients: SecretsManagerClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await trail?.close();
  await world?.close();
  world = trail = undefined;
});

async function setUp(now: () => number, secretIds: string[]) {
  world = await World.start('aws');
  world.sm.setClock(now);
  trail = await startCloudTrailEmulator({
    now,
    deliveryDelayMs: 5 * MIN,
    principals: {
      AKIDBILLING: `arn:aws:sts::${ACCOUNT}:assumed-role/billing-api/i-0abc`,
      AKIDREPORTS: REPORTS_USER,
      [AWS_ENV.AWS_ACCESS_KEY_ID]: `arn:aws:sts::${ACCOUNT}:assumed-role/twilio-key-rotator/run`,
    },
  });
  trail.attach(world.sm);
  await world.seedAdmin('main');
  const old = [];
  for (const secretId of secretIds) old.push(await world.seedCurrentKey({ secretId }));
  const gate = {
    minOverlapSeconds: 0,
    maxWaitSeconds: 86_400,
    cloudtrail: { lookbackDays: 7, deliveryDelaySeconds: 900, ignorePrincipals: [ROTATOR_ROLE] },
  };
  await world.writeConfig(
    secretIds.map((secretId, i) => ({ name: i === 0 ? 'app' : `app${i}`, secretId, gate })),
    { cloudtrail: { endpoint: trail.url, requestsPerSecond: 2 } },
  );
  return { world, trail, old };
}

function consumer(w: World, accessKeyId: string) {
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: w.sm.url,
    credentials: { accessKeyId, secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  clients.push(client);
  return (input: { VersionStage?: string; VersionId?: string } = {}, secretId = 'twilio/app') =>
    client.send(new GetSecretValueCommand({ SecretId: secretId, ...input }));
}

describe('CloudTrail evidence in the consumer gate', () => {
  it('retires the old key only once every earlier reader has read the new version, naming who has not', async () => {
    let now = Date.now();
    const { world: w, old } = await setUp(() => now, ['twilio/app']);
    const billing = consumer(w, 'AKIDBILLING');
    const reports = consumer(w, 'AKIDREPORTS');
    await billing();
    await reports();
    now += 60 * MIN;
    const config = await w.config();
    const run = async () =>
      (
        await rotate(
          config,
          w.runtime(config, () => now),
        )
      )[0]!;

    const first = (
      await rotate(
        config,
        w.runtime(config, () => now),
        { force: true },
      )
    )[0]!;
    expect(first).toMatchObject({ kind: 'waiting', kept: old[0] });
    expect(first.kind === 'waiting' && first.on).toEqual([
      expect.stringMatching(/^CloudTrail evidence: reads before the promotion are all known at /) as string,
    ]);

    now += 21 * MIN;
    const second = await run();
    expect(second.kind === 'waiting' && second.on).toEqual([
      expect.stringContaining(`${BILLING_ROLE} is still on the old version`) as string,
      expect.stringContaining(`${REPORTS_USER} is still on the old version`) as string,
    ]);

    // status and the dry run name the same principals, from the same one lookup each.
    const [shown] = await status(
      config,
      w.runtime(config, () => now),
    );
    expect(shown!.waitingOn).toEqual([
      expect.stringContaining(`${BILLING_ROLE} is still on the old version`) as string,
      expect.stringContaining(`${REPORTS_USER} is still on the old version`) as string,
    ]);
    const [dry] = await rotate(
      config,
      w.runtime(config, () => now),
      { dryRun: true },
    );
    expect(dry!.kind === 'planned' && dry!.plan.at(-1)).toMatch(
      new RegExp(`${BILLING_ROLE} is still on the old version .*${REPORTS_USER} is still on the old version`),
    );

    await billing();
    await reports({ VersionStage: 'AWSPREVIOUS' });
    now += 10 * MIN;
    const third = await run();
    expect(third.kind === 'waiting' && third.on).toEqual([
      expect.stringMatching(
        new RegExp(`${REPORTS_USER} is still on the old version .*asked for AWSPREVIOUS`),
      ) as string,
    ]);
    expect(w.liveKeys()).toContain(old[0]);

    const { current } = await labelledKeys(w);
    const newVersion = (await billing()).VersionId!;
    expect((await billing({ VersionId: newVersion })).SecretString).toContain(current!.apiKeySid);
    await reports({ VersionId: newVersion });
    now += 10 * MIN;
    expect(await run()).toMatchObject({ kind: 'done', current: current!.apiKeySid });
    expect(w.liveKeys()).not.toContain(old[0]);
  });

  it('looks CloudTrail up once per run for every target, paging within the quota', async () => {
    let now = Date.now();
    const { world: w, trail: ct } = await setUp(() => now, ['twilio/app', 'twilio/app1']);
    const billing = consumer(w, 'AKIDBILLING');
    // More than a page (50 events) of reads before the rotation.
    for (let i = 0; i < 60; i++) await billing({}, i % 2 === 0 ? 'twilio/app' : 'twilio/app1');
    now += 60 * MIN;
    const config = await w.config();
    await rotate(
      config,
      w.runtime(config, () => now),
      { force: true },
    );
    now += 21 * MIN;
    ct.controls.reset();
    const results = await rotate(
      config,
      w.runtime(config, () => now),
    );
    expect(results.map((r) => r.kind)).toEqual(['waiting', 'waiting']);
    for (const r of results)
      expect(r.kind === 'waiting' && r.on).toEqual([expect.stringContaining(BILLING_ROLE) as string]);
    // One walk of the window for both targets: 60 reads plus the rotator's own fill two pages of 50.
    // (A lookup the quota refused, if any, was retried: only answered pages are counted.)
    const pages = ct.controls.log.filter((e) => e.operation === 'LookupEvents' && e.status === 200);
    expect(pages).toHaveLength(2);
  });

  it('keeps the old key when CloudTrail keeps throttling, and says so', async () => {
    let now = Date.now();
    const { world: w, trail: ct, old } = await setUp(() => now, ['twilio/app']);
    await consumer(w, 'AKIDBILLING')();
    now += 60 * MIN;
    const config = await w.config();
    await rotate(
      config,
      w.runtime(config, () => now),
      { force: true },
    );
    now += 21 * MIN;
    ct.controls.setFaults({ rate: 1, kinds: ['throttle'] });
    const [result] = await rotate(
      config,
      w.runtime(config, () => now),
    );
    expect(result).toMatchObject({ kind: 'waiting', kept: old[0] });
    expect(result!.kind === 'waiting' && result!.on).toEqual([
      expect.stringMatching(/^CloudTrail evidence: LookupEvents failed \(ThrottlingException/) as string,
    ]);
    expect(w.liveKeys()).toContain(old[0]);
  });
});
