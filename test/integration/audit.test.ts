import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fileStore } from '../../src/adapters/secrets/file-store.js';
import { keyName, ownerFingerprint } from '../../src/credentials/named/naming.js';
import { World } from '../support/world.js';

/**
 * `audit` end to end: the real CLI against the Twilio emulator, two accounts (the main one with an
 * API-key target, a subaccount with only an Auth Token target), one key of every class, and proof
 * from the emulator's request log that --cleanup deletes rotator orphans and nothing else.
 */

const DAY = 86_400_000;
const hex = (n: number) => randomBytes(n).toString('hex').slice(0, n);

interface Seeded {
  world: World;
  sids: Record<string, string>;
  sub: string;
}

async function seed(): Promise<Seeded> {
  const world = await World.start('file');
  await world.seedAdmin('main'); // a Main key named "admin-main"
  const sub = world.twilio.addAccount({ parentSid: world.accountSid, friendlyName: 'subaccount' });
  const config = world.configObject([{ gate: { minOverlapSeconds: 3600, maxWaitSeconds: 7200 } }], {
    orphanGraceSeconds: 900,
  }) as { targets: Record<string, unknown>[] };
  config.targets.push({
    name: 'sub-token',
    kind: 'auth-token',
    accountSid: sub.sid,
    secret: { store: 'file', secretId: 'twilio/sub-token' },
  });
  await writeFile(world.configPath, stringify(config));
  await fileStore(world.storePath).create(
    'twilio/sub-token',
    hex(32),
    JSON.stringify({ accountSid: sub.sid, authToken: sub.authToken }),
  );

  expect((await world.cli(['rotate', '--target', 'app'])).code).toBe(0);
  expect((await world.cli(['rotate', '--target', 'app', '--force'])).code).toBe(0); // old key waits for its gate
  const identity = (await world.store().read('twilio/app'))!.identity;
  const own = (id: string) => keyName('rot-app-', ownerFingerprint(world.accountSid, identity), id);
  const at = (ageMs: number) => new Date(Date.now() - ageMs);
  const k = (friendlyName: string, ageMs: number, accountSid?: string) =>
    world.twilio.seedKey({
      type: 'standard',
      friendlyName,
      createdAt: at(ageMs),
      ...(accountSid ? { accountSid } : {}),
    }).sid;
  const sids: Record<string, string> = {
    orphan: k(own(hex(24)), 2 * DAY),
    youngOrphan: k(own(hex(24)), 60_000),
    lookAlike: k(keyName('rot-app-', 'deadbeef', hex(24)), 3 * DAY),
    studio: k('Studio API Key', 200 * DAY),
    laptop: k('laptop test key', 400 * DAY),
    subKey: k('sub key', DAY, sub.sid),
  };
  const stored = await world.store().read('twilio/app');
  const value = (stage: string) =>
    JSON.parse(stored!.versions.find((v) => v.stages.includes(stage))!.value!) as { apiKeySid: string };
  sids.current = value('AWSCURRENT').apiKeySid;
  sids.previous = value('AWSPREVIOUS').apiKeySid;
  sids.admin = world.twilio.listKeys().find((x) => x.friendlyName === 'admin-main')!.sid;
  expect(world.liveKeys()).toContain(sids.previous);
  return { world, sids, sub: sub.sid };
}

