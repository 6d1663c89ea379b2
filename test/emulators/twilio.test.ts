import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTwilioClient } from '../support/twilio-client.js';
import { TWILIO_OPERATIONS, startTwilioEmulator, type TwilioEmulator } from './twilio/index.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

let emu: TwilioEmulator;
let clockMs = T0;

beforeEach(async () => {
  clockMs = T0;
  emu = await startTwilioEmulator({ now: () => clockMs });
});
afterEach(async () => {
  await emu.close();
});

function client(username: string, password: string, accountSid = emu.accountSid) {
  return createTwilioClient({ username, password, accountSid }, { baseUrl: emu.url, timeoutMs: 3000 });
}
const accountClient = () => client(emu.accountSid, emu.authToken());
const keyClient = (key: { sid: string; secret: string }, accountSid = emu.accountSid) =>
  client(key.sid, key.secret, accountSid);

/** The RestException a call rejects with; fails the test if it resolves or throws something else. */
async function restError(call: Promise<unknown>): Promise<{ status: number; code?: number; message: string }> {
  const err: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(twilio.RestException);
  return err as InstanceType<typeof twilio.RestException>;
}

function basic(user: string, pass: string): string {
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}

async function raw(path: string, init: RequestInit & { auth?: [string, string] } = {}) {
  const headers = new Headers(init.headers);
  const [user, pass] = init.auth ?? [emu.accountSid, emu.authToken()];
  headers.set('Authorization', basic(user, pass));
  const res = await fetch(emu.url + path, { ...init, headers });
  const text = await res.text();
  return { res, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const policyOf = (...allow: string[]) => ({ allow });

describe('IAM v1 keys', () => {
  it('creates a standard key whose secret authenticates, and returns RFC 2822 dates', async () => {
    const created = await accountClient().iam.v1.newApiKey.create({
      accountSid: emu.accountSid,
      friendlyName: 'rotator',
    });
    expect(created.sid).toMatch(/^SK[0-9a-f]{32}$/);
    expect(created.secret).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(created.policy).toBeNull();
    expect(created.dateCreated.getTime()).toBe(T0);
    const fetched = await raw(`/v1/Keys/${created.sid}`);
    expect(fetched.body?.date_created).toBe('Fri, 02 Jan 2026 03:04:05 +0000');
    expect(fetched.body).not.toHaveProperty('secret');
    const numbers = await keyClient(created)
      .api.v2010.accounts(emu.accountSid)
      .incomingPhoneNumbers.list({ pageSize: 1 });
    expect(numbers).toEqual([]);
  });

  it('creates a restricted key with its policy and lists keys without policy, oldest first', async () => {
    const c = accountClient();
    const restricted = await c.iam.v1.newApiKey.create({
      accountSid: emu.accountSid,
      keyType: 'restricted',
      policy: policyOf('/twilio/messaging/messages/read'),
    });
    expect(restricted.policy).toEqual(policyOf('/twilio/messaging/messages/read'));
    expect(restricted.friendlyName).toBeNull();
    clockMs += 1000;
    await c.iam.v1.newApiKey.create({ accountSid: emu.accountSid, friendlyName: 'second' });
    const listed = await c.iam.v1.getApiKeys.list({ accountSid: emu.accountSid });
    expect(listed.map((k) => k.friendlyName)).toEqual([null, 'second']);
    expect(listed[0]?.flags).toEqual(['rest_api', 'signing']);
    const page = await raw(`/v1/Keys?AccountSid=${emu.accountSid}`);
    expect((page.body?.keys as object[])[0]).not.toHaveProperty('policy');
    expect(emu.listKeys().map((k) => k.type)).toEqual(['restricted', 'standard']);
  });

  it('pages with PageSize and follows absolute next_page_url values back to the emulator', async () => {
    for (let i = 0; i < 5; i++)
      emu.seedKey({ type: 'standard', friendlyName: `k${i}`, createdAt: new Date(T0 + i * 1000) });
    const first = await raw(`/v1/Keys?AccountSid=${emu.accountSid}&PageSize=2`);
    const meta = first.body?.meta as Record<string, unknown>;
    expect(meta).toMatchObject({ page: 0, page_size: 2, key: 'keys', previous_page_url: null });
    expect(String(meta.next_page_url)).toMatch(new RegExp(`^${emu.url}/v1/Keys\\?.*PageToken=`));
    const second = await raw(String(meta.next_page_url).slice(emu.url.length));
    expect((second.body?.keys as { friendly_name: string }[]).map((k) => k.friendly_name)).toEqual(['k2', 'k3']);

    const forwarded = await raw(`/v1/Keys?AccountSid=${emu.accountSid}&PageSize=2`, {
      headers: { 'X-Forwarded-Host': 'proxy.test:8443' },
    });
    expect((forwarded.body?.meta as { next_page_url: string }).next_page_url).toMatch(
      /^http:\/\/proxy\.test:8443\/v1\/Keys\?/,
    );

    emu.controls.reset();
    const all = await accountClient().iam.v1.getApiKeys.list({ accountSid: emu.accountSid, pageSize: 2 });
    expect(all.map((k) => k.friendlyName)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(emu.controls.log.map((e) => [e.operation, e.status])).toEqual([
      ['ListKeys', 200],
      ['ListKeys', 200],
      ['ListKeys', 200],
    ]);
  });

  it('fetches, updates (replacing the policy wholesale) and deletes a key', async () => {
    const key = emu.seedKey({
      type: 'restricted',
      policy: policyOf('/twilio/messaging/messages/read', '/twilio/voice/calls/read'),
    });
    const c = accountClient();
    expect((await c.iam.v1.apiKey(key.sid).fetch()).policy).toEqual(
      policyOf('/twilio/messaging/messages/read', '/twilio/voice/calls/read'),
    );
    const updated = await c.iam.v1
      .apiKey(key.sid)
      .update({ friendlyName: 'renamed', policy: policyOf('/twilio/messaging/messages/list') });
    expect(updated.friendlyName).toBe('renamed');
    expect(updated.policy).toEqual(policyOf('/twilio/messaging/messages/list'));
    expect(emu.listKeys()[0]?.policy).toEqual(policyOf('/twilio/messaging/messages/list'));
    expect(await c.iam.v1.apiKey(key.sid).remove()).toBe(true);
    expect(emu.listKeys()).toEqual([]);
    const gone = await restError(c.iam.v1.apiKey(key.sid).fetch());
    expect([gone.status, gone.code]).toEqual([404, 20404]);
  });

  it('stamps keys with the injected clock, which setClock replaces', async () => {
    emu.setClock(() => Date.UTC(2027, 5, 1));
    const key = await accountClient().iam.v1.newApiKey.create({ accountSid: emu.accountSid });
    expect(key.dateCreated.toISOString()).toBe('2027-06-01T00:00:00.000Z');
    expect(emu.listKeys()[0]?.createdAt).toEqual(new Date(Date.UTC(2027, 5, 1)));
  });

  it('rejects a deleted key with 401/20003', async () => {
    const key = emu.seedKey({ type: 'standard' });
    await accountClient().iam.v1.apiKey(key.sid).remove();
    const err = await restError(keyClient(key).api.v2010.accounts(emu.accountSid).messages.list({ pageSize: 1 }));
    expect([err.status, err.code]).toEqual([401, 20003]);
  });

  it('validates FriendlyName length, permissions, policy JSON, key type and SIDs', async () => {
    const c = accountClient();
    const create = (opts: Record<string, unknown>) =>
      restError(c.iam.v1.newApiKey.create({ accountSid: emu.accountSid, ...opts }));
    await c.iam.v1.newApiKey.create({ accountSid: emu.accountSid, friendlyName: 'x'.repeat(64) });
    expect(await create({ friendlyName: 'x'.repeat(65) })).toMatchObject({ status: 400, code: 70001 });
    const perms = ['/twilio/messaging/messages/read', '/twilio/messaging/messages/list', '/twilio/voice/calls/read'];
    const many = (n: number) => policyOf(...Array.from({ length: n }, (_, i) => perms[i % perms.length] ?? ''));
    await c.iam.v1.newApiKey.create({ accountSid: emu.accountSid, keyType: 'restricted', policy: many(100) });
    expect(await create({ keyType: 'restricted', policy: many(101) })).toMatchObject({ status: 400, code: 70001 });
    const fake = await create({ keyType: 'restricted', policy: policyOf('/twilio/fakepermission/doesnotexist') });
    expect(fake).toMatchObject({
      status: 400,
      code: 70002,
      message: "assertion '/twilio/fakepermission/doesnotexist' is invalid",
    });
    expect(await create({ keyType: 'restricted', policy: '{"allow": [' })).toMatchObject({ status: 400, code: 70001 });
    expect(await create({ keyType: 'restricted' })).toMatchObject({ status: 400, code: 70001 });
    expect(await create({ keyType: 'standard' })).toMatchObject({ status: 400, code: 70001 });
    const badAccount = await restError(c.iam.v1.newApiKey.create({ accountSid: 'ACnope' }));
    expect([badAccount.status, badAccount.code]).toEqual([400, 70002]);
    const badSid = await restError(c.iam.v1.apiKey('SKnope').fetch());
    expect([badSid.status, badSid.code]).toEqual([400, 70002]);
    const missing = await raw('/v1/Keys');
    expect(missing.body).toMatchObject({ status: 400, code: 20001 });
    expect(emu.listKeys()).toHaveLength(2);
  });
});

describe('2010 keys and account', () => {
  it('creates (silently standard), lists, fetches and deletes keys', async () => {
    const account = accountClient().api.v2010.accounts(emu.accountSid);
    const created = await account.newKeys.create({ friendlyName: 'legacy' });
    expect(created.secret).toMatch(/^[A-Za-z0-9]{32}$/);
    const viaForm = await raw(`/2010-04-01/Accounts/${emu.accountSid}/Keys.json`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'FriendlyName=r&KeyType=restricted&Policy=%7B%7D',
    });
    expect(viaForm.res.status).toBe(201);
    expect(emu.listKeys().map((k) => k.type)).toEqual(['standard', 'standard']);
    for (let i = 0; i < 3; i++) emu.seedKey({ type: 'standard' });
    expect(await account.keys.list({ pageSize: 2 })).toHaveLength(5);
    expect((await account.keys(created.sid).fetch()).friendlyName).toBe('legacy');
    expect(await account.keys(created.sid).remove()).toBe(true);
    expect((await restError(account.keys(created.sid).fetch())).status).toBe(404);
  });

  it('fetches the account with the Account SID, either token, or a Main key', async () => {
    const fetched = await accountClient().api.v2010.accounts(emu.accountSid).fetch();
    expect(fetched.sid).toBe(emu.accountSid);
    expect(fetched.authToken).toBe(emu.authToken());
    const mainKey = emu.seedKey({ type: 'main' });
    expect((await keyClient(mainKey).api.v2010.accounts(emu.accountSid).fetch()).status).toBe('active');
    const malformed = await restError(accountClient().api.v2010.accounts('ACbad').fetch());
    expect([malformed.status, malformed.code]).toEqual([404, 20404]);
  });

  it('keeps subaccounts apart: each has its own token and keys', async () => {
    const sub = emu.addAccount({ parentSid: emu.accountSid });
    const subClient = client(sub.sid, sub.authToken, sub.sid);
    await subClient.iam.v1.newApiKey.create({ accountSid: sub.sid, friendlyName: 'sub' });
    expect(emu.listKeys(sub.sid)).toHaveLength(1);
    expect(emu.listKeys()).toHaveLength(0);
    expect((await subClient.api.v2010.accounts(sub.sid).fetch()).ownerAccountSid).toBe(emu.accountSid);
    const cross = await restError(accountClient().iam.v1.getApiKeys.list({ accountSid: sub.sid }));
    expect([cross.status, cross.code]).toEqual([401, 20003]);
  });
});

describe('subaccounts', () => {
  const at = (minutes: number) => {
    clockMs = T0 + minutes * 60_000;
  };

  it('lists the account and subaccounts, filtered by FriendlyName and Status across pages', async () => {
    const c = accountClient();
    const made: string[] = [];
    for (const [i, name] of ['alpha', 'beta', 'gamma', 'beta'].entries()) {
      at(i + 1);
      made.push((await c.api.v2010.accounts.create({ friendlyName: name })).sid);
    }
    await c.api.v2010.accounts(made[1]!).update({ status: 'suspended' });
    await c.api.v2010.accounts(made[2]!).update({ status: 'closed' });

    const all = await c.api.v2010.accounts.list();
    expect(all.map((a) => a.sid)).toEqual([emu.accountSid, ...made]);
    expect(all.map((a) => a.ownerAccountSid)).toEqual(Array(5).fill(emu.accountSid));
    expect(all.map((a) => a.status)).toEqual(['active', 'active', 'suspended', 'closed', 'active']);
    expect((await c.api.v2010.accounts.list({ friendlyName: 'beta' })).map((a) => a.sid)).toEqual([made[1], made[3]]);
    expect((await c.api.v2010.accounts.list({ status: 'closed' })).map((a) => a.sid)).toEqual([made[2]]);
    expect(await c.api.v2010.accounts.list({ friendlyName: 'beta', status: 'active' })).toHaveLength(1);

    const first = await raw('/2010-04-01/Accounts.json?Status=active&PageSize=2');
    expect(first.body).toMatchObject({ page: 0, page_size: 2, start: 0, end: 1, previous_page_uri: null });
    expect((first.body?.accounts as { sid: string }[]).map((a) => a.sid)).toEqual([emu.accountSid, made[0]]);
    const next = String(first.body?.next_page_uri);
    expect(next).toMatch(/^\/2010-04-01\/Accounts\.json\?Status=active&PageSize=2&Page=1&PageToken=PT2$/);
    const second = await raw(next);
    expect((second.body?.accounts as { sid: string }[]).map((a) => a.sid)).toEqual([made[3]]);
    expect(second.body).toMatchObject({ next_page_uri: null, page: 1, start: 2 });

    emu.controls.reset();
    const paged = await c.api.v2010.accounts.list({ status: 'active', pageSize: 1 });
    expect(paged.map((a) => a.sid)).toEqual([emu.accountSid, made[0], made[3]]);
    expect(emu.controls.log.map((e) => e.operation)).toEqual(['ListAccounts', 'ListAccounts', 'ListAccounts']);
    expect(await raw('/2010-04-01/Accounts.json?Status=frozen')).toMatchObject({ body: { status: 400, code: 20001 } });

    const sub = emu.addAccount({ parentSid: emu.accountSid });
    expect((await client(sub.sid, sub.authToken, sub.sid).api.v2010.accounts.list()).map((a) => a.sid)).toEqual([
      sub.sid,
    ]);
    expect(emu.listSubaccounts().map((a) => a.sid)).toEqual([...made, sub.sid]);
  });

  it('creates a subaccount with its own working Auth Token, a default name, and the documented limits', async () => {
    at(75);
    const created = await accountClient().api.v2010.accounts.create();
    expect(created).toMatchObject({
      friendlyName: 'SubAccount Created at 2026-01-02 04:19 am',
      status: 'active',
      ownerAccountSid: emu.accountSid,
      type: 'Full',
    });
    expect(created.authToken).toMatch(/^[0-9a-f]{32}$/);
    expect(created.dateCreated.getTime()).toBe(T0 + 75 * 60_000);
    expect(emu.account(created.sid)).toMatchObject({ ownerAccountSid: emu.accountSid, status: 'active' });
    const own = client(created.sid, created.authToken, created.sid);
    expect((await own.api.v2010.accounts(created.sid).fetch()).authToken).toBe(created.authToken);
    expect(emu.issuedSecrets()).toContain(created.authToken);

    expect(await restError(own.api.v2010.accounts.create({ friendlyName: 'nested' }))).toMatchObject({
      status: 400,
      code: 21101,
    });
    expect(await restError(accountClient().api.v2010.accounts.create({ friendlyName: 'x'.repeat(65) }))).toMatchObject({
      status: 400,
      code: 70001,
    });
    const viaMain = await keyClient(emu.seedKey({ type: 'main' })).api.v2010.accounts.create({ friendlyName: 'm' });
    expect(viaMain.authToken).toBe('');
    for (const type of ['standard', 'restricted'] as const) {
      const key = emu.seedKey(
        type === 'restricted' ? { type, policy: policyOf('/twilio/iam/accounts/list') } : { type },
      );
      expect(await restError(keyClient(key).api.v2010.accounts.create())).toMatchObject({ status: 401, code: 20003 });
    }
    expect(emu.listSubaccounts().map((a) => a.friendlyName)).toEqual([created.friendlyName, 'm']);

    const small = await startTwilioEmulator({ maxSubaccounts: 1 });
    try {
      const c = createTwilioClient(
        { username: small.accountSid, password: small.authToken(), accountSid: small.accountSid },
        { baseUrl: small.url, timeoutMs: 3000 },
      );
      await c.api.v2010.accounts.create({ friendlyName: 'one' });
      expect(await restError(c.api.v2010.accounts.create({ friendlyName: 'two' }))).toMatchObject({
        status: 400,
        code: 21480,
      });
      expect(small.listSubaccounts()).toHaveLength(1);
    } finally {
      await small.close();
    }
  });

  it("parent SID + Auth Token reach a subaccount's 2010 resources, not IAM v1; parent API keys neither", async () => {
    const sub = emu.addAccount({ parentSid: emu.accountSid, friendlyName: 'tenant' });
    const parent = accountClient();
    const onSub = parent.api.v2010.accounts(sub.sid);
    expect((await onSub.fetch()).authToken).toBe(sub.authToken);
    expect(await onSub.messages.list({ pageSize: 1 })).toEqual([]);
    expect(await onSub.incomingPhoneNumbers.list({ pageSize: 1 })).toEqual([]);
    const legacy = await onSub.newKeys.create({ friendlyName: 'made-by-parent' });
    expect(emu.listKeys(sub.sid).map((k) => k.sid)).toEqual([legacy.sid]);
    expect((await onSub.keys.list()).map((k) => k.sid)).toEqual([legacy.sid]);
    expect((await onSub.update({ friendlyName: 'renamed' })).friendlyName).toBe('renamed');

    expect(await restError(parent.iam.v1.getApiKeys.list({ accountSid: sub.sid }))).toMatchObject({
      status: 401,
      code: 20003,
    });
    expect(await restError(parent.iam.v1.newApiKey.create({ accountSid: sub.sid }))).toMatchObject({
      status: 401,
      code: 20003,
    });
    expect(await restError(parent.iam.v1.apiKey(legacy.sid).fetch())).toMatchObject({ status: 404, code: 20404 });

    const main = keyClient(emu.seedKey({ type: 'main' }));
    expect((await main.api.v2010.accounts.list()).map((a) => a.sid)).toEqual([emu.accountSid, sub.sid]);
    expect((await main.api.v2010.accounts(sub.sid).update({ friendlyName: 'by-main-key' })).friendlyName).toBe(
      'by-main-key',
    );
    const mainOnSub = main.api.v2010.accounts(sub.sid);
    for (const error of await Promise.all(
      [mainOnSub.fetch(), mainOnSub.messages.list({ pageSize: 1 }), mainOnSub.keys.list()].map(restError),
    )) {
      expect(error).toMatchObject({ status: 404, code: 20404 });
    }

    const sibling = emu.addAccount({ parentSid: emu.accountSid });
    const subClient = client(sub.sid, sub.authToken, sub.sid);
    for (const error of await Promise.all(
      [
        subClient.api.v2010.accounts(emu.accountSid).fetch(),
        subClient.api.v2010.accounts(emu.accountSid).messages.list({ pageSize: 1 }),
        subClient.api.v2010.accounts(sibling.sid).fetch(),
        subClient.api.v2010.accounts(sibling.sid).keys.list(),
        subClient.api.v2010.accounts(emu.accountSid).update({ friendlyName: 'hijack' }),
      ].map(restError),
    )) {
      expect(error).toMatchObject({ status: 401, code: 20003 });
    }
    expect(emu.account().friendlyName).not.toBe('hijack');
  });

  it("a suspended subaccount's credentials stop until the parent reactivates it; the parent reads it", async () => {
    const sub = emu.addAccount({ parentSid: emu.accountSid });
    const key = emu.seedKey({ accountSid: sub.sid, type: 'standard' });
    const byToken = client(sub.sid, sub.authToken, sub.sid);
    const byKey = keyClient(key, sub.sid);
    expect(await byKey.api.v2010.accounts(sub.sid).messages.list({ pageSize: 1 })).toEqual([]);
    expect(await restError(byToken.api.v2010.accounts(sub.sid).update({ status: 'suspended' }))).toMatchObject({
      status: 401,
      code: 20003,
    });

    at(5);
    const suspended = await accountClient().api.v2010.accounts(sub.sid).update({ status: 'suspended' });
    expect(suspended.status).toBe('suspended');
    expect(suspended.dateUpdated.getTime()).toBe(T0 + 5 * 60_000);
    expect(emu.account(sub.sid).status).toBe('suspended');
    // Every call's rejection is handled from the start: awaited one by one, a later call that
    // fails first would be an unhandled rejection.
    const errors = await Promise.all(
      [
        byToken.api.v2010.accounts(sub.sid).fetch(),
        byToken.iam.v1.getApiKeys.list({ accountSid: sub.sid }),
        byToken.accounts.v1.secondaryAuthToken().create(),
        byKey.api.v2010.accounts(sub.sid).messages.list({ pageSize: 1 }),
        accountClient().api.v2010.accounts(sub.sid).messages.list({ pageSize: 1 }),
      ].map(restError),
    );
    for (const error of errors) expect(error).toMatchObject({ status: 401, code: 20003 });
    expect((await accountClient().api.v2010.accounts(sub.sid).fetch()).status).toBe('suspended');

    const reactivated = await accountClient().api.v2010.accounts(sub.sid).update({ status: 'active' });
    expect(reactivated.status).toBe('active');
    expect((await byToken.api.v2010.accounts(sub.sid).fetch()).status).toBe('active');
    expect(await byKey.api.v2010.accounts(sub.sid).messages.list({ pageSize: 1 })).toEqual([]);
  });

  it('closing is permanent: credentials stop, every later update is 21479, and the account stays listed', async () => {
    const sub = emu.addAccount({ parentSid: emu.accountSid, friendlyName: 'gone' });
    const parent = accountClient();
    expect((await parent.api.v2010.accounts(sub.sid).update({ status: 'closed' })).status).toBe('closed');
    expect(await restError(client(sub.sid, sub.authToken, sub.sid).api.v2010.accounts(sub.sid).fetch())).toMatchObject({
      status: 401,
      code: 20003,
    });
    for (const update of [{ status: 'active' as const }, { status: 'suspended' as const }, { friendlyName: 'back' }]) {
      expect(await restError(parent.api.v2010.accounts(sub.sid).update(update))).toMatchObject({
        status: 400,
        code: 21479,
      });
    }
    expect((await parent.api.v2010.accounts.list({ status: 'closed' })).map((a) => a.friendlyName)).toEqual(['gone']);
    expect((await parent.api.v2010.accounts(sub.sid).fetch()).status).toBe('closed');
  });

  it('refuses Status changes on a main account (21477) and statuses outside the enum (21475)', async () => {
    const parent = accountClient();
    expect(await restError(parent.api.v2010.accounts(emu.accountSid).update({ status: 'suspended' }))).toMatchObject({
      status: 400,
      code: 21477,
    });
    expect((await parent.api.v2010.accounts(emu.accountSid).update({ friendlyName: 'Main' })).friendlyName).toBe(
      'Main',
    );
    const sub = emu.addAccount({ parentSid: emu.accountSid });
    for (const value of ['1', 'paused', 'Active']) {
      const res = await raw(`/2010-04-01/Accounts/${sub.sid}.json`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `Status=${value}`,
      });
      expect([res.res.status, res.body?.code]).toEqual([400, 21475]);
    }
    expect(emu.account(sub.sid).status).toBe('active');
    expect(emu.account().status).toBe('active');
  });

  it('a suspended main account suspends its subaccounts, and reactivating it restores them', async () => {
    const sub = emu.addAccount({ parentSid: emu.accountSid });
    const subClient = client(sub.sid, sub.authToken, sub.sid);
    emu.setAccountStatus(emu.accountSid, 'suspended');
    expect(await restError(accountClient().api.v2010.accounts(emu.accountSid).fetch())).toMatchObject({
      status: 401,
      code: 20003,
    });
    expect(await restError(subClient.api.v2010.accounts(sub.sid).fetch())).toMatchObject({ status: 401, code: 20003 });
    expect(emu.account(sub.sid).status).toBe('active');
    emu.setAccountStatus(emu.accountSid, 'active');
    expect((await subClient.api.v2010.accounts(sub.sid).fetch()).status).toBe('active');
    expect(() => emu.setAccountStatus(emu.accountSid, 'paused' as never)).toThrow(/no account status/);
    expect(() => emu.addAccount({ parentSid: sub.sid })).toThrow(/cannot own subaccounts/);
  });

  it('answers 409/20409 to an update that overlapped another change to the same account (9.0.0)', async () => {
    const sub = emu.addAccount({ parentSid: emu.accountSid });
    emu.controls.latencyMs = 100;
    const parent = accountClient();
    const results = await Promise.allSettled([
      parent.api.v2010.accounts(sub.sid).update({ friendlyName: 'first' }),
      parent.api.v2010.accounts(sub.sid).update({ friendlyName: 'second' }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect([won.length, lost.length]).toEqual([1, 1]);
    expect(lost[0]?.reason).toMatchObject({
      status: 409,
      code: 20409,
      message: 'The account was modified by another request. Please refresh and retry.',
    });
    expect(emu.account(sub.sid).friendlyName).toBe(won[0]?.value.friendlyName);
    emu.controls.latencyMs = 0;
    await parent.api.v2010.accounts(sub.sid).update({ friendlyName: 'third' });
    await parent.api.v2010.accounts(sub.sid).update({ status: 'suspended' });
    expect(emu.account(sub.sid)).toMatchObject({ friendlyName: 'third', status: 'suspended' });
  });

  it('limits concurrency per account: one account, every account, and lifted', async () => {
    const sub = emu.addAccount({ parentSid: emu.accountSid });
    const mainPath = `/2010-04-01/Accounts/${emu.accountSid}/Messages.json`;
    const subPath = `/2010-04-01/Accounts/${sub.sid}/Messages.json`;
    const asSub = { auth: [sub.sid, sub.authToken] as [string, string] };
    const pair = async (path: string, init: Parameters<typeof raw>[1] = {}) =>
      (await Promise.all([raw(path, init), raw(path, init)])).map((r) => r.res.status).sort();
    emu.controls.latencyMs = 100;

    emu.setConcurrencyLimit(1, sub.sid);
    expect(await pair(subPath, asSub)).toEqual([200, 429]);
    expect(await pair(mainPath)).toEqual([200, 200]);
    // The parent's requests on the subaccount count against the parent, whose credential it is.
    expect(await pair(subPath)).toEqual([200, 200]);

    emu.setConcurrencyLimit(1);
    expect(await pair(mainPath)).toEqual([200, 429]);
    expect(await pair(subPath, asSub)).toEqual([200, 429]);
    emu.setConcurrencyLimit(undefined, sub.sid);
    expect(await pair(subPath, asSub)).toEqual([200, 200]);
    expect(await pair(mainPath)).toEqual([200, 429]);

    emu.setConcurrencyLimit(3, sub.sid);
    emu.setConcurrencyLimit(undefined);
    expect(await pair(mainPath)).toEqual([200, 200]);
    expect(await pair(subPath, asSub)).toEqual([200, 200]);
    expect(() => emu.setConcurrencyLimit(0)).toThrow(RangeError);
    expect(() => emu.setConcurrencyLimit(1, `AC${'0'.repeat(32)}`)).toThrow(/no account/);
  });
});

describe('auth tokens', () => {
  it('creates a secondary that authenticates, promotes it, and rejects the old primary', async () => {
    const oldToken = emu.authToken();
    const secondary = await accountClient().accounts.v1.secondaryAuthToken().create();
    expect(secondary.secondaryAuthToken).toMatch(/^[0-9a-f]{32}$/);
    expect(secondary.dateCreated.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    const raw2 = await raw('/v1/AuthTokens/Secondary', { method: 'DELETE' });
    expect(raw2.res.status).toBe(204);
    const again = await accountClient().accounts.v1.secondaryAuthToken().create();
    const bySecondary = client(emu.accountSid, again.secondaryAuthToken);
    expect((await bySecondary.api.v2010.accounts(emu.accountSid).fetch()).sid).toBe(emu.accountSid);

    const promoted = await accountClient().accounts.v1.authTokenPromotion().update();
    expect(promoted.authToken).toBe(again.secondaryAuthToken);
    expect(emu.authToken()).toBe(again.secondaryAuthToken);
    const stale = await restError(client(emu.accountSid, oldToken).api.v2010.accounts(emu.accountSid).fetch());
    expect([stale.status, stale.code]).toEqual([401, 20003]);
    expect((await bySecondary.api.v2010.accounts(emu.accountSid).fetch()).authToken).toBe(again.secondaryAuthToken);
  });

  it('answers the documented errors for missing or duplicate secondaries', async () => {
    const c = accountClient();
    const promote = await restError(c.accounts.v1.authTokenPromotion().update());
    expect(promote).toMatchObject({
      status: 404,
      code: 20404,
      message: 'The requested resource /AuthTokens/Promote was not found',
    });
    expect(await restError(c.accounts.v1.secondaryAuthToken().remove())).toMatchObject({ status: 404, code: 20404 });
    await c.accounts.v1.secondaryAuthToken().create();
    expect(await restError(c.accounts.v1.secondaryAuthToken().create())).toMatchObject({ status: 400, code: 70002 });
    expect(await c.accounts.v1.secondaryAuthToken().remove({ suppressEmailNotification: true })).toBe(true);
  });

  it('takes SuppressEmailNotification as a boolean in the form or, on DELETE, the query (9.0.0)', async () => {
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const bad = await raw('/v1/AuthTokens/Secondary', {
      method: 'POST',
      headers: form,
      body: 'SuppressEmailNotification=yes',
    });
    expect([bad.res.status, bad.body?.code]).toEqual([400, 20001]);
    const made = await raw('/v1/AuthTokens/Secondary', {
      method: 'POST',
      headers: form,
      body: 'SuppressEmailNotification=true',
    });
    expect(made.res.status).toBe(201);
    const badDelete = await raw('/v1/AuthTokens/Secondary?SuppressEmailNotification=1', { method: 'DELETE' });
    expect([badDelete.res.status, badDelete.body?.code]).toEqual([400, 20001]);
    expect(
      (await raw('/v1/AuthTokens/Secondary?SuppressEmailNotification=false', { method: 'DELETE' })).res.status,
    ).toBe(204);
  });
});

describe('credential kinds', () => {
  it('lets Standard keys read data lists but answers 401/20003 on keys, account and tokens', async () => {
    const std = keyClient(emu.seedKey({ type: 'standard' }));
    const account = std.api.v2010.accounts(emu.accountSid);
    expect(await account.incomingPhoneNumbers.list({ pageSize: 1 })).toEqual([]);
    expect(await account.messages.list({ pageSize: 1 })).toEqual([]);
    for (const error of await Promise.all(
      [
        std.iam.v1.getApiKeys.list({ accountSid: emu.accountSid }),
        std.iam.v1.newApiKey.create({ accountSid: emu.accountSid }),
        account.keys.list(),
        account.fetch(),
        std.accounts.v1.secondaryAuthToken().create(),
      ].map(restError),
    )) {
      expect(error).toMatchObject({ status: 401, code: 20003 });
    }
  });

  it('lets Main keys and account credentials list data and manage keys', async () => {
    for (const c of [accountClient(), keyClient(emu.seedKey({ type: 'main' }))]) {
      expect(await c.api.v2010.accounts(emu.accountSid).messages.list({ pageSize: 1 })).toEqual([]);
      expect(await c.api.v2010.accounts(emu.accountSid).incomingPhoneNumbers.list({ pageSize: 1 })).toEqual([]);
      await c.iam.v1.newApiKey.create({ accountSid: emu.accountSid });
    }
    expect(emu.listKeys().filter((k) => k.type === 'standard')).toHaveLength(2);
    const main = keyClient(emu.seedKey({ type: 'main' }));
    const secondary = await main.accounts.v1.secondaryAuthToken().create();
    expect((await main.accounts.v1.authTokenPromotion().update()).authToken).toBe(secondary.secondaryAuthToken);
  });

  it('enforces a Restricted policy, with read and list as separate permissions', async () => {
    const reader = emu.seedKey({
      type: 'restricted',
      policy: policyOf('/twilio/messaging/messages/read', '/twilio/iam/api-keys/read'),
    });
    const c = keyClient(reader);
    const messages = await restError(c.api.v2010.accounts(emu.accountSid).messages.list({ pageSize: 1 }));
    expect(messages).toMatchObject({
      status: 401,
      code: 70051,
      message: 'Authorization Error: required permission twilio/messaging/messages/list is missing',
    });
    expect((await c.iam.v1.apiKey(reader.sid).fetch()).policy?.allow).toContain('/twilio/iam/api-keys/read');
    expect(await restError(c.iam.v1.getApiKeys.list({ accountSid: emu.accountSid }))).toMatchObject({
      status: 401,
      code: 70051,
    });
    expect(await restError(c.api.v2010.accounts(emu.accountSid).incomingPhoneNumbers.list())).toMatchObject({
      status: 401,
      code: 70051,
    });
    expect(await restError(c.accounts.v1.secondaryAuthToken().create())).toMatchObject({ status: 401, code: 20003 });

    const lister = keyClient(
      emu.seedKey({
        type: 'restricted',
        policy: policyOf('/twilio/messaging/messages/list', '/twilio/numbers/incoming-phone-numbers/list'),
      }),
    );
    expect(await lister.api.v2010.accounts(emu.accountSid).messages.list({ pageSize: 1 })).toEqual([]);
    expect(await lister.api.v2010.accounts(emu.accountSid).incomingPhoneNumbers.list({ pageSize: 1 })).toEqual([]);
  });

  it('lets a Restricted key with /twilio/iam/api-keys/* manage keys', async () => {
    const admin = keyClient(emu.seedKey({ type: 'restricted', policy: policyOf('/twilio/iam/api-keys/*') }));
    const created = await admin.iam.v1.newApiKey.create({ accountSid: emu.accountSid, friendlyName: 'next' });
    expect(await admin.iam.v1.getApiKeys.list({ accountSid: emu.accountSid })).toHaveLength(2);
    expect((await admin.iam.v1.apiKey(created.sid).update({ friendlyName: 'renamed' })).friendlyName).toBe('renamed');
    expect(await admin.iam.v1.apiKey(created.sid).remove()).toBe(true);
    expect(await restError(admin.api.v2010.accounts(emu.accountSid).fetch())).toMatchObject({
      status: 401,
      code: 70051,
    });
  });
});

describe('faults, throttling and the request log', () => {
  it('answers 429/20429 with Twilio-Concurrent-Requests above the concurrency limit', async () => {
    emu.setConcurrencyLimit(1);
    emu.controls.latencyMs = 100;
    const path = `/2010-04-01/Accounts/${emu.accountSid}/Messages.json`;
    const [a, b] = await Promise.all([raw(path), raw(path)]);
    const statuses = [a.res.status, b.res.status].sort();
    expect(statuses).toEqual([200, 429]);
    const throttled = a.res.status === 429 ? a : b;
    expect(throttled.body).toMatchObject({ code: 20429, status: 429 });
    expect(throttled.res.headers.get('twilio-concurrent-requests')).toBe('2');

    const c = accountClient();
    const results = await Promise.allSettled([
      c.iam.v1.getApiKeys.list({ accountSid: emu.accountSid }),
      c.iam.v1.getApiKeys.list({ accountSid: emu.accountSid }),
    ]);
    const rejected = results.find((r) => r.status === 'rejected');
    expect(rejected?.reason).toMatchObject({ status: 429, code: 20429 });
    emu.setConcurrencyLimit(undefined);
    await Promise.all([raw(path), raw(path)]).then((rs) => expect(rs.map((r) => r.res.status)).toEqual([200, 200]));
  });

  it('applies server-error, throttle, drop and slow faults before any state change', async () => {
    emu.controls.setFaults({ sequence: ['server-error', 'throttle', 'drop', 'slow'], slowMs: 60 });
    const c = accountClient();
    const create = () => c.iam.v1.newApiKey.create({ accountSid: emu.accountSid });
    expect(await restError(create())).toMatchObject({ status: 500, code: 20500 });
    expect(await restError(create())).toMatchObject({ status: 429, code: 20429 });
    const dropped: unknown = await create().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(dropped).toBeInstanceOf(Error);
    expect(dropped).not.toBeInstanceOf(twilio.RestException);
    expect(emu.listKeys()).toHaveLength(0);
    const started = Date.now();
    await create();
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(emu.listKeys()).toHaveLength(1);
    expect(emu.controls.log.map((e) => [e.fault, e.status])).toEqual([
      ['server-error', 500],
      ['throttle', 429],
      ['drop', undefined],
      ['slow', 201],
    ]);
  });

  it('logs operation and SID only, never a secret, and serves the log over the control route', async () => {
    const c = accountClient();
    const key = await c.iam.v1.newApiKey.create({ accountSid: emu.accountSid });
    await keyClient(key).api.v2010.accounts(emu.accountSid).messages.list({ pageSize: 1 });
    await c.accounts.v1.secondaryAuthToken().create();
    await c.accounts.v1.authTokenPromotion().update();
    const log = emu.controls.log;
    expect(log.map((e) => [e.operation, e.credential, e.status, e.mutating])).toEqual([
      ['CreateKey', emu.accountSid, 201, true],
      ['ListMessages', key.sid, 200, false],
      ['CreateSecondaryAuthToken', emu.accountSid, 201, true],
      ['PromoteAuthToken', emu.accountSid, 200, true],
    ]);
    const served = await (await fetch(`${emu.url}/__emulator/requests`)).text();
    expect(JSON.parse(served)).toHaveLength(4);
    // The start-up token, the key secret and the secondary; promotion issues nothing new.
    expect(emu.issuedSecrets()).toHaveLength(3);
    for (const secret of emu.issuedSecrets()) expect(served).not.toContain(secret);
  });

  it('lets a response mutator corrupt one operation and lists every operation name', async () => {
    const key = emu.seedKey({ type: 'standard', friendlyName: 'real' });
    emu.setResponseMutator('FetchKey', (body: { friendly_name: string }) => ({ ...body, friendly_name: 'corrupt' }));
    expect((await accountClient().iam.v1.apiKey(key.sid).fetch()).friendlyName).toBe('corrupt');
    emu.setResponseMutator('FetchKey', undefined);
    expect((await accountClient().iam.v1.apiKey(key.sid).fetch()).friendlyName).toBe('real');
    expect(new Set(emu.controls.log.map((e) => e.operation))).toEqual(new Set(['FetchKey']));
    expect(TWILIO_OPERATIONS).toHaveLength(24);
  });
});

describe('wire-level errors', () => {
  it('answers malformed requests with Twilio-style errors and a request id', async () => {
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const cases = [
      {
        path: '/v1/Keys',
        init: { method: 'POST', headers: form, body: `AccountSid=${emu.accountSid}&FriendlyName=%ZZ` },
        status: 400,
        code: 20001,
      },
      {
        path: '/v1/Keys',
        init: { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"AccountSid":1}' },
        status: 400,
        code: 20001,
      },
      {
        path: '/v1/Keys',
        init: { method: 'POST', headers: form, body: `AccountSid=${emu.accountSid}&KeyType=restricted&Policy=nope` },
        status: 400,
        code: 70001,
      },
      { path: `/v1/Keys?AccountSid=${emu.accountSid}&PageSize=0`, init: {}, status: 400, code: 20001 },
      { path: '/v1/Nothing', init: {}, status: 404, code: 20404 },
      { path: '/v1/Keys', init: { method: 'PUT' }, status: 405, code: 20004 },
      { path: '/v1/Keys', init: { auth: [emu.accountSid, 'wrong'] as [string, string] }, status: 401, code: 20003 },
    ];
    for (const { path, init, status, code } of cases) {
      const { res, body } = await raw(path, init);
      expect([res.status, body?.code, body?.status]).toEqual([status, code, status]);
      expect(body?.more_info).toBe(`https://www.twilio.com/docs/errors/${code}`);
      expect(res.headers.get('twilio-request-id')).toMatch(/^RQ[0-9a-f]{32}$/);
    }
    const noAuth = await fetch(`${emu.url}/v1/AuthTokens/Promote`, { method: 'POST' });
    expect(noAuth.status).toBe(401);
    const garbled = await fetch(`${emu.url}/v1/AuthTokens/Promote`, {
      method: 'POST',
      headers: { Authorization: 'Basic !!!' },
    });
    expect(((await garbled.json()) as { code: number }).code).toBe(20003);
    expect(emu.listKeys()).toEqual([]);
  });
});
