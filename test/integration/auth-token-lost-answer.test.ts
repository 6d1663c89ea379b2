import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { twilioAuthTokens } from '../../src/adapters/twilio/auth-tokens.js';
import { World } from '../support/world.js';

/**
 * Create Secondary is not idempotent and Twilio shows the token once. When its answer is lost after
 * Twilio made the token, a retry meets "already exists" (70002): the adapter says so apart from a
 * secondary that was there before, and the rotator reports it as its own with the value lost — kept,
 * never deleted — and tells the person the one safe fix.
 */

let world: World | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await world?.close();
  world = undefined;
});

/**
 * Forwards everything to `upstream`; the first `lose` Create Secondary answers are thrown away once
 * Twilio has acted, and the caller gets `status` instead (a proxy's 502, a load balancer's 504).
 */
async function losingProxy(upstream: string, lose: number, status = 502) {
  let left = lose;
  const server = createServer((req, res) => {
    const target = new URL(req.url ?? '/', upstream);
    const losing = req.method === 'POST' && target.pathname === '/v1/AuthTokens/Secondary' && left-- > 0;
    const out = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
      if (!losing) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      up.resume();
      up.on('end', () => res.writeHead(status, { 'content-type': 'text/plain' }).end('upstream answer lost'));
    });
    out.on('error', () => res.writeHead(502).end());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  cleanups.push(close);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const tokensVia = (w: World, baseUrl: string) =>
  twilioAuthTokens(
    { username: w.accountSid, password: w.twilio.authToken() },
    { accountSid: w.accountSid },
    { http: { baseUrl, timeoutMs: 5000 }, retry: { attempts: 3, budgetMs: 5000, minDelayMs: 5 } },
  );

describe('Create Secondary after a lost answer (adapter)', () => {
  it('tells a 70002 after an attempt whose answer was lost from one that met an existing secondary', async () => {
    world = await World.start('file');
    const proxy = await losingProxy(world.twilio.url, 1);
    expect(await tokensVia(world, proxy).createSecondary()).toBe('exists-after-unknown');
    expect(world.twilio.secondaryToken()).toBeDefined();
    const creates = world.twilio.controls.log.filter((e) => e.operation === 'CreateSecondaryAuthToken');
    expect(creates.map((e) => e.status)).toEqual([201, 400]);
    // The secondary was there before the first attempt: a plain "exists".
    expect(await tokensVia(world, world.twilio.url).createSecondary()).toBe('exists');
  });

  it('calls a 70002 after a throttled attempt (Twilio did nothing) plain "exists"', async () => {
    world = await World.start('file');
    await tokensVia(world, world.twilio.url).createSecondary();
    world.twilio.controls.setFaults({ sequence: ['throttle'], operations: ['CreateSecondaryAuthToken'] });
    expect(await tokensVia(world, world.twilio.url).createSecondary()).toBe('exists');
  });
});

describe('rotate after a lost Create Secondary answer (CLI)', () => {
  it('keeps the secondary, reports it as probably its own, and rotates once told --replace-secondary', async () => {
    world = await World.start('file');
    const original = await world.seedToken();
    const proxy = await losingProxy(world.twilio.url, 1);
    await world.writeConfig([{ kind: 'auth-token' }], { twilio: { baseUrl: proxy, timeoutSeconds: 5 } });
    const first = await world.cli(['rotate', '--force']);
    expect(first.code, first.stdout).toBe(1);
    expect(first.stdout).toMatch(/token: FAILED at start-rotation: .*probably this rotator's own/);
    expect(first.stdout).toContain('rotate --target token --replace-secondary');
    expect(first.stdout).not.toMatch(/find out whose/);
    const lost = world.twilio.secondaryToken();
    expect(lost).toBeDefined();
    expect(world.twilio.controls.log.some((e) => e.operation === 'DeleteSecondaryAuthToken')).toBe(false);

    // A plain rerun keeps it too, and says the same; a status says a person must look.
    const again = await world.cli(['rotate', '--force']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/probably this rotator's own/);
    expect(world.twilio.secondaryToken()).toBe(lost);
    expect((await world.cli(['status'])).code).toBe(1);

    const replaced = await world.cli(['rotate', '--force', '--target', 'token', '--replace-secondary']);
    expect(replaced.code, replaced.stdout).toBe(0);
    expect(replaced.stdout).toContain('token: done.');
    expect(await world.storedToken('AWSCURRENT')).toBe(world.twilio.authToken());
    expect(await world.tokenWorks(original)).toBe(false);
    expect(world.twilio.secondaryToken()).toBeUndefined();
  });
});
