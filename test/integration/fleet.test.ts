import { afterEach, describe, expect, it } from 'vitest';
import { authenticates, labelledKeys } from '../support/assertions.js';
import { World, type StoreKind, type TargetSpec } from '../support/world.js';

/**
 * Subaccount fleets against the Twilio emulator's subaccounts: the parent's Auth Token lists them
 * (2010 Accounts), each active subaccount whose name matches becomes a target of its own with its own
 * secret, keys are made on the subaccount with the subaccount's own token, and nothing outside the
 * fleet is touched. The emulator holds every account to one request in flight, so with four targets
 * and two requests per account allowed, the runs go through a 429 storm and must still converge.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const PREFIX = 'rot-tenant-';

async function fleetWorld(kind: StoreKind) {
  const w = (world = await World.start(kind));
  await w.seedAdmin('auth-token', 'twilio/parent');
  const tenants = ['tenant-a', 'tenant-b', 'tenant-c'].map((name) =>
    w.twilio.addAccount({ parentSid: w.accountSid, friendlyName: name }),
  );
  const other = w.twilio.addAccount({ parentSid: w.accountSid, friendlyName: 'other-team' });
  const suspended = w.twilio.addAccount({ parentSid: w.accountSid, friendlyName: 'tenant-suspended' });
  w.twilio.setAccountStatus(suspended.sid, 'suspended');
  const fleet = (overrides: Record<string, unknown> = {}) => ({
    name: 'tenants',
    parentAccountSid: w.accountSid,
    admin: { store: kind, secretId: 'twilio/parent' },
    subaccounts: { friendlyNamePrefix: 'tenant-' },
    template: {
      keyType: 'standard',
      friendlyNamePrefix: PREFIX,
      secret: { store: kind, secretId: 'twilio/tenants/{accountSid}' },
      gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 },
    },
    ...overrides,
  });
  const write = (extra: Record<string, unknown> = {}, targets: TargetSpec[] = []) =>
    w.writeConfig(targets, {
      concurrency: { targets: 4, perAccount: 2 },
      retry: { attempts: 8, budgetSeconds: 20, minDelayMs: 5 },
      fleets: [fleet()],
      ...extra,
    });
  await write();
  return { w, tenants, other, suspended, fleet, write };
}

const secretOf = (sid: string) => `twilio/tenants/${sid}`;
const rotatorKeys = (w: World, sid: string) => w.twilio.listKeys(sid).filter((k) => k.friendlyName?.startsWith(PREFIX));

describe.each<StoreKind>(['file', 'aws'])('a subaccount fleet (%s store)', (kind) => {
  it(
    'gives each active matching subaccount its own key and secret, through a 429 storm, and converges',
    { timeout: 120_000 },
    async () => {
      const { w, tenants, other, suspended } = await fleetWorld(kind);
      const parentKeys = w.twilio.listKeys().map((k) => k.sid);
      w.resetLogs();
      // One request in flight per account, and three in ten answered 429 whatever the load.
      w.twilio.setConcurrencyLimit(1);
      w.twilio.controls.setFaults({ rate: 0.3, kinds: ['throttle'], seed: 13 });

      const first = await w.cli(['rotate']);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const calm = () => {
        w.twilio.controls.clearFaults();
        w.twilio.setConcurrencyLimit(undefined);
      };
      calm();
      for (const t of tenants) {
        expect(first.stdout).toContain(`tenants-${t.sid}`);
        const { current } = await labelledKeys(w, secretOf(t.sid));
        expect(current?.accountSid).toBe(t.sid);
        expect(await authenticates(w, current)).toBe(true);
        expect(rotatorKeys(w, t.sid).map((k) => k.sid)).toEqual([current!.apiKeySid]);
      }
      // Outside the fleet nothing moved: not the other team's subaccount, not the suspended one, not the parent.
      expect(w.twilio.listKeys(other.sid)).toEqual([]);
      expect(w.twilio.listKeys(suspended.sid)).toEqual([]);
      expect(w.twilio.listKeys().map((k) => k.sid)).toEqual(parentKeys);
      expect(await w.store().read(secretOf(other.sid))).toBeUndefined();

      // Forced rotations of every member, still under the storm, settle within a few ordinary runs.
      const before = new Map(
        await Promise.all(
          tenants.map(async (t) => [t.sid, (await labelledKeys(w, secretOf(t.sid))).current!.apiKeySid] as const),
        ),
      );
      w.twilio.setConcurrencyLimit(1);
      w.twilio.controls.setFaults({ rate: 0.3, kinds: ['throttle'], seed: 17 });
      const forced = await w.cli(['rotate', '--force']);
      expect(forced.code, forced.stdout + forced.stderr).toBe(0);
      for (let i = 0; i < 3; i++) expect((await w.cli(['rotate'])).code).toBe(0);
      const throttled = w.twilio.controls.log.filter((e) => e.status === 429).length;
      calm();
      for (const t of tenants) {
        const { current, pending } = await labelledKeys(w, secretOf(t.sid));
        expect(current!.apiKeySid).not.toBe(before.get(t.sid));
        expect(pending).toBeUndefined();
        expect(await authenticates(w, current)).toBe(true);
        // The old key died; only the current one is left on the subaccount.
        expect(rotatorKeys(w, t.sid).map((k) => k.sid)).toEqual([current!.apiKeySid]);
      }
      expect(throttled, 'the storm happened').toBeGreaterThan(0);
      console.log(`fleet (${kind}): ${tenants.length} members converged through ${throttled} answers of 429`);
    },
  );

  it(
    'status and rotate take the fleet name or one member; a name the fleet did not list changes nothing',
    { timeout: 60_000 },
    async () => {
      const { w, tenants, other, write } = await fleetWorld(kind);
      expect((await w.cli(['rotate', '--target', `tenants-${tenants[0]!.sid}`])).code).toBe(0);
      expect(await w.store().read(secretOf(tenants[1]!.sid))).toBeUndefined();

      const status = await w.cli(['status', '--target', 'tenants', '--json']);
      const rows = (JSON.parse(status.stdout) as { targets: { target: string }[] }).targets;
      expect(rows.map((r) => r.target).sort()).toEqual(tenants.map((t) => `tenants-${t.sid}`).sort());

      w.resetLogs();
      const outsider = await w.cli(['rotate', '--target', `tenants-${other.sid}`]);
      expect(outsider.code).toBe(1);
      expect(outsider.stdout + outsider.stderr).toMatch(/not among its fleet's active subaccounts/);
      expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });

      const fleetName = await w.cli(['confirm', 'tenants']);
      expect(fleetName.code).toBe(2);
      expect(fleetName.stderr).toMatch(/is a fleet; name one of its members/);

      // A run of a configured target alone lists no subaccounts (the daemon runs targets one by one).
      await w.seedAdmin('auth-token', 'twilio/admin');
      await write({}, [{}]);
      w.resetLogs();
      const app = await w.cli(['rotate', '--target', 'app']);
      expect(app.code, app.stdout + app.stderr).toBe(0);
      expect(w.twilio.controls.log.filter((e) => e.operation === 'ListAccounts')).toEqual([]);
      expect(await w.store().read(secretOf(tenants[1]!.sid))).toBeUndefined();
    },
  );

  it('a dry run of the fleet lists what it would do and changes nothing', { timeout: 60_000 }, async () => {
    const { w, tenants } = await fleetWorld(kind);
    w.resetLogs();
    const dry = await w.cli(['rotate', '--dry-run']);
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    for (const t of tenants) expect(dry.stdout).toContain(`tenants-${t.sid}`);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });

  it(
    'refuses a parent API key as the fleet admin, before any change, and says what to use',
    { timeout: 60_000 },
    async () => {
      const { w, tenants, write } = await fleetWorld(kind);
      await w.seedAdmin('main', 'twilio/parent-key');
      await write({
        fleets: [
          {
            name: 'tenants',
            parentAccountSid: w.accountSid,
            admin: { store: kind, secretId: 'twilio/parent-key' },
            template: {
              keyType: 'standard',
              friendlyNamePrefix: PREFIX,
              secret: { store: kind, secretId: 'twilio/tenants/{accountSid}' },
            },
          },
        ],
      });
      w.resetLogs();
      const run = await w.cli(['rotate']);
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).toMatch(/must hold the parent's Account SID \+ Auth Token/);
      expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
      for (const t of tenants) expect(w.twilio.listKeys(t.sid)).toEqual([]);
    },
  );
});

describe('fleet configuration', () => {
  it('refuses a secret without {accountSid}, a template setting name/accountSid/admin, a clashing target', async () => {
    const w = (world = await World.start('file'));
    await w.writeConfig([{ name: 'tenants-AC00000000000000000000000000000001', prefix: 'rot-x-' }], {
      fleets: [
        {
          name: 'tenants',
          parentAccountSid: w.accountSid,
          admin: { store: 'file', secretId: 'twilio/parent' },
          template: {
            accountSid: w.accountSid,
            keyType: 'standard',
            friendlyNamePrefix: PREFIX,
            secret: { store: 'file', secretId: 'twilio/shared' },
          },
        },
      ],
    });
    const run = await w.cli(['rotate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('fleets.0.template.accountSid');
    expect(run.stderr).toContain('fleets.0.template.secret.secretId: must contain {accountSid}');
    expect(run.stderr).toContain('targets.0.name');
  });
});

describe('listing a fleet’s subaccounts', () => {
  const cases: [string, (body: Record<string, unknown>) => Record<string, unknown>, RegExp][] = [
    ['a next page that loops', (b) => ({ ...b, next_page_uri: b.uri }), /already served; refusing to loop/],
    [
      'a next page on another host',
      (b) => ({ ...b, next_page_uri: 'https://collector.example/2010-04-01/Accounts.json?Page=1' }),
      /another host or collection; nothing was sent there/,
    ],
    ['an entry without a SID', (b) => ({ ...b, accounts: [{ status: 'active' }] }), /without a valid Account SID/],
  ];
  it.each(cases)(
    'fails the fleet on %s, sends nothing anywhere else, and changes nothing',
    { timeout: 60_000 },
    async (_what, mutate, message) => {
      const { w } = await fleetWorld('file');
      w.twilio.setResponseMutator('ListAccounts', mutate);
      w.resetLogs();
      const run = await w.cli(['rotate']);
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).toMatch(message);
      expect(w.twilio.controls.log.filter((e) => e.operation === 'ListAccounts').length).toBeLessThanOrEqual(2);
      expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    },
  );

  it(
    'says which secret the parent credential belongs in when it is missing, and changes nothing',
    { timeout: 60_000 },
    async () => {
      const { w, write, fleet } = await fleetWorld('file');
      await write({ fleets: [fleet({ admin: { store: 'file', secretId: 'twilio/missing' } })] });
      w.resetLogs();
      const run = await w.cli(['rotate']);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(
        `fleet admin secret "twilio/missing" (file store) does not exist or has no current value; ` +
          `store the parent's {"accountSid": "${w.accountSid}", "authToken": "…"}`,
      );
      expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    },
  );

  it('fails when more subaccounts match than subaccounts.max, and changes nothing', { timeout: 60_000 }, async () => {
    const { w, write, fleet } = await fleetWorld('file');
    await write({ fleets: [fleet({ subaccounts: { friendlyNamePrefix: 'tenant-', max: 2 } })] });
    w.resetLogs();
    const run = await w.cli(['rotate']);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/more than 2 active subaccounts/);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });
});
