import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

/**
 * What the look before each deletion costs a fleet on one account (engine/scope.ts), counted from the
 * emulators' request logs. The look's own reads are counted exactly in test/unit/held-elsewhere.test.ts;
 * here, the whole run's.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const count = (w: World) => {
  const by = new Map<string, number>();
  for (const e of [...w.twilio.controls.log, ...w.sm.controls.log]) by.set(e.operation, (by.get(e.operation) ?? 0) + 1);
  return by;
};

describe('the look before a deletion, in calls', () => {
  it('reads the fleet for its deletions a couple of times a run, not once per deletion', async () => {
    world = await World.start('aws');
    await world.seedAdmin('auth-token');
    const N = 12;
    await world.writeConfig(
      Array.from({ length: N }, () => ({})),
      {
        concurrency: { targets: 1 },
        stores: { aws: { region: 'us-east-1', endpoint: world.sm.url, sweep: 'batched' } },
      },
    );
    expect((await world.cli(['rotate'])).code).toBe(0);
    world.resetLogs();
    const run = await world.cli(['rotate', '--force']);
    expect(run.code, run.stdout).toBe(0);
    const calls = count(world);
    expect(calls.get('CreateKey')).toBe(N);
    expect(calls.get('DeleteKey')).toBe(N);
    expect(calls.get('ListKeys')).toBe(1);
    expect(calls.get('PutSecretValue')).toBe(N);
    // Each forced target lists its version ids once: never on the sweep's copy, which is read afresh
    // before any step anyway, and not again once its version is named.
    expect(calls.get('ListSecretVersionIds')).toBe(N);
    expect(calls.get('UpdateSecretVersionStage')).toBe(2 * N);
    // Each target reads its own labels about three times (its first look, and right before its
    // promotion and its deletion); two looks at the account's secrets serve all the deletions (one
    // once half of them wait, one when nothing else is left). Before the deletions shared parked looks,
    // this run made 170 DescribeSecret calls: a look of all 12 secrets for every deletion or two.
    expect(calls.get('DescribeSecret')).toBeLessThanOrEqual(3 * N + 2 * N + 8);
  });

  it('rotates one API key through its deletion in 14 calls on Secrets Manager', async () => {
    world = await World.start('aws');
    await world.seedAdmin('auth-token');
    await world.writeConfig([{}], { stores: { aws: { region: 'us-east-1', endpoint: world.sm.url } } });
    expect((await world.cli(['rotate'])).code).toBe(0);
    world.resetLogs();
    const run = await world.cli(['rotate', '--force']);
    expect(run.code, run.stdout).toBe(0);
    // Twilio: the key list, the new key, its verification, the old key's deletion. Secrets Manager:
    // the admin credential (one GetSecretValue); the secret read once, version ids before labels (a run
    // told to rotate names a version, so it lists them first and needs no second look at the labels
    // after them), and its current value; the new version, AWSCURRENT moved and AWSPENDING taken off,
    // the promotion's tags, the labels again right before the deletion, the retired tag. Issue 24
    // counted 22; 15 before the ids were listed first.
    expect(Object.fromEntries(count(world))).toEqual({
      ListKeys: 1,
      CreateKey: 1,
      ListIncomingPhoneNumbers: 1,
      DeleteKey: 1,
      GetSecretValue: 2,
      DescribeSecret: 2,
      ListSecretVersionIds: 1,
      PutSecretValue: 1,
      UpdateSecretVersionStage: 2,
      TagResource: 2,
    });
    // The secret's ids were listed before its labels were read, once.
    const sm = world.sm.controls.log.map((e) => e.operation);
    expect(sm.indexOf('ListSecretVersionIds')).toBeLessThan(sm.indexOf('DescribeSecret'));
    expect(world.twilio.controls.log.length + world.sm.controls.log.length).toBe(14);
  });
});
