import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTwilioClient, type TwilioClient } from '../support/twilio-client.js';
import { oauthVerifier, twilioOAuthApps } from '../../src/adapters/twilio/oauth-apps.js';
import { startTwilioEmulator, TWILIO_OPERATIONS, type TwilioEmulator } from '../emulators/twilio/index.js';
import { startPrism, type PrismProxy } from './prism.js';

/**
 * The emulator and our requests against Twilio's own OpenAPI definitions (@twilio/cli-core 9.0.0,
 * trimmed by scripts/vendor-twilio-specs.mjs). Every call goes through a Prism validating proxy per
 * product; a request or response that breaks the definition fails the call, and any violation Prism
 * logs (warnings included) fails the suite.
 */

const SPECS = 'test/fixtures/twilio-openapi';
let emulator: TwilioEmulator;
let prisms: Record<'iam' | 'accounts' | 'api' | 'oauth', PrismProxy>;
let admin: TwilioClient;

const violations = () =>
  Object.entries(prisms)
    .flatMap(([name, p]) =>
      p
        .output()
        .split('\n')
        .map((line) => `${name}: ${line}`),
    )
    .filter((line) => /violation|⚠|✖/i.test(line));

function client(username: string, password: string): TwilioClient {
  return createTwilioClient(
    { username, password, accountSid: emulator.accountSid },
    { baseUrl: { iam: prisms.iam.url, accounts: prisms.accounts.url, api: prisms.api.url } },
  );
}

beforeAll(async () => {
  emulator = await startTwilioEmulator();
  const [iam, accounts, api, oauth] = await Promise.all([
    startPrism(`${SPECS}/twilio_iam_v1.json`, emulator.url),
    startPrism(`${SPECS}/twilio_accounts_v1.json`, emulator.url),
    startPrism(`${SPECS}/twilio_api_v2010.json`, emulator.url),
    startPrism(`${SPECS}/twilio_oauth_v2.json`, emulator.url),
  ]);
  prisms = { iam, accounts, api, oauth };
  admin = client(emulator.accountSid, emulator.authToken());
}, 90_000);

afterAll(async () => {
  await Promise.all(Object.values(prisms ?? {}).map((p) => p.close()));
  await emulator?.close();
});

