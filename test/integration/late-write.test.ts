import { writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ownerFingerprint } from '../../src/credentials/named/naming.js';
import { labelledKeys } from '../support/assertions.js';
import { World } from '../support/world.js';

/**
 * A late write over HTTP (issue 19): Secrets Manager applies a TagResource long after the run that
 * sent it gave up on it. A proxy in front of the emulator holds the first `rotator:promoted` write,
 * the run times out on it and goes on, two more runs finish that rotation and start the next, and
 * only then does the held write land. The promotion it names is the one before the last: the old
 * code took the newer promotion for someone else's, skipped the gate and made a third key.
 */

interface Held {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Forwards to `upstream`; holds (never forwards, never answers) the first request `hold` picks. */
async function holdingProxy(upstream: string, hold: (headers: IncomingHttpHeaders, body: string) => boolean) {
  let held: Held | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!held && hold(req.headers, body.toString())) {
        held = { path: req.url ?? '/', headers: req.headers, body };
        return; // the caller's timeout ends its wait; the request itself stays in flight here
      }
      const target = new URL(req.url ?? '/', upstream);
      const out = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.writeHead(502).end());
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => held,
    /** Lets the held request reach Secrets Manager now; resolves with its status. */
    release: () =>
      new Promise<number>((resolve, reject) => {
        const h = held!;
        const target = new URL(h.path, upstream);
        const out = request(target, { method: 'POST', headers: { ...h.headers, host: target.host } }, (up) => {
          up.resume();
          resolve(up.statusCode ?? 0);
        });
        out.on('error', reject);
        out.end(h.body);
      }),
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

let world: World | undefined;
let proxy: Awaited<ReturnType<typeof holdingProxy>> | undefined;
afterEach(async () => {
  await proxy?.close();
  await world?.close();
  world = proxy = undefined;
});

describe('a late TagResource over HTTP (aws store)', () => {
  it("holds the gate when a run's first promotion write lands after two later runs", { timeout: 60_000 }, async () => {
    world = await World.start('aws');
    const w = world;
    await w.seedAdmin('auth-token');
    proxy = await holdingProxy(
      w.sm.url,
      (headers, body) => headers['x-amz-target'] === 'secretsmanager.TagResource' && body.includes('rotator:promoted'),
    );
    const config = w.configObject([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 86_400, manualConfirm: true } }]);
    const stores = config.stores as { aws: Record<string, unknown> };
    stores.aws = { ...stores.aws, endpoint: proxy.url, timeoutSeconds: 1 };
    await writeFile(w.configPath, stringify(config));

    expect((await w.cli(['rotate'])).code).toBe(0);
    const k1 = (await labelledKeys(w)).current!.apiKeySid;
    // Run A: its first promotion write is held in flight; it times out, retries, and waits at the gate.
    const a = await w.cli(['rotate', '--force']);
    expect(a.stdout, a.stderr).toContain('manual confirmation');
    expect(proxy.held()).toBeDefined();
    // Runs B and C: the rotation is confirmed and finished; the next one starts and waits.
    expect((await w.cli(['confirm', 'app'])).code).toBe(0);
    expect((await w.cli(['rotate'])).stdout).toContain('app: done.');
    expect(w.liveKeys()).not.toContain(k1);
    const forced = await w.cli(['rotate', '--force']);
    expect(forced.stdout).toContain('manual confirmation');
    const k2 = (await labelledKeys(w)).previous!.apiKeySid;
    // Run A's write lands now: it names the promotion before the last.
    expect(await proxy.release()).toBe(200);
    const secret = (await w.store().read('twilio/app'))!;
    const currentVersion = secret.versions.find((v) => v.stages.includes('AWSCURRENT'))!.versionId;
    expect(secret.tags['rotator:promoted']).not.toContain(currentVersion);

    const after = await w.cli(['rotate', '--force']);
    expect(after.code, after.stdout + after.stderr).toBe(0);
    expect(after.stdout).toContain('manual confirmation');
    expect(after.stdout).not.toContain('start-rotation');
    expect(w.liveKeys()).toContain(k2);
    const prefix = `rot-app-${ownerFingerprint(w.accountSid, secret.identity)}`;
    const own = w.twilio.listKeys().filter((k) => k.friendlyName?.startsWith(prefix));
    expect(own, 'no third key').toHaveLength(2);
  });
});
