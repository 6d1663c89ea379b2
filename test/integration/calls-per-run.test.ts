import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

/**
 * Remote calls a run makes, counted exactly from the emulators' request logs: what a fleet pays per
 * target. Behaviour, not speed: every figure here is a count.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const calls = (w: World, operation: string) =>
  [...w.twilio.controls.log, ...w.sm.controls.log].filter((e) => e.operation === operation).length;

describe('calls per run', () => {
  it("lists the account's keys once in a later rotation, though copies hold the keys retired before", async () => {
    world = await World.start('aws');
    await world.seedAdmin('auth-token');
    // One target at a time, so the first target's look at the second's secret (all its labelled
    // values, the retired previous one's too) always comes before the second target's own look.
    await world.writeConfig([{}, {}], {
      concurrency: { targets: 1 },
      stores: { aws: { region: 'us-east-1', endpoint: world.sm.url, sweep: 'batched' } },
    });
    expect((await world.cli(['rotate'])).code).toBe(0);
    expect((await world.cli(['rotate', '--force'])).code).toBe(0);
    world.resetLogs();
    const later = await world.cli(['rotate', '--force']);
    expect(later.code, later.stdout).toBe(0);
    expect(calls(world, 'CreateKey')).toBe(2);
    expect(calls(world, 'DeleteKey')).toBe(2);
    expect(calls(world, 'ListKeys')).toBe(1);
  });

  it('reads a fleet for status through the batched sweep, as a nothing-due rotate does', async () => {
    world = await World.start('aws');
    await world.seedAdmin('auth-token');
    const targets = Array.from({ length: 30 }, () => ({}));
    await world.writeConfig(targets, {
      stores: { aws: { region: 'us-east-1', endpoint: world.sm.url, sweep: 'batched' } },
    });
    expect((await world.cli(['rotate'])).code).toBe(0);
    world.resetLogs();
    expect((await world.cli(['rotate'])).code).toBe(0);
    const rotate = world.sm.controls.log.length;
    world.resetLogs();
    const status = await world.cli(['status', '--json']);
    expect(status.code, status.stdout).toBe(0);
    const statuses = (JSON.parse(status.stdout) as { targets: { step: string }[] }).targets;
    expect(statuses.map((s) => s.step)).toEqual(targets.map(() => 'done'));
    // One ListSecrets page (its tags claim what each current version holds) and the admin secret's one.
    expect(calls(world, 'ListSecrets')).toBe(1);
    expect(calls(world, 'BatchGetSecretValue')).toBe(0);
    expect(world.sm.controls.log.length).toBe(2);
    expect(rotate).toBe(2);
  });

  it('asks once whether the old Auth Token is refused after the promotion: one 401 settles it', async () => {
    world = await World.start('aws');
    const gate = { minOverlapSeconds: 0, maxWaitSeconds: 3600 };
    await world.writeConfig([{ kind: 'auth-token', propagationDelaySeconds: 0, gate }]);
    const old = await world.seedToken('twilio/token');
    world.resetLogs();
    const run = await world.cli(['rotate', '--force']);
    expect(run.code, run.stdout).toBe(0);
    const refused = world.twilio.controls.log.filter((e) => e.operation === 'FetchAccount' && e.status === 401);
    expect(refused).toHaveLength(1);
    expect(await world.tokenWorks(old)).toBe(false);
  });
});