describe('Twilio contract (official OpenAPI definitions, through Prism)', () => {
  it('IAM v1 keys: create Standard and Restricted, list across pages, fetch, update, delete', async () => {
    const ac = emulator.accountSid;
    const standard = await admin.iam.v1.newApiKey.create({ accountSid: ac, friendlyName: 'contract-standard' });
    const restricted = await admin.iam.v1.newApiKey.create({
      accountSid: ac,
      friendlyName: 'contract-restricted',
      keyType: 'restricted',
      policy: { allow: ['/twilio/messaging/messages/list'] },
    });
    expect(restricted.policy).toEqual({ allow: ['/twilio/messaging/messages/list'] });
    const listed = await admin.iam.v1.getApiKeys.list({ accountSid: ac, pageSize: 1 });
    expect(listed.map((k) => k.sid)).toEqual(expect.arrayContaining([standard.sid, restricted.sid]));
    expect((await admin.iam.v1.apiKey(standard.sid).fetch()).policy).toBeNull();
    const updated = await admin.iam.v1
      .apiKey(restricted.sid)
      .update({ friendlyName: 'renamed', policy: { allow: ['/twilio/messaging/messages/read'] } });
    expect(updated.policy).toEqual({ allow: ['/twilio/messaging/messages/read'] });
    expect(await admin.iam.v1.apiKey(standard.sid).remove()).toBe(true);
    expect(await admin.iam.v1.apiKey(restricted.sid).remove()).toBe(true);
  });

  it('2010 keys and account: create, list, fetch, delete; fetch the account', async () => {
    const ac = emulator.accountSid;
    const key = await admin.api.v2010.accounts(ac).newKeys.create({ friendlyName: 'contract-2010' });
    expect((await admin.api.v2010.accounts(ac).keys.list()).map((k) => k.sid)).toContain(key.sid);
    expect((await admin.api.v2010.accounts(ac).keys(key.sid).fetch()).friendlyName).toBe('contract-2010');
    expect(await admin.api.v2010.accounts(ac).keys(key.sid).remove()).toBe(true);
    expect((await admin.api.v2010.accounts(ac).fetch()).sid).toBe(ac);
  });

  it('2010 Accounts: create subaccounts, list with filters over pages, update, fetch with parent creds', async () => {
    const parent = admin.api.v2010.accounts;
    const a = await parent.create({ friendlyName: 'contract-sub' });
    const b = await parent.create({ friendlyName: 'contract-sub' });
    await parent.create();
    expect((await parent(b.sid).update({ status: 'suspended' })).status).toBe('suspended');
    const active = await parent.list({ friendlyName: 'contract-sub', status: 'active', pageSize: 1 });
    expect(active.map((x) => x.sid)).toEqual([a.sid]);
    expect((await parent.list({ pageSize: 2 })).map((x) => x.sid)).toEqual(
      expect.arrayContaining([emulator.accountSid, a.sid, b.sid]),
    );
    expect((await parent(a.sid).update({ friendlyName: 'renamed', status: 'closed' })).status).toBe('closed');
    expect((await parent(b.sid).fetch()).authToken).toMatch(/^[0-9a-f]{32}$/);
  });

  it('UpdateAccount 409/20409 (new in 9.0.0): an update overlapping another gets the documented conflict', async () => {
    const sub = await admin.api.v2010.accounts.create({ friendlyName: 'contract-409' });
    emulator.controls.latencyMs = 150;
    try {
      const results = await Promise.allSettled([
        admin.api.v2010.accounts(sub.sid).update({ friendlyName: 'one' }),
        admin.api.v2010.accounts(sub.sid).update({ friendlyName: 'two' }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(results.find((r) => r.status === 'rejected')?.reason).toMatchObject({ status: 409, code: 20409 });
    } finally {
      emulator.controls.latencyMs = 0;
    }
  });

  it('verification reads with a Standard key: IncomingPhoneNumbers and Messages', async () => {
    const key = emulator.seedKey({ type: 'standard' });
    const user = client(key.sid, key.secret);
    await user.api.v2010.accounts(emulator.accountSid).incomingPhoneNumbers.page({ pageSize: 1 });
    await user.api.v2010.accounts(emulator.accountSid).messages.page({ pageSize: 1 });
  });

  it('Auth Tokens: create, delete, create and promote a secondary; SuppressEmailNotification (9.0.0)', async () => {
    const created = await admin.accounts.v1.secondaryAuthToken().create({ suppressEmailNotification: true });
    expect(created.secondaryAuthToken).toMatch(/^[0-9a-f]{32}$/);
    expect(await admin.accounts.v1.secondaryAuthToken().remove({ suppressEmailNotification: true })).toBe(true);
    const again = await admin.accounts.v1.secondaryAuthToken().create();
    const promoted = await admin.accounts.v1.authTokenPromotion().update({ suppressEmailNotification: false });
    expect(promoted.authToken).toBe(again.secondaryAuthToken);
    admin = client(emulator.accountSid, emulator.authToken());
  });

  it("errors keep Twilio's body: 401/20003 for a Standard key on /v1/Keys, 404/20404 for an unknown key", async () => {
    const key = emulator.seedKey({ type: 'standard' });
    await expect(
      client(key.sid, key.secret).iam.v1.getApiKeys.list({ accountSid: emulator.accountSid }),
    ).rejects.toMatchObject({ status: 401, code: 20003 });
    await expect(admin.iam.v1.apiKey(`SK${'0'.repeat(32)}`).fetch()).rejects.toMatchObject({
      status: 404,
      code: 20404,
    });
  });

  it('9.0.0 dropped the KeyType enum: KeyType=standard passes Prism and the emulator answers 400/70001', async () => {
    await expect(
      admin.iam.v1.newApiKey.create({ accountSid: emulator.accountSid, keyType: 'standard' }),
    ).rejects.toMatchObject({ status: 400, code: 70001 });
  });

  it('OAuth apps (8.3.2, 9.0.0): create, update, delete through Prism; the token and a Bearer read', async () => {
    const retry = { attempts: 1, budgetMs: 10_000, minDelayMs: 1 };
    const http = { baseUrl: { iam: prisms.iam.url, api: prisms.api.url, oauth: prisms.oauth.url } };
    const apps = twilioOAuthApps(
      { username: emulator.accountSid, password: emulator.authToken() },
      emulator.accountSid,
      { http, retry },
    );
    const policy = { allow: ['/twilio/messaging/messages/list'] };
    const app = await apps.create({
      friendlyName: 'contract-app',
      description: 'd',
      policy,
      accessTokenTtlSeconds: 600,
    });
    const put = await fetch(`${prisms.iam.url}/v1/Account/OAuthApps/${app.sid}`, {
      method: 'PUT',
      headers: {
        authorization: `Basic ${Buffer.from(`${emulator.accountSid}:${emulator.authToken()}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ friendly_name: 'renamed', access_token_ttl: 900 }),
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ sid: app.sid, friendly_name: 'renamed', access_token_ttl: 900 });
    // The 2010 definition declares Basic auth only (Prism answers a Bearer read "Invalid security
    // scheme used"), while Twilio's token page shows Bearer on Messages.json: the token goes through
    // Prism, the Bearer read straight to the emulator (docs/oauth-apps.md).
    const api2010 = JSON.parse(readFileSync(`${SPECS}/twilio_api_v2010.json`, 'utf8'));
    expect(Object.keys(api2010.components.securitySchemes)).toEqual(['accountSid_authToken']);
    const creds = { accountSid: emulator.accountSid, clientId: app.sid, clientSecret: app.secret };
    const bearerHttp = { baseUrl: { ...http.baseUrl, api: emulator.url } };
    expect(await oauthVerifier({ http: bearerHttp, retry }).verify(creds, { kind: 'list-messages' })).toEqual({
      ok: true,
    });
    expect(await apps.remove(app.sid)).toBe('deleted');
  });

  it('OAuth app fetch and list are in no definition (8.3.2, 9.0.0): docs/oauth-apps.md, not Prism', async () => {
    const iam = JSON.parse(readFileSync(`${SPECS}/twilio_iam_v1.json`, 'utf8')) as { paths: Record<string, object> };
    expect(Object.keys(iam.paths['/v1/Account/OAuthApps'] ?? {})).not.toContain('get');
    expect(Object.keys(iam.paths['/v1/Account/OAuthApps/{sid}'] ?? {})).not.toContain('get');
    const direct = twilioOAuthApps(
      { username: emulator.accountSid, password: emulator.authToken() },
      emulator.accountSid,
      { http: { baseUrl: emulator.url }, retry: { attempts: 1, budgetMs: 10_000, minDelayMs: 1 } },
    );
    const seeded = emulator.seedOAuthApp({ friendlyName: 'console', accessTokenTtlSeconds: 120 });
    expect(await direct.fetch(seeded.sid)).toMatchObject({ sid: seeded.sid, accessTokenTtlSeconds: 120 });
    expect((await direct.list()).map((a) => a.sid)).toContain(seeded.sid);
    await direct.remove(seeded.sid);
  });

  it('covers every operation the emulator serves, with no violation logged', () => {
    const covered = new Set(emulator.controls.log.map((e) => e.operation));
    expect([...covered].sort()).toEqual([...TWILIO_OPERATIONS].sort());
    // Twilio's definitions document success responses only, so Prism can check an error answer's
    // status against nothing and warns once per error answer: exactly the three made above.
    const undocumentedStatus = violations().filter((line) => line.includes('Unable to match the returned status code'));
    expect(undocumentedStatus).toHaveLength(3);
    expect(violations().filter((line) => !undocumentedStatus.includes(line))).toEqual([]);
  });

  it('bites: a response that breaks the definition fails the call', async () => {
    emulator.setResponseMutator('ListKeys', (body: any) => ({
      ...body,
      keys: body.keys.map((k: any) => ({ ...k, date_created: 12 })),
    }));
    emulator.setResponseMutator('CreateKey', (body: any) => {
      const { sid: _sid, ...rest } = body;
      return { ...rest, sid: 'not-a-sid' };
    });
    emulator.setResponseMutator('ListAccounts', (body: any) => ({
      ...body,
      accounts: body.accounts.map((a: any) => ({ ...a, status: 'frozen' })),
    }));
    try {
      await expect(admin.api.v2010.accounts.list()).rejects.toMatchObject({ status: 500 });
      await expect(admin.iam.v1.getApiKeys.list({ accountSid: emulator.accountSid })).rejects.toMatchObject({
        status: 500,
      });
      await expect(
        admin.iam.v1.newApiKey.create({ accountSid: emulator.accountSid, friendlyName: 'bite' }),
      ).rejects.toMatchObject({ status: 500 });
      expect(violations().some((line) => line.includes('Request/Response not valid'))).toBe(true);
    } finally {
      emulator.setResponseMutator('ListKeys', undefined);
      emulator.setResponseMutator('CreateKey', undefined);
      emulator.setResponseMutator('ListAccounts', undefined);
    }
  });

  it('bites: a request that breaks the definition is refused before it reaches the emulator', async () => {
    const before = emulator.controls.log.length;
    const res = await fetch(`${prisms.iam.url}/v1/Keys`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${emulator.accountSid}:${emulator.authToken()}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'FriendlyName=no-account-sid',
    });
    expect(res.status).toBe(422);
    expect(emulator.controls.log.length).toBe(before);
  });
});
