import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { awsStore } from '../../src/adapters/secrets/aws-store.js';
import { CURRENT } from '../../src/core/labels.js';
import { startSecretsManagerEmulator } from '../emulators/secrets-manager/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const T = (n: number) => n.toString(16).padStart(32, '0');
const retry = { attempts: 1, budgetMs: 10_000, minDelayMs: 1 };
const credentials = { accessKeyId: 'AKIDSWEEP', secretAccessKey: 'sweep-not-a-secret' };
const operationOf = (req: IncomingMessage) => String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';

/**
 * A proxy in front of the emulator that holds the last ListSecrets page (the one after `held`
 * pages) until a BatchGetSecretValue has arrived, or until 5 s have passed: whether values are read
 * while the listing goes on shows without depending on how fast the machine is.
 */
async function holdingProxy(target: string, held: number) {
  let pages = 0;
  let batchSeen: () => void = () => undefined;
  const batched = new Promise<'batch'>((resolve) => (batchSeen = () => resolve('batch')));
  const released: string[] = [];
  const server: Server = createServer((req, res) => {
    const op = operationOf(req);
    if (op === 'BatchGetSecretValue') batchSeen();
    const wait =
      op === 'ListSecrets' && ++pages > held
        ? Promise.race([batched, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5_000))])
        : Promise.resolve('now');
    void wait.then((why) => {
      if (op === 'ListSecrets') released.push(why);
      const url = new URL(req.url ?? '/', target);
      const forward = request(url, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(forward);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, released, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('Secrets Manager batched sweep', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (closers.length > 0) await closers.pop()!();
  });

  it('lists in pages of 100 and reads values 20 at a time, while the listing goes on', async () => {
    const sm = await startSecretsManagerEmulator();
    closers.push(() => sm.close());
    const seed = awsStore({ region: 'us-east-1', endpoint: sm.url, retry, credentials });
    const ids = Array.from({ length: 250 }, (_, i) => `sweep/app-${i}`);
    for (const [i, id] of ids.entries()) {
      await seed.create(id, T(i + 1), `{"n":${i}}`);
      await seed.setTags(id, { 'rotator:current-since': `${T(i + 1)} 2026-01-01T00:00:00.000Z` });
    }
    // A secret the rotator never tagged and one the run does not ask for are left out.
    await seed.create('sweep/untagged', T(900), '{}');
    await seed.create('sweep/other', T(901), '{}');
    await seed.setTags('sweep/other', { 'rotator:x': 'y' });
    const proxy = await holdingProxy(sm.url, 2);
    closers.push(proxy.close);
    sm.controls.log.length = 0;

    const store = awsStore({ region: 'us-east-1', endpoint: proxy.url, retry, credentials, batchedSweep: true });
    const found = await store.sweep!([...ids, 'sweep/untagged']);

    const calls = (op: string) => sm.controls.log.filter((e) => e.operation === op).length;
    expect(calls('ListSecrets')).toBe(3);
    expect(calls('BatchGetSecretValue')).toBe(13); // ⌈250 / 20⌉
    expect(sm.controls.log).toHaveLength(16);
    // The third page was released by a BatchGetSecretValue, not by the proxy's timeout.
    expect(proxy.released).toEqual(['now', 'now', 'batch']);
    expect([...found.keys()].sort()).toEqual([...ids].sort());
    const one = found.get('sweep/app-7')!;
    expect(one.versions).toEqual([expect.objectContaining({ versionId: T(8), stages: [CURRENT], value: '{"n":7}' })]);
    expect(one.tags['rotator:current-since']).toMatch(/^0+8 /);
  });

  it("tells of each secret as soon as its page and its value's batch are in, before the walk ends", async () => {
    const sm = await startSecretsManagerEmulator();
    closers.push(() => sm.close());
    const seed = awsStore({ region: 'us-east-1', endpoint: sm.url, retry, credentials });
    const ids = Array.from({ length: 150 }, (_, i) => `sweep/app-${i}`);
    for (const [i, id] of ids.entries()) {
      await seed.create(id, T(i + 1), `{"n":${i}}`);
      await seed.setTags(id, { 'rotator:x': 'y' });
    }
    // The second page is held until the first page's secrets were told of (or 5 s, and the test fails).
    const told: string[] = [];
    let firstPageTold: () => void = () => undefined;
    const firstPage = new Promise<'told'>((resolve) => (firstPageTold = () => resolve('told')));
    const released: string[] = [];
    const server: Server = createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (c: Buffer) => body.push(c));
      req.on('end', () => {
        const text = Buffer.concat(body).toString();
        const later = operationOf(req) === 'ListSecrets' && text.includes('NextToken');
        const wait = later
          ? Promise.race([firstPage, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5_000))])
          : Promise.resolve('now');
        void wait.then((why) => {
          if (later) released.push(why);
          const forward = request(
            new URL(req.url ?? '/', sm.url),
            { method: req.method, headers: req.headers },
            (a) => {
              res.writeHead(a.statusCode ?? 502, a.headers);
              a.pipe(res);
            },
          );
          forward.end(text);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const store = awsStore({ region: 'us-east-1', endpoint, retry, credentials, batchedSweep: true });
    const found = await store.sweep!(ids, (id, secret) => {
      told.push(id);
      if (secret?.versions[0]?.value !== `{"n":${ids.indexOf(id)}}`) throw new Error(`${id} told without its value`);
      if (told.length === 100) firstPageTold();
    });
    expect(released).toEqual(['told']);
    expect([...told].sort()).toEqual([...ids].sort());
    expect(found.size).toBe(150);
  });

  it('tells of a few secrets per event-loop turn, so an answer that arrived meanwhile is read first', async () => {
    const sm = await startSecretsManagerEmulator();
    closers.push(() => sm.close());
    const seed = awsStore({ region: 'us-east-1', endpoint: sm.url, retry, credentials });
    const ids = Array.from({ length: 30 }, (_, i) => `sweep/app-${i}`);
    for (const [i, id] of ids.entries()) {
      await seed.create(id, T(i + 1), `{"n":${i}}`);
      await seed.setTags(id, { 'rotator:x': 'y' });
    }
    const store = awsStore({ region: 'us-east-1', endpoint: sm.url, retry, credentials, batchedSweep: true });
    // A turn of the event loop (what reading an answer needs) asked for when the first secret is told:
    // it comes after the few told with it, not after the whole value batch of 20 (as it did).
    const told: string[] = [];
    let toldBeforeTurn: number | undefined;
    const found = await store.sweep!(ids, (id) => {
      if (told.push(id) === 1) setImmediate(() => (toldBeforeTurn = told.length));
    });
    expect(toldBeforeTurn).toBe(4);
    expect([...told].sort()).toEqual([...ids].sort());
    expect(found.size).toBe(30);
  });

  it('fails when a value batch fails, instead of returning what it read so far', async () => {
    const sm = await startSecretsManagerEmulator();
    closers.push(() => sm.close());
    const seed = awsStore({ region: 'us-east-1', endpoint: sm.url, retry, credentials });
    const ids = Array.from({ length: 45 }, (_, i) => `sweep/app-${i}`);
    for (const [i, id] of ids.entries()) {
      await seed.create(id, T(i + 1), '{}');
      await seed.setTags(id, { 'rotator:x': 'y' });
    }
    sm.controls.setFaults({ operations: ['BatchGetSecretValue'], sequence: ['ok', 'server-error'] });
    const store = awsStore({ region: 'us-east-1', endpoint: sm.url, retry, credentials, batchedSweep: true });
    await expect(store.sweep!(ids)).rejects.toThrow(/BatchGetSecretValue/);
  });
});
