import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTwilioEmulator, type TwilioEmulator } from './twilio/index.js';

/** The emulator's account OAuth apps and token endpoint (docs/oauth-apps.md), over raw HTTP. */

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const MESSAGES = '/twilio/messaging/messages/list';

let emu: TwilioEmulator;
let clockMs = T0;

beforeEach(async () => {
  clockMs = T0;
  emu = await startTwilioEmulator({ now: () => clockMs });
});
afterEach(async () => {
  await emu.close();
});

const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
const adminAuth = () => basic(emu.accountSid, emu.authToken());

async function call(method: string, path: string, opts: { auth?: string; json?: unknown; form?: string } = {}) {
  const headers: Record<string, string> = {};
  if (opts.auth !== '') headers.Authorization = opts.auth ?? adminAuth();
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = opts.form;
  }
  const res = await fetch(emu.url + path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

const createApp = (json: Record<string, unknown>, auth?: string) =>
  call('POST', '/v1/Account/OAuthApps', { json, ...(auth ? { auth } : {}) });

async function token(clientId: string, clientSecret: string) {
  const form = new URLSearchParams({
    client_id: clientId,
    client_secret: clientSecret,
    grant_type: 'client_credentials',
  });
  return call('POST', '/v2/token', { auth: '', form: form.toString() });
}

const messages = (auth: string) =>
  call('GET', `/2010-04-01/Accounts/${emu.accountSid}/Messages.json?PageSize=1`, { auth });

describe('account OAuth apps', () => {
  it('creates an app whose secret is shown once, then fetches, lists, updates and deletes it', async () => {
    const created = await createApp({
      friendly_name: 'rotator-app',
      description: 'made by a test',
      policy: { allow: [MESSAGES] },
      access_token_ttl: 600,
    });
    expect(created.status).toBe(201);
    const app = created.body!;
    expect(app.sid).toMatch(/^OQ[0-9a-f]{32}$/);
    expect(app.secret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(app).toMatchObject({ friendly_name: 'rotator-app', status: 'ACTIVE', access_token_ttl: 600 });
    expect(app.date_created).toBe('2026-01-02T03:04:05Z');

    const fetched = await call('GET', `/v1/Account/OAuthApps/${app.sid}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).not.toHaveProperty('secret');
    expect(fetched.body!.policy).toEqual({ allow: [MESSAGES] });

    const updated = await call('PUT', `/v1/Account/OAuthApps/${app.sid}`, {
      json: { friendly_name: 'renamed', policy: { allow: ['/twilio/voice/calls/list'], deny: [MESSAGES] } },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ friendly_name: 'renamed', access_token_ttl: 600 });
    expect(updated.body!.policy).toEqual({ allow: ['/twilio/voice/calls/list'], deny: [MESSAGES] });

    expect((await call('DELETE', `/v1/Account/OAuthApps/${app.sid}`)).status).toBe(204);
    const gone = await call('GET', `/v1/Account/OAuthApps/${app.sid}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ code: 20404 });
    expect(emu.listOAuthApps()).toEqual([]);
  });

  it('lists apps oldest first across pages through absolute next_page_url values, without secrets', async () => {
    const sids: string[] = [];
    for (let i = 0; i < 5; i++) {
      clockMs = T0 + i * 1000;
      sids.push((await createApp({ friendly_name: `app-${i}`, policy: { allow: [MESSAGES] } })).body!.sid);
    }
    const seen: string[] = [];
    let next: string | null = `/v1/Account/OAuthApps?PageSize=2`;
    for (let pages = 0; next && pages < 10; pages++) {
      const page = await call('GET', next.replace(emu.url, ''));
      expect(page.status).toBe(200);
      expect(page.body!.meta.key).toBe('oauth_apps');
      for (const app of page.body!.oauth_apps) {
        expect(app).not.toHaveProperty('secret');
        seen.push(app.sid);
      }
      next = page.body!.meta.next_page_url;
      if (next) expect(next.startsWith(`${emu.url}/v1/Account/OAuthApps?`)).toBe(true);
    }
    expect(seen).toEqual(sids);
  });

  it('validates the JSON body, policy, token TTL and SID, and changes nothing when it refuses', async () => {
    const form = await call('POST', '/v1/Account/OAuthApps', { form: 'friendly_name=x' });
    expect(form).toMatchObject({ status: 400, body: { code: 20001 } });
    expect((await createApp({ friendly_name: 'no policy' })).body).toMatchObject({ code: 70001 });
    expect((await createApp({ policy: { allow: ['/twilio/nope/nothing/read'] } })).body).toMatchObject({ code: 70002 });
    expect((await createApp({ policy: { allow: [MESSAGES] }, access_token_ttl: 59 })).body).toMatchObject({
      code: 70001,
    });
    const month = 30 * 24 * 3600;
    expect((await createApp({ policy: { allow: [MESSAGES] }, access_token_ttl: month + 1 })).status).toBe(400);
    expect((await createApp({ policy: { allow: [MESSAGES] }, friendly_name: 'x'.repeat(65) })).status).toBe(400);
    expect((await call('GET', '/v1/Account/OAuthApps/OQnot-a-sid')).body).toMatchObject({ code: 70002 });
    expect(emu.listOAuthApps()).toEqual([]);
    expect((await createApp({ policy: { allow: [MESSAGES] }, access_token_ttl: month })).status).toBe(201);
  });

  it("keeps accounts apart: another account's app is not found, and a subaccount's apps are its own", async () => {
    const app = emu.seedOAuthApp({ friendlyName: 'main' });
    const sub = emu.addAccount({ parentSid: emu.accountSid });
    const subAuth = basic(sub.sid, sub.authToken);
    expect((await call('GET', `/v1/Account/OAuthApps/${app.sid}`, { auth: subAuth })).status).toBe(404);
    expect((await call('DELETE', `/v1/Account/OAuthApps/${app.sid}`, { auth: subAuth })).status).toBe(404);
    expect((await call('GET', '/v1/Account/OAuthApps', { auth: subAuth })).body!.oauth_apps).toEqual([]);
    expect(emu.listOAuthApps().map((a) => a.sid)).toEqual([app.sid]);
  });

  it('lets the account, Main keys, permitted Restricted keys and Bearer tokens manage apps', async () => {
    const main = emu.seedKey({ type: 'main' });
    const standard = emu.seedKey({ type: 'standard' });
    const allowed = emu.seedKey({ type: 'restricted', policy: { allow: ['/twilio/iam/account-oauth-apps/*'] } });
    const listOnly = emu.seedKey({ type: 'restricted', policy: { allow: ['/twilio/iam/account-oauth-apps/list'] } });
    const policy = { allow: [MESSAGES] };
    expect((await createApp({ policy }, basic(main.sid, main.secret))).status).toBe(201);
    expect((await createApp({ policy }, basic(allowed.sid, allowed.secret))).status).toBe(201);
    expect((await createApp({ policy }, basic(standard.sid, standard.secret))).body).toMatchObject({
      status: 401,
      code: 20003,
    });
    const refused = await createApp({ policy }, basic(listOnly.sid, listOnly.secret));
    expect(refused.body).toMatchObject({ status: 401, code: 70051 });

    const manager = emu.seedOAuthApp({ policy: { allow: ['/twilio/iam/account-oauth-apps/*'] } });
    const bearer = `Bearer ${(await token(manager.sid, manager.secret)).body!.access_token}`;
    expect((await call('GET', '/v1/Account/OAuthApps', { auth: bearer })).body!.oauth_apps).toHaveLength(3);
    expect((await messages(bearer)).body).toMatchObject({ status: 401, code: 70051 });
  });
});

describe('the token endpoint and Bearer access', () => {
  it("issues a Bearer token for what the app's policy allows, for its TTL on the emulator's clock", async () => {
    const app = emu.seedOAuthApp({ policy: { allow: [MESSAGES] }, accessTokenTtlSeconds: 120 });
    const issued = await token(app.sid, app.secret);
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ token_type: 'Bearer', expires_in: 120, id_token: null, refresh_token: null });
    const bearer = `Bearer ${issued.body!.access_token}`;
    expect((await messages(bearer)).status).toBe(200);
    const phoneNumbers = `/2010-04-01/Accounts/${emu.accountSid}/IncomingPhoneNumbers.json`;
    expect((await call('GET', phoneNumbers, { auth: bearer })).body).toMatchObject({ code: 70051 });
    expect((await call('GET', '/v1/Keys?AccountSid=' + emu.accountSid, { auth: bearer })).status).toBe(401);

    clockMs = T0 + 119_999;
    expect((await messages(bearer)).status).toBe(200);
    clockMs = T0 + 120_000;
    expect((await messages(bearer)).body).toMatchObject({ status: 401, code: 20003 });
  });

  it('keeps earlier tokens working after a new one, and revokes them all when the app is deleted', async () => {
    const app = emu.seedOAuthApp({});
    const first = `Bearer ${(await token(app.sid, app.secret)).body!.access_token}`;
    const second = `Bearer ${(await token(app.sid, app.secret)).body!.access_token}`;
    expect(first).not.toBe(second);
    expect((await messages(first)).status).toBe(200);
    expect((await call('DELETE', `/v1/Account/OAuthApps/${app.sid}`)).status).toBe(204);
    expect((await messages(first)).status).toBe(401);
    expect((await messages(second)).status).toBe(401);
    expect((await token(app.sid, app.secret)).body).toMatchObject({ status: 400, code: 20003 });
  });

  it('refuses a wrong secret, an unknown client, another grant type, and a suspended account', async () => {
    const app = emu.seedOAuthApp({});
    expect((await token(app.sid, 'x'.repeat(64))).body).toMatchObject({ status: 400, code: 20003 });
    expect((await token(`OQ${'0'.repeat(32)}`, app.secret)).status).toBe(400);
    const form = new URLSearchParams({ client_id: app.sid, client_secret: app.secret, grant_type: 'password' });
    expect((await call('POST', '/v2/token', { auth: '', form: form.toString() })).body).toMatchObject({ code: 20001 });
    const bearer = `Bearer ${(await token(app.sid, app.secret)).body!.access_token}`;
    emu.setAccountStatus(emu.accountSid, 'suspended');
    expect((await token(app.sid, app.secret)).status).toBe(400);
    expect((await call('GET', '/v1/Account/OAuthApps', { auth: bearer })).status).toBe(401);
  });
});

