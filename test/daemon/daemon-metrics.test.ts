import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { formatPause, TAG_PAUSED } from '../../src/core/rollback.js';
import { createDaemon, type Daemon } from '../../src/entry/daemon/daemon.js';
import { createLogger } from '../../src/log.js';
import { AWS_ENV, World } from '../support/world.js';

/**
 * What the daemon's /readyz and /metrics say after its own runs (createDaemon in this process, a tick
 * asked for by hand, the emulators over HTTP): a rollback's pause, and a fleet run as one unit.
 */

const NEVER_SOON = '0 0 1 1 *';
let world: World | undefined;
let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop('test over');
  daemon = undefined;
  await world?.close();
  world = undefined;
});

async function start(w: World): Promise<{ metrics: () => Promise<string>; ready: () => Promise<string> }> {
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => w.record(c.toString()));
  daemon = await createDaemon({
    configPath: w.configPath,
    env: { ...process.env, ...AWS_ENV },
    logger: createLogger({ stream, json: true }),
  });
  daemon.tick();
  await daemon.idle();
  const url = daemon.healthUrl!;
  return {
    metrics: async () => (await fetch(`${url}/metrics`)).text(),
    ready: async () => (await fetch(`${url}/readyz`)).text(),
  };
}

const daemonSection = { daemon: { schedule: NEVER_SOON, runOnStart: false, health: { port: 0 } } };

describe('daemon metrics', () => {
  it("reports target_paused 1 for a rollback's rotator:paused tag, not only for paused: true", async () => {
    const w = (world = await World.start('file'));
    await w.seedAdmin('auth-token');
    await w.writeConfig([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }], daemonSection);
    expect((await w.cli(['rotate'])).code).toBe(0);
    const current = (await w.store().read('twilio/app'))!.versions[0]!.versionId;
    // What a rollback leaves on the secret: the pause, naming the versions.
    await w.store().setTags('twilio/app', { [TAG_PAUSED]: formatPause(current, current, Date.now()) });
    const { metrics } = await start(w);
    const text = await metrics();
    expect(text).toMatch(/^twilio_key_rotator_runs_total\{target="app",result="deferred"\} 1$/m);
    expect(text).toMatch(/^twilio_key_rotator_target_paused\{target="app"\} 1$/m);
  });

  it('counts a fleet as one unit: ready once its members ran, and its failed listing as fleet_unlisted', async () => {
    const w = (world = await World.start('file'));
    await w.seedAdmin('auth-token', 'twilio/parent');
    const tenant = w.twilio.addAccount({ parentSid: w.accountSid, friendlyName: 'tenant-a' });
    await w.writeConfig([], {
      ...daemonSection,
      fleets: [
        {
          name: 'tenants',
          parentAccountSid: w.accountSid,
          admin: { store: 'file', secretId: 'twilio/parent' },
          template: {
            keyType: 'standard',
            friendlyNamePrefix: 'rot-tenant-',
            secret: { store: 'file', secretId: 'twilio/tenants/{accountSid}' },
            gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 },
          },
        },
      ],
    });
    const { metrics, ready } = await start(w);
    expect(await ready()).toBe('ready\n');
    expect(await metrics()).toMatch(new RegExp(`^twilio_key_rotator_runs_total\\{target="tenants-${tenant.sid}"`, 'm'));

    w.twilio.controls.setFaults({ rate: 1, kinds: ['server-error'], operations: ['ListAccounts'] });
    daemon!.tick();
    await daemon!.idle();
    const text = await metrics();
    expect(text).toMatch(/^twilio_key_rotator_fleet_unlisted\{target="tenants"\} 1$/m);
    expect(text).toMatch(/^twilio_key_rotator_failures_total\{target="tenants"\} 1$/m);
    expect(await ready()).toContain('tenants: last run had 1 failed or stuck member(s)');
  });
});
