import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TargetResult } from '../../src/core/outcome.js';
import { DaemonMetrics } from '../../src/entry/daemon/metrics.js';
import { startReceivers, type Receivers } from '../support/alerting.js';
import { World } from '../support/world.js';

/**
 * A fleet whose subaccount list cannot be read runs none of its members: it used to leave no series
 * in /metrics, raise no alert, and make `rotate --now <member>` say "unknown target" (exit 2) on a
 * transient 500. It is now a failed run by the fleet's name, alerted on and counted.
 */

let rx: Receivers;
let world: World | undefined;
beforeAll(async () => {
  rx = await startReceivers();
  Object.assign(process.env, rx.env);
});
afterAll(() => rx.close());
beforeEach(() => rx.reset());
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function fleetWorld() {
  const w = (world = await World.start('file'));
  await w.seedAdmin('auth-token', 'twilio/parent');
  const tenant = w.twilio.addAccount({ parentSid: w.accountSid, friendlyName: 'tenant-a' });
  await w.writeConfig([], {
    retry: { attempts: 2, budgetSeconds: 5, minDelayMs: 5 },
    alerts: rx.config(),
    fleets: [
      {
        name: 'tenants',
        parentAccountSid: w.accountSid,
        admin: { store: 'file', secretId: 'twilio/parent' },
        subaccounts: { friendlyNamePrefix: 'tenant-' },
        template: {
          keyType: 'standard',
          friendlyNamePrefix: 'rot-tenant-',
          secret: { store: 'file', secretId: 'twilio/tenants/{accountSid}' },
        },
      },
    ],
  });
  return { w, tenant };
}

/** Every request listing subaccounts answers 500, as long as the test wants. */
const listFails = (w: World) =>
  w.twilio.controls.setFaults({ rate: 1, kinds: ['server-error'], operations: ['ListAccounts'] });

describe('a fleet whose subaccounts cannot be listed', () => {
  it('raises a step-failed alert by the fleet name on every channel that takes it', async () => {
    const { w } = await fleetWorld();
    listFails(w);
    const run = await w.cli(['rotate']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/tenants: FAILED at expand-fleet/);
    expect(rx.counts()).toEqual({ slack: 1, pagerduty: 1, webhook: 1, sns: 1 });
    expect(rx.slack.received[0]!.text).toMatch(/tenants: the fleet's subaccounts could not be listed/);
    expect(rx.pagerduty.received[0]).toMatchObject({
      event_action: 'trigger',
      dedup_key: 'twilio-key-rotator/tenants/step-failed',
    });
  });

  it('sends nothing from a dry run', async () => {
    const { w } = await fleetWorld();
    listFails(w);
    await w.cli(['rotate', '--dry-run']);
    expect(rx.counts()).toEqual({ slack: 0, pagerduty: 0, webhook: 0, sns: 0 });
  });

  it('makes rotate --now of a member fail as a run (exit 1), not as an unknown target (exit 2)', async () => {
    const { w, tenant } = await fleetWorld();
    listFails(w);
    const member = `tenants-${tenant.sid}`;
    const run = await w.cli(['rotate', '--now', member, '--overlap', '0']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(`fleet "tenants" could not list its subaccounts, so ${member} was not rotated`);
    expect(run.stderr).not.toContain('unknown target');
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });

  it('makes confirm, abort and rollback of a member fail as a run too, changing nothing', async () => {
    const { w, tenant } = await fleetWorld();
    listFails(w);
    const member = `tenants-${tenant.sid}`;
    for (const [command, done] of [
      ['confirm', 'confirmed'],
      ['abort', 'aborted'],
      ['rollback', 'rolled back'],
    ] as const) {
      const run = await w.cli([command, member]);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain(`fleet "tenants" could not list its subaccounts, so ${member} was not ${done}`);
    }
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });

  it('shows in /metrics as a failed run of the fleet', () => {
    const metrics = new DaemonMetrics();
    const failed: TargetResult = {
      target: 'tenants',
      credential: 'api-key',
      steps: [],
      kind: 'failed',
      step: 'expand-fleet',
      error: 'HTTP 500',
    };
    // What the daemon records for a fleet's run (src/entry/daemon/daemon.ts runOne).
    metrics.recordRun(failed, 1_000, 2_000);
    metrics.recordUnit('tenants', 1);
    // The daemon lists the configured targets and the members that ran: none did.
    const text = metrics.render(3_000, [], []);
    expect(text).toContain('twilio_key_rotator_failures_total{target="tenants"} 1');
    expect(text).toContain('twilio_key_rotator_runs_total{target="tenants",result="failed"} 1');
    expect(text).toContain('twilio_key_rotator_fleet_unlisted{target="tenants"} 1');
  });
});

describe('a fleet member skipped for a clash', () => {
  it('shows in status of the fleet as in rotate of the fleet, with the reason', async () => {
    const { w, tenant } = await fleetWorld();
    const { parse, stringify } = await import('yaml');
    const { readFile, writeFile } = await import('node:fs/promises');
    const written = parse(await readFile(w.configPath, 'utf8')) as Record<string, unknown>;
    const spec = { name: 'hand', prefix: 'rot-tenant-hand-', secretId: 'twilio/hand' };
    const [hand] = w.configObject([spec]).targets as Record<string, unknown>[];
    // A hand-written target on the member's subaccount whose prefix overlaps the template's.
    await writeFile(w.configPath, stringify({ ...written, targets: [{ ...hand, accountSid: tenant.sid }] }));
    const member = `tenants-${tenant.sid}`;
    const clash = 'target "hand" rotates keys on the same subaccount with an overlapping friendlyNamePrefix';
    const status = await w.cli(['status', '--target', 'tenants']);
    expect(status.stdout, status.stderr).toContain(`${member}: cannot read state: ${clash}`);
    const rotate = await w.cli(['rotate', '--target', 'tenants']);
    expect(rotate.stdout, rotate.stderr).toContain(`${member}: FAILED at expand-fleet: ${clash}`);
  });
});
