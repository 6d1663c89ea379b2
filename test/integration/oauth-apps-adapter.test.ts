import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { oauthVerifier, twilioOAuthApps } from '../../src/adapters/twilio/oauth-apps.js';
import type { OAuthAppSpec } from '../../src/core/ports.js';
import { startTwilioEmulator, type TwilioEmulator } from '../emulators/twilio/index.js';

/** The OAuth-app adapter over real HTTP to the emulator: calls, bounds, errors, and no secret anywhere. */

const MESSAGES = '/twilio/messaging/messages/list';
const retry = { attempts: 3, budgetMs: 5000, minDelayMs: 1 };
let emu: TwilioEmulator;
const clockMs = Date.UTC(2026, 0, 2);

beforeEach(async () => {
  emu = await startTwilioEmulator({ now: () => clockMs });
});
afterEach(async () => {
  await emu.close();
});

const options = () => ({ http: { baseUrl: emu.url, timeoutMs: 3000 }, retry });
const apps = (username = emu.accountSid, password = emu.authToken()) =>
  twilioOAuthApps({ username, password }, emu.accountSid, options());
const verifier = () => oauthVerifier({ ...options(), authRetries: 0 });
const spec: OAuthAppSpec = {
  friendlyName: 'rotator-app',
  description: 'test',
  policy: { allow: [MESSAGES] },
  accessTokenTtlSeconds: 900,
};

describe('twilioOAuthApps', () => {
  it('creates, fetches, lists and deletes apps; a second delete is already-gone', async () => {
    const created = await apps().create(spec);
    expect(created).toMatchObject({ ...spec, sid: expect.stringMatching(/^OQ/) });
    expect(created.secret.length).toBeGreaterThan(0);
    const fetched = await apps().fetch(created.sid);
    expect(fetched).toEqual({ ...spec, sid: created.sid, createdAtMs: clockMs });
    expect((await apps().list()).map((a) => a.sid)).toEqual([created.sid]);
    expect(await apps().remove(created.sid)).toBe('deleted');
    expect(await apps().remove(created.sid)).toBe('already-gone');
    expect(await apps().fetch(created.sid)).toBeUndefined();
    const bodies = emu.controls.log.filter((e) => e.operation === 'CreateOAuthApp');
    expect(bodies).toHaveLength(1);
  });

  it('walks every page of a long list, and refuses a next page on another host or a loop', async () => {
    for (let i = 0; i < 230; i++) emu.seedOAuthApp({ friendlyName: `app-${i}` });
    const listed = await apps().list();
    expect(listed).toHaveLength(230);
    expect(new Set(listed.map((a) => a.sid)).size).toBe(230);
    expect(emu.controls.log.filter((e) => e.operation === 'ListOAuthApps')).toHaveLength(3);

    emu.setResponseMutator('ListOAuthApps', (body: any) => ({
      ...body,
      meta: { ...body.meta, next_page_url: 'https://evil.example/v1/Account/OAuthApps?Page=1' },
    }));
    const offHost = /evil\.example, which is neither Twilio's IAM host nor twilio\.baseUrl; nothing was sent there/;
    await expect(apps().list()).rejects.toThrow(offHost);
    emu.setResponseMutator('ListOAuthApps', (body: any) => ({
      ...body,
      meta: { ...body.meta, next_page_url: body.meta.url },
    }));
    await expect(apps().list()).rejects.toThrow(/already served; refusing to loop/);
  });

  it('retries a 5xx within its budget, and names the permission when a Standard key may not manage apps', async () => {
    emu.controls.setFaults({ sequence: ['server-error'], operations: ['CreateOAuthApp'] });
    await apps().create(spec);
    expect(emu.listOAuthApps()).toHaveLength(1);
    const key = emu.seedKey({ type: 'standard' });
    const err = await apps(key.sid, key.secret)
      .list()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(String(err)).toMatch(/20003.*\/twilio\/iam\/account-oauth-apps\/\*/);
  });
});

describe('oauthVerifier', () => {
  it('proves credentials with a token and one Bearer read, and refuses a deleted app definitively', async () => {
    const app = emu.seedOAuthApp({ policy: { allow: [MESSAGES] } });
    const creds = { accountSid: emu.accountSid, clientId: app.sid, clientSecret: app.secret };
    expect(await verifier().verify(creds, { kind: 'list-messages' })).toEqual({ ok: true });
    const ops = emu.controls.log.map((e) => e.operation);
    expect(ops).toEqual(['CreateOAuthToken', 'ListMessages']);
    expect(emu.controls.log[1]!.credential).toBe(app.sid);

    const notGranted = await verifier().verify(creds, { kind: 'list-incoming-phone-numbers' });
    expect(notGranted).toMatchObject({
      ok: false,
      definitive: true,
      reason: expect.stringMatching(/70051.*Bearer read/),
    });

    emu.dropOAuthApp(app.sid);
    const refused = await verifier().verify(creds, { kind: 'list-messages' });
    expect(refused).toMatchObject({ ok: false, definitive: true, reason: expect.stringMatching(/token endpoint/) });
  });

  it('says "could not tell" when Twilio keeps failing, never "does not work"', async () => {
    const app = emu.seedOAuthApp({});
    emu.controls.setFaults({ rate: 1, kinds: ['server-error'], operations: ['CreateOAuthToken'] });
    const result = await verifier().verify(
      { accountSid: emu.accountSid, clientId: app.sid, clientSecret: app.secret },
      { kind: 'list-messages' },
    );
    expect(result).toMatchObject({ ok: false, definitive: false });
  });

  it('never puts a client secret or an access token in an error, a result or the request log', async () => {
    const app = emu.seedOAuthApp({ policy: { allow: [MESSAGES] } });
    const creds = { accountSid: emu.accountSid, clientId: app.sid, clientSecret: app.secret };
    const seen: string[] = [];
    seen.push(inspect(await verifier().verify(creds, { kind: 'list-incoming-phone-numbers' }), { depth: 9 }));
    const created = await apps().create(spec);
    emu.controls.setFaults({ rate: 1, kinds: ['throttle'] });
    seen.push(
      inspect(
        await apps()
          .create(spec)
          .catch((e: unknown) => e),
        { depth: 9 },
      ),
    );
    seen.push(inspect(await verifier().verify(creds, { kind: 'list-messages' }), { depth: 9 }));
    seen.push(JSON.stringify(emu.controls.log));
    const secrets = emu.issuedSecrets();
    expect(secrets).toEqual(expect.arrayContaining([app.secret, created.secret]));
    for (const text of seen) for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
