import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { twilioAuthTokens, twilioTokenVerifier } from '../../src/adapters/twilio/auth-tokens.js';
import { TwilioHttpPool, type TwilioHttpOptions } from '../../src/adapters/twilio/http-client.js';
import { twilioKeys, twilioVerifier } from '../../src/adapters/twilio/keys.js';
import { twilioSubaccounts } from '../../src/adapters/twilio/subaccounts.js';

/**
 * Every Twilio operation the rotator makes hands the run's signal down to the socket: against an
 * endpoint that never answers, aborting the run ends the call at once, although neither the request
 * timeout nor the retry budget is anywhere near spent. twilio-node offers no way to pass a signal
 * through its resources, so this is what keeps a deadline (the Lambda's, or Ctrl-C) a deadline for
 * each call, and it would catch an upgrade of twilio-node that broke the hand-over.
 */

const AC = `AC${'1'.repeat(32)}`;
const SK = `SK${'2'.repeat(32)}`;
let server: http.Server;
let baseUrl: string;
const open = new Set<net.Socket>();
let closed = 0;

beforeAll(async () => {
  server = http.createServer(() => undefined); // reads every request, answers none
  server.on('connection', (s: net.Socket) => {
    open.add(s);
    s.on('close', () => {
      open.delete(s);
      closed++;
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const retry = { attempts: 3, budgetMs: 60_000, minDelayMs: 10 };
const target = { accountSid: AC };
const admin = { username: AC, password: 'admin-token-not-real' };

type Op = (http: TwilioHttpOptions, signal: AbortSignal) => Promise<unknown>;
const ops: [string, Op][] = [
  ['ListKeys', (h, signal) => twilioKeys(admin, target, { http: h, retry, signal }).list()],
  ['CreateKey', (h, signal) => twilioKeys(admin, target, { http: h, retry, signal }).create({ friendlyName: 'rot-x' })],
  ['FetchKey (policy)', (h, signal) => twilioKeys(admin, target, { http: h, retry, signal }).fetchPolicy(SK)],
  ['DeleteKey', (h, signal) => twilioKeys(admin, target, { http: h, retry, signal }).remove(SK)],
  [
    'verify a key',
    (h, signal) =>
      twilioVerifier(target, { http: h, retry, signal }).verify(
        { accountSid: AC, sid: SK, secret: 'key-secret-not-real' },
        { kind: 'list-incoming-phone-numbers' },
      ),
  ],
  [
    'create a secondary token',
    (h, signal) => twilioAuthTokens(admin, target, { http: h, retry, signal }).createSecondary(),
  ],
  [
    'delete the secondary token',
    (h, signal) => twilioAuthTokens(admin, target, { http: h, retry, signal }).deleteSecondary(),
  ],
  ['promote the secondary token', (h, signal) => twilioAuthTokens(admin, target, { http: h, retry, signal }).promote()],
  ['check a token', (h, signal) => twilioTokenVerifier(target, { http: h, retry, signal }).check(AC, 'token-not-real')],
  [
    'list subaccounts',
    (h, signal) => twilioSubaccounts({ ...admin, accountSid: AC }, {}, { http: h, retry, signal }).list({ limit: 10 }),
  ],
];

describe('a run that stops cuts every Twilio call in flight', () => {
  for (const pooled of [false, true]) {
    it.each(ops)(`%s (${pooled ? 'through the run-wide pool' : 'its own client'})`, async (_name, op) => {
      const pool = pooled ? new TwilioHttpPool({ baseUrl, timeoutMs: 120_000 }, 4) : undefined;
      const httpOptions: TwilioHttpOptions = { baseUrl, timeoutMs: 120_000, ...(pool ? { pool } : {}) };
      const stop = new AbortController();
      const before = closed;
      const started = Date.now();
      const call = op(httpOptions, stop.signal).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      // The request reaches the server and hangs there; then the run stops.
      await expect.poll(() => open.size, { timeout: 10_000 }).toBeGreaterThan(0);
      stop.abort(new Error('the run stopped'));
      const outcome = await call;
      const took = Date.now() - started;
      // Settled (as an error, or as a "could not tell" result) long before any timeout or budget…
      expect(took).toBeLessThan(15_000);
      if ('value' in outcome) expect(outcome.value).toMatchObject({ ok: false, definitive: false });
      // …because the connection was cut, not left to hang.
      await expect.poll(() => closed - before, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(open.size).toBe(0);
      pool?.close();
    });
  }
});
