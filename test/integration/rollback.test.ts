import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { TAG_PAUSED } from '../../src/core/rollback.js';
import { authenticates, labelledKeys } from '../support/assertions.js';
import { World, type StoreKind } from '../support/world.js';

/**
 * `rollback <target>` end to end: the CLI in-process, the real SDKs over HTTP to the emulators, both
 * stores. A forced rotation waits at its gate (one hour of overlap), then a person rolls it back.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const GATE = { minOverlapSeconds: 3600, maxWaitSeconds: 7 * 86400 };

async function inOverlap(storeKind: StoreKind) {
  const w = await World.start(storeKind);
  await w.seedAdmin('auth-token');
  const oldSid = await w.seedCurrentKey();
  await w.writeConfig([{ gate: GATE }, { name: 'token', kind: 'auth-token' }]);
  await w.seedToken();
  const forced = await w.cli(['rotate', '--force', '--target', 'app']);
  expect(forced.code, forced.stderr).toBe(0);
  expect(forced.stdout).toContain(`waiting for consumers before deleting ${oldSid}`);
  const newSid = (await labelledKeys(w)).current!.apiKeySid;
  return { w, oldSid, newSid };
}

/** Deletes a key on the emulator the way a person would in the Console. */
async function deleteByHand(w: World, sid: string): Promise<void> {
  const auth = Buffer.from(`${w.accountSid}:${w.twilio.authToken()}`).toString('base64');
  const res = await fetch(`${w.twilio.url}/v1/Keys/${sid}`, {
    method: 'DELETE',
    headers: { authorization: `Basic ${auth}` },
  });
  expect(res.status).toBe(204);
}