interface JsonKey {
  sid: string;
  class: string;
  claims: { target: string; role: string }[];
  olderThanThreshold: boolean;
  cleanupCandidate: boolean;
  cleanupResult?: string;
  note?: string;
}
interface JsonAudit {
  accounts: { accountSid: string; targets: string[]; errors: string[]; keys: JsonKey[] }[];
}

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('audit', () => {
  it('classifies every key on every configured account; --cleanup revokes the rotator orphan only', async () => {
    const seeded = await seed();
    world = seeded.world;
    const { sids } = seeded;
    const before = new Set([...world.liveKeys(), ...world.twilio.listKeys(seeded.sub).map((x) => x.sid)]);

    world.resetLogs();
    const listed = await world.cli(['audit', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    const report = JSON.parse(listed.stdout) as JsonAudit;
    expect(report.accounts.map((a) => [a.accountSid, a.targets, a.errors])).toEqual([
      [world.accountSid, ['app'], []],
      [seeded.sub, ['sub-token'], []],
    ]);
    const main = Object.fromEntries(report.accounts[0]!.keys.map((x) => [x.sid, x]));
    const cls = (name: string) => [main[sids[name]!]?.class, main[sids[name]!]?.cleanupCandidate];
    expect(cls('current')).toEqual(['managed', false]);
    expect(main[sids.current!]!.claims).toEqual([{ target: 'app', role: 'current' }]);
    expect(cls('previous')).toEqual(['managed', false]);
    expect(main[sids.previous!]!.claims).toEqual([{ target: 'app', role: 'previous' }]);
    expect(cls('admin')).toEqual(['admin', false]);
    expect(cls('studio')).toEqual(['twilio-managed', false]);
    expect(cls('orphan')).toEqual(['rotator-orphan', true]);
    expect(cls('youngOrphan')).toEqual(['rotator-orphan', false]);
    expect(cls('lookAlike')).toEqual(['unmanaged', false]);
    expect(cls('laptop')).toEqual(['unmanaged', false]);
    expect(main[sids.laptop!]!.olderThanThreshold).toBe(true);
    expect(main[sids.studio!]!.olderThanThreshold).toBe(true);
    expect(main[sids.orphan!]!.olderThanThreshold).toBe(false);
    expect(Object.keys(main)).toHaveLength(8);
    expect(report.accounts[1]!.keys.map((x) => [x.sid, x.class])).toEqual([[sids.subKey, 'unmanaged']]);

    const text = await world.cli(['audit', '--older-than', '300']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(`^  unmanaged +${sids.laptop} +400 d +"laptop test key"  older than 300 days$`, 'm'),
    );
    expect(text.stdout).toMatch(new RegExp(`^  managed +${sids.current} .*current of app$`, 'm'));
    expect(text.stdout).toContain(
      'summary: 2 managed, 1 admin, 1 twilio-managed, 2 rotator-orphan, 2 unmanaged; 1 older than 300 days',
    );

    world.resetLogs();
    const dry = await world.cli(['audit', '--cleanup', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    const dryKeys = (JSON.parse(dry.stdout) as JsonAudit).accounts.flatMap((a) => a.keys);
    expect(dryKeys.filter((x) => x.cleanupResult).map((x) => [x.sid, x.cleanupResult])).toEqual([
      [sids.orphan, 'would be revoked (dry run)'],
    ]);

    world.resetLogs();
    const cleaned = await world.cli(['audit', '--cleanup']);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toContain(`cleanup: deleted`);
    const writes = world.twilio.controls.mutatingCalls().map((c) => `${c.method} ${c.path}`);
    expect(writes).toEqual([`DELETE /v1/Keys/${sids.orphan}`]);
    expect(world.sm.controls.mutatingCalls()).toEqual([]);
    const after = new Set([...world.liveKeys(), ...world.twilio.listKeys(seeded.sub).map((x) => x.sid)]);
    expect([...before].filter((s) => !after.has(s))).toEqual([sids.orphan]);

    world.resetLogs();
    expect((await world.cli(['audit', '--cleanup'])).code).toBe(0);
    expect(world.twilio.controls.mutatingCalls()).toEqual([]);
  });

  it('cleans up nothing on an account it cannot read whole, and says so with exit 1', async () => {
    const seeded = await seed();
    world = seeded.world;
    // The secret's current version no longer parses: the target's keys cannot be accounted for.
    await fileStore(world.storePath).putCurrent('twilio/app', hex(32), 'not json');
    world.resetLogs();
    const run = await world.cli(['audit', '--cleanup']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/ERROR: app: cannot read its state .*nothing on this account is cleaned up/);
    expect(run.stdout).not.toContain('cleanup: deleted');
    expect(world.twilio.controls.mutatingCalls()).toEqual([]);
    expect(world.liveKeys()).toContain(seeded.sids.orphan);
  });
});
