import { randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { formatClaim, parseClaim, TAG_CLAIM } from '../../src/core/claim.js';
import { CURRENT, PREVIOUS, TAG_CURRENT_SINCE } from '../../src/core/labels.js';
import { World } from '../support/world.js';

/**
 * A nothing-due run on the batched sweep trusts the rotator:current claim in ListSecrets' tags and
 * reads no value; every state a claim does not cover reads the secret and acts as before. Counts come
 * from the Secrets Manager emulator's request log.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const token = () => randomBytes(16).toString('hex');
const smCalls = (w: World) => {
  const by: Record<string, number> = {};
  for (const e of w.sm.controls.log) by[e.operation] = (by[e.operation] ?? 0) + 1;
  return by;
};

/** N API-key targets adopted by a first run (secrets made, keys verified, marked current). */
async function quietFleet(n: number, admin: 'auth-token' | 'main' = 'auth-token'): Promise<World> {
  const w = (world = await World.start('aws'));
  await w.seedAdmin(admin);
  const stores = { aws: { region: 'us-east-1', endpoint: w.sm.url, sweep: 'batched' } };
  await w.writeConfig(
    Array.from({ length: n }, () => ({})),
    { stores, concurrency: { targets: 20, perAccount: 20 } },
  );
  const first = await w.cli(['rotate']);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  w.resetLogs();
  return w;
}

const labels = async (w: World, secretId = 'twilio/app') => (await w.store().read(secretId))!;
const versionOf = async (w: World, stage: string) =>
  (await labels(w)).versions.find((v) => v.stages.includes(stage))!.versionId;

describe('nothing due in ⌈N/100⌉ + 2 store calls', () => {
  it.each([
    [3, 1],
    [101, 2],
  ])('makes one ListSecrets page per 100 of %i targets and reads only the admin secret', async (n, pages) => {
    const w = await quietFleet(n);
    const run = await w.cli(['rotate']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // The pages and the admin secret's AWSCURRENT (one GetSecretValue by stage): ⌈N/100⌉ + 1.
    expect(smCalls(w)).toEqual({ ListSecrets: pages, GetSecretValue: 1 });
    expect(w.sm.controls.log).toHaveLength(pages + 1);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });

  it('claims the current key by reference and version, never its secret', async () => {
    const w = await quietFleet(1);
    const secret = await labels(w);
    const current = secret.versions.find((v) => v.stages.includes(CURRENT))!;
    const claim = parseClaim(secret.tags[TAG_CLAIM]);
    const stored = JSON.parse(current.value!) as { apiKeySid: string; apiKeySecret: string };
    expect(claim).toMatchObject({ versionId: current.versionId, ref: stored.apiKeySid });
    // The version's creation as the run that wrote it saw it (its own copy, or the store's answer).
    expect(Math.abs(claim!.createdAtMs - current.createdAtMs)).toBeLessThan(1_000);
    expect(secret.tags[TAG_CLAIM]).not.toContain(stored.apiKeySecret);
  });
});

/**
 * In front of the Secrets Manager emulator: holds every ListSecrets request until `ready()` (polled)
 * or 5 s, and records which released it. Whether the other reads go while the walk waits shows
 * without depending on the machine's speed.
 */
async function holdingListSecrets(upstream: string, ready: () => boolean) {
  const released: string[] = [];
  const until = async () => {
    for (let waited = 0; waited < 5_000; waited += 10) {
      if (ready()) return 'ready';
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return 'timeout';
  };
  const server = createServer((req, res) => {
    const listing = String(req.headers['x-amz-target']).endsWith('.ListSecrets');
    void (listing ? until() : Promise.resolve('')).then((why) => {
      if (listing) released.push(why);
      const forward = request(new URL(req.url ?? '/', upstream), { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(forward);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, released, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('reads that need no listing start at once', () => {
  it('reads the admin secret and lists the keys while the ListSecrets walk is under way', async () => {
    const w = await quietFleet(3);
    const has = (log: { operation: string }[], op: string) => log.some((e) => e.operation === op);
    const proxy = await holdingListSecrets(
      w.sm.url,
      () => has(w.sm.controls.log, 'GetSecretValue') && has(w.twilio.controls.log, 'ListKeys'),
    );
    try {
      const stores = { aws: { region: 'us-east-1', endpoint: proxy.url, sweep: 'batched' } };
      await w.writeConfig([{}, {}, {}], { stores });
      const run = await w.cli(['rotate']);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(proxy.released).toEqual(['ready']);
      expect(smCalls(w)).toEqual({ ListSecrets: 1, GetSecretValue: 1 });
    } finally {
      await proxy.close();
    }
  });
});

describe('a claim the listing does not back reads the secret and acts as before', () => {
  it('reads when the claim names a version that is not AWSCURRENT, and claims the current one again', async () => {
    const w = await quietFleet(2);
    expect((await w.cli(['rotate', '--force', '--target', 'app'])).code).toBe(0);
    const current = await versionOf(w, CURRENT);
    const previous = await versionOf(w, PREVIOUS);
    const claim = parseClaim((await labels(w)).tags[TAG_CLAIM])!;
    await w.store().setTags('twilio/app', { [TAG_CLAIM]: formatClaim({ ...claim, versionId: previous }) });
    w.resetLogs();
    expect((await w.cli(['rotate'])).code).toBe(0);
    expect(smCalls(w).BatchGetSecretValue).toBe(1);
    expect(parseClaim((await labels(w)).tags[TAG_CLAIM])?.versionId).toBe(current);
    expect(w.mutatingCalls()).toEqual({ twilio: 0, sm: 1 });
  });

  it('reads when the tag is missing, and writes it back', async () => {
    const w = await quietFleet(2);
    const claim = parseClaim((await labels(w)).tags[TAG_CLAIM])!;
    await w.store().setTags('twilio/app', { [TAG_CLAIM]: '' });
    w.resetLogs();
    expect((await w.cli(['rotate'])).code).toBe(0);
    expect(smCalls(w).BatchGetSecretValue).toBe(1);
    expect(parseClaim((await labels(w)).tags[TAG_CLAIM])).toMatchObject({ versionId: claim.versionId, ref: claim.ref });
  });

  it("reads a person's Console edit (a new version, no claim) and adopts its key as before", async () => {
    const w = await quietFleet(2);
    const old = parseClaim((await labels(w)).tags[TAG_CLAIM])!.ref;
    const hand = w.twilio.seedKey({ type: 'standard', friendlyName: 'console' });
    const value = { accountSid: w.accountSid, apiKeySid: hand.sid, apiKeySecret: hand.secret };
    await w.store().putCurrent('twilio/app', token(), JSON.stringify(value));
    w.resetLogs();
    expect((await w.cli(['rotate'])).code).toBe(0);
    expect(smCalls(w).BatchGetSecretValue).toBe(1);
    const after = await labels(w);
    const current = await versionOf(w, CURRENT);
    expect(parseClaim(after.tags[TAG_CLAIM])).toMatchObject({ versionId: current, ref: hand.sid });
    expect(after.tags[TAG_CURRENT_SINCE]).toMatch(new RegExp(`^${current} `));
    // Not a promotion of the rotator's: the key it replaced is kept.
    expect(w.liveKeys()).toContain(old);
  });

  it('reads when a version is AWSPENDING, and takes it through as before', async () => {
    const w = await quietFleet(2);
    const hand = w.twilio.seedKey({ type: 'standard', friendlyName: 'pending-by-hand' });
    const pending = token();
    const value = { accountSid: w.accountSid, apiKeySid: hand.sid, apiKeySecret: hand.secret };
    await w.store().putPending('twilio/app', pending, JSON.stringify(value));
    w.resetLogs();
    expect((await w.cli(['rotate'])).code).toBe(0);
    expect(smCalls(w).BatchGetSecretValue).toBe(1);
    expect(await versionOf(w, CURRENT)).toBe(pending);
    expect(parseClaim((await labels(w)).tags[TAG_CLAIM])).toMatchObject({ versionId: pending, ref: hand.sid });
  });

  it("reads after a killed run's late tag write names the version it saw, and marks the current one", async () => {
    const w = await quietFleet(2);
    const before = (await labels(w)).tags;
    // The first run's mark-current, delivered late: after a rotation that run never saw.
    const late = { [TAG_CLAIM]: before[TAG_CLAIM]!, [TAG_CURRENT_SINCE]: before[TAG_CURRENT_SINCE]! };
    expect((await w.cli(['rotate', '--force', '--target', 'app'])).code).toBe(0);
    const current = await versionOf(w, CURRENT);
    await w.store().setTags('twilio/app', late);
    w.resetLogs();
    expect((await w.cli(['rotate'])).code).toBe(0);
    expect(smCalls(w).BatchGetSecretValue).toBe(1);
    const after = (await labels(w)).tags;
    expect(parseClaim(after[TAG_CLAIM])?.versionId).toBe(current);
    expect(after[TAG_CURRENT_SINCE]).toMatch(new RegExp(`^${current} `));
    expect(w.twilio.controls.mutatingCalls()).toHaveLength(0);
  });

  it('shows in status what the secret holds when a forged claim would show a stuck target', async () => {
    const w = await quietFleet(2, 'main');
    const admin = JSON.parse((await labels(w, 'twilio/admin')).versions[0]!.value!) as { adminKeySid: string };
    const claim = parseClaim((await labels(w)).tags[TAG_CLAIM])!;
    await w.store().setTags('twilio/app', { [TAG_CLAIM]: formatClaim({ ...claim, ref: admin.adminKeySid }) });
    const status = await w.cli(['status', '--json']);
    const targets = (JSON.parse(status.stdout) as { targets: { step: string; current?: string }[] }).targets;
    expect(targets.map((t) => t.step)).toEqual(['done', 'done']);
    expect(targets[0]!.current).not.toBe(admin.adminKeySid);
  });

  it('decides again on the secret when a forged claim would conclude anything but "nothing due"', async () => {
    const w = await quietFleet(2, 'main');
    const admin = JSON.parse((await labels(w, 'twilio/admin')).versions[0]!.value!) as { adminKeySid: string };
    const claim = parseClaim((await labels(w)).tags[TAG_CLAIM])!;
    // The admin key (a claim would make the target stuck) and a creation time long past (due).
    await w.store().setTags('twilio/app', { [TAG_CLAIM]: formatClaim({ ...claim, ref: admin.adminKeySid }) });
    await w.store().setTags('twilio/app1', { [TAG_CLAIM]: formatClaim({ ...claim, createdAtMs: 0 }) });
    w.resetLogs();
    const run = await w.cli(['rotate']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(w.mutatingCalls().twilio).toBe(0);
    expect(smCalls(w).DescribeSecret).toBeGreaterThanOrEqual(3);
  });
});