describe.each<StoreKind>(['file', 'aws'])('rollback through the CLI (%s store)', (storeKind) => {
  it('plans with --dry-run changing nothing, then rolls back, pauses, and resumes on rotate --force', async () => {
    const { w, oldSid, newSid } = await inOverlap(storeKind);
    world = w;
    w.resetLogs();
    const dry = await w.cli(['rollback', 'app', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as { state: string; steps: { step: string }[] };
    expect(plan.state).toBe('planned');
    expect(plan.steps.map((s) => s.step)).toEqual([
      'verify-previous',
      'pause',
      'restore-previous',
      'revoke-new',
      'alert',
    ]);
    expect(w.mutatingCalls(), 'the dry run changes nothing').toEqual({ twilio: 0, sm: 0 });

    const done = await w.cli(['rollback', 'app']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain(`app: rolled back from ${newSid}`);
    expect(done.stdout).toContain(`back to ${oldSid}`);
    const after = await labelledKeys(w);
    expect(after.current?.apiKeySid).toBe(oldSid);
    expect(await authenticates(w, after.current)).toBe(true);
    expect(after.previous?.apiKeySid).toBe(newSid);
    expect(w.liveKeys()).not.toContain(newSid);
    expect(after.tags[TAG_PAUSED]).toMatch(/ rollback /);

    w.resetLogs();
    const scheduled = await w.cli(['rotate', '--json']);
    expect(scheduled.code).toBe(0);
    const app = (JSON.parse(scheduled.stdout) as { targets: { target: string; kind: string; reason?: string }[] })
      .targets[0]!;
    expect(app).toMatchObject({ target: 'app', kind: 'deferred', reason: 'paused' });
    expect(w.twilio.controls.mutatingCalls()).toEqual([]);

    const status = await w.cli(['status', '--target', 'app', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ targets: [{ paused: true, attention: false }] });
    expect(status.stdout).toContain('paused by a rollback');

    const again = await w.cli(['rollback', 'app', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ state: 'rolled-back', steps: [{ step: 'rolled-back' }] });

    const resumed = await w.cli(['rotate', '--force', '--target', 'app']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await labelledKeys(w)).tags[TAG_PAUSED] ?? '').toBe('');
    expect((await labelledKeys(w)).current?.apiKeySid).not.toBe(oldSid);
  });

  it('refuses, exit 2 and nothing changed, when the old key is gone from Twilio', async () => {
    const { w, newSid } = await inOverlap(storeKind);
    world = w;
    const oldSid = (await labelledKeys(w)).previous!.apiKeySid;
    await deleteByHand(w, oldSid);
    w.resetLogs();
    const run = await w.cli(['rollback', 'app', '--json']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { kind: 'usage', exitCode: 2 } });
    expect(run.stderr).toMatch(/previous key SK\w+ was already retired \(or deleted\)/);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    expect((await labelledKeys(w)).current?.apiKeySid).toBe(newSid);
  });

  it('says of an Auth Token after its promotion that the old token is dead, exit 2', async () => {
    const { w } = await inOverlap(storeKind);
    world = w;
    const rotated = await w.cli(['rotate', '--force', '--target', 'token']);
    expect(rotated.code, rotated.stderr).toBe(0);
    w.resetLogs();
    const run = await w.cli(['rollback', 'token']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/the old Auth Token tf_\w+ died on Twilio when tf_\w+ was promoted/);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });
});

describe('rollback usage', () => {
  it('takes exactly one target, no --target, and has its own help', async () => {
    world = await World.start();
    await world.writeConfig();
    expect((await world.cli(['rollback'])).code).toBe(2);
    expect((await world.cli(['rollback', 'app', '--target', 'app'])).code).toBe(2);
    expect((await world.cli(['rollback', 'app', '--force'])).code).toBe(2);
    const help = await world.cli(['rollback', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: twilio-key-rotator rollback <target> \[--dry-run\]/);
  });
});

/** Whether OAuth client credentials work: a token, then the read their policy grants. */
async function appWorks(w: World, creds: { clientId: string; clientSecret: string } | undefined): Promise<boolean> {
  if (!creds) return false;
  const form = { client_id: creds.clientId, client_secret: creds.clientSecret, grant_type: 'client_credentials' };
  const body = new URLSearchParams(form).toString();
  const token = await fetch(`${w.twilio.url}/v2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  if (token.status !== 200) return false;
  const { access_token } = (await token.json()) as { access_token: string };
  const read = await fetch(`${w.twilio.url}/2010-04-01/Accounts/${w.accountSid}/Messages.json?PageSize=1`, {
    headers: { authorization: `Bearer ${access_token}` },
  });
  return read.status === 200;
}

describe('rollback of an OAuth app through the CLI (file store)', () => {
  it('puts the previous app back and deletes the new one', async () => {
    const w = await World.start('file');
    world = w;
    await w.seedAdmin('auth-token');
    const config = w.configObject([]);
    config.targets = [
      {
        name: 'oauth',
        kind: 'oauth-app',
        accountSid: w.accountSid,
        policy: { allow: ['/twilio/messaging/messages/list'] },
        accessTokenTtlSeconds: 900,
        friendlyNamePrefix: 'rot-oauth-',
        secret: { store: 'file', secretId: 'twilio/oauth' },
        admin: { store: 'file', secretId: 'twilio/admin' },
        gate: GATE,
      },
    ];
    await writeFile(w.configPath, stringify(config));
    type Creds = { clientId: string; clientSecret: string };
    const at = async (stage: string) => {
      const v = (await w.store().read('twilio/oauth'))?.versions.find((x) => x.stages.includes(stage));
      return v?.value === undefined ? undefined : (JSON.parse(v.value) as Creds);
    };
    expect((await w.cli(['rotate'])).code).toBe(0);
    const old = (await at('AWSCURRENT'))!;
    const forced = await w.cli(['rotate', '--force', '--target', 'oauth']);
    expect(forced.code, forced.stderr).toBe(0);
    const made = (await at('AWSCURRENT'))!;
    expect(made.clientId).not.toBe(old.clientId);
    expect(await appWorks(w, made)).toBe(true);

    const run = await w.cli(['rollback', 'oauth']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`oauth: rolled back from ${made.clientId}`);
    expect(run.stdout).toContain('revoke-new: revoked the new app');
    expect((await at('AWSCURRENT'))?.clientId).toBe(old.clientId);
    expect(await appWorks(w, old)).toBe(true);
    expect(await appWorks(w, made)).toBe(false);
  });
});

describe('rollback of a fleet member', () => {
  it("rolls back with the subaccount's own token from the fleet's list", async () => {
    const w = (world = await World.start('file'));
    await w.seedAdmin('auth-token', 'twilio/parent');
    const tenant = w.twilio.addAccount({ parentSid: w.accountSid, friendlyName: 'tenant-a' });
    const template = {
      keyType: 'standard',
      friendlyNamePrefix: 'rot-tenant-',
      secret: { store: 'file', secretId: 'twilio/tenants/{accountSid}' },
      gate: GATE,
    };
    const admin = { store: 'file', secretId: 'twilio/parent' };
    await w.writeConfig([], { fleets: [{ name: 'tenants', parentAccountSid: w.accountSid, admin, template }] });
    const member = `tenants-${tenant.sid}`;
    expect((await w.cli(['rotate'])).code).toBe(0);
    const forced = await w.cli(['rotate', '--force', '--target', member]);
    expect(forced.stdout, forced.stderr).toContain('waiting for consumers before deleting');
    const done = await w.cli(['rollback', member]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain(`${member}: rolled back from`);
  });
});