describe('faults, the request log and the sandbox state', () => {
  it('logs the operation and client ID, never a secret or token, and faults before any change', async () => {
    const app = emu.seedOAuthApp({ policy: { allow: [MESSAGES] } });
    const access = (await token(app.sid, app.secret)).body!.access_token as string;
    await messages(`Bearer ${access}`);
    emu.controls.setFaults({ sequence: ['server-error', 'throttle'], operations: ['CreateOAuthApp'] });
    const policy = { allow: [MESSAGES] };
    expect(await createApp({ policy })).toMatchObject({ status: 500, body: { code: 20500 } });
    expect(await createApp({ policy })).toMatchObject({ status: 429, body: { code: 20429 } });
    expect(emu.listOAuthApps()).toHaveLength(1);
    expect((await createApp({ policy })).status).toBe(201);

    const log = emu.controls.log;
    expect(log.map((e) => e.operation)).toEqual([
      'CreateOAuthToken',
      'ListMessages',
      'CreateOAuthApp',
      'CreateOAuthApp',
      'CreateOAuthApp',
    ]);
    expect(log[1]!.credential).toBe(app.sid);
    expect(log.filter((e) => e.operation === 'CreateOAuthApp').map((e) => e.mutating)).toEqual([true, true, true]);
    const text = JSON.stringify(log);
    for (const secret of emu.issuedSecrets()) expect(text).not.toContain(secret);
    expect(emu.issuedSecrets()).toEqual(expect.arrayContaining([app.secret, access]));
  });

  it('restores apps and unexpired tokens from a snapshot, as the sandbox keeps them across restarts', async () => {
    const app = emu.seedOAuthApp({ friendlyName: 'kept' });
    const access = (await token(app.sid, app.secret)).body!.access_token as string;
    const snapshot = emu.snapshot();
    await emu.close();
    emu = await startTwilioEmulator({ now: () => clockMs, restore: snapshot });
    expect(emu.listOAuthApps().map((a) => a.friendlyName)).toEqual(['kept']);
    expect((await messages(`Bearer ${access}`)).status).toBe(200);
    expect((await token(app.sid, app.secret)).status).toBe(200);
    expect(emu.issuedSecrets()).toEqual(expect.arrayContaining([app.secret, access]));
  });

  it('restores a snapshot taken before OAuth apps existed', async () => {
    const { oauthApps: _apps, accessTokens: _tokens, ...old } = emu.snapshot();
    await emu.close();
    emu = await startTwilioEmulator({ restore: old });
    expect(emu.listOAuthApps()).toEqual([]);
  });
});
