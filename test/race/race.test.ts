import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { awsStore } from '../../src/adapters/secrets/aws-store.js';
import { fileStore } from '../../src/adapters/secrets/file-store.js';
import { looksLikeRotatorKeyName } from '../../src/credentials/named/naming.js';
import { spawnCli } from '../support/child.js';
import { authenticates, labelledKeys } from '../support/assertions.js';
import { AWS_ENV, World, type StoreKind } from '../support/world.js';

/**
 * Several real `rotate` processes start at once on the same targets, whose keys are due. They all
 * compute the same rotation id; the store lets one win; the others revoke what they made. The
 * result must be exactly one new key per target, the old key retired, nothing left behind.
 */

const TARGETS = [
  { secretId: 'twilio/app', prefix: 'rot-app-' },
  { secretId: 'twilio/app1', prefix: 'rot-app1-' },
];
const DAY = 86_400_000;

async function seedDueKey(world: World, secretId: string): Promise<string> {
  const key = world.twilio.seedKey({ type: 'standard', friendlyName: 'made-by-hand' });
  const value = JSON.stringify({ accountSid: world.accountSid, apiKeySid: key.sid, apiKeySecret: key.secret });
  const longAgo = () => Date.now() - 40 * DAY;
  if (world.storeKind === 'file')
    await fileStore(world.storePath, longAgo).create(secretId, randomBytes(16).toString('hex'), value);
  else {
    world.sm.setClock(longAgo);
    await awsStore({
      region: 'us-east-1',
      endpoint: world.sm.url,
      credentials: { accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY },
      retry: { attempts: 1, budgetMs: 1000, minDelayMs: 1 },
    }).create(secretId, randomBytes(16).toString('hex'), value);
    world.sm.setClock(Date.now);
  }
  return key.sid;
}

async function race(kind: StoreKind, commands: string[][]): Promise<void> {
  const world = await World.start(kind);
  try {
    await world.seedAdmin();
    const originals = [await seedDueKey(world, TARGETS[0]!.secretId), await seedDueKey(world, TARGETS[1]!.secretId)];
    await world.writeConfig([{ gate: { minOverlapSeconds: 0 } }, { gate: { minOverlapSeconds: 0 } }], {
      orphanGraceSeconds: 900,
    });
    world.resetLogs();

    const children = await Promise.all(
      commands.map((args) => spawnCli([...args, '--config', world.configPath], AWS_ENV)),
    );
    const results = await Promise.all(children.map((c) => c.done));
    for (const r of results) expect(r.code, `a racer failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
    const creates = world.twilio.controls.log.filter((e) => e.operation === 'CreateKey' && e.status === 201).length;
    const lost = results.filter((r) => r.stdout.includes('another rotator got there first')).length;

    // One more ordinary run settles whatever the racers left for later (e.g. the gate's last step).
    const settle = await world.cli(['rotate']);
    expect(settle.code, settle.stdout).toBe(0);

    for (const [i, t] of TARGETS.entries()) {
      const { current, previous } = await labelledKeys(world, t.secretId);
      expect(previous?.apiKeySid, `${t.secretId}: the original key is AWSPREVIOUS`).toBe(originals[i]);
      expect(await authenticates(world, current), `${t.secretId}: the new current key authenticates`).toBe(true);
      const ours = world.twilio
        .listKeys()
        .filter((k) => looksLikeRotatorKeyName(k.friendlyName, t.prefix))
        .map((k) => k.sid);
      expect(ours, `${t.secretId}: exactly one rotator-made key survives, the current one`).toEqual([
        current!.apiKeySid,
      ]);
      expect(world.liveKeys(), `${t.secretId}: the original key is retired`).not.toContain(originals[i]);
    }
    // Every key beyond the two kept ones was made by a racer that lost and revoked it.
    if (creates > TARGETS.length) expect(lost).toBeGreaterThan(0);
    console.log(
      `race (${kind}, ${commands.length} processes): ${creates} keys created for ` +
        `${TARGETS.length} targets, ${lost} racer(s) lost and revoked theirs`,
    );
  } finally {
    await world.close();
  }
}

describe.each<StoreKind>(['file', 'aws'])('concurrent rotators (%s store)', (kind) => {
  it.each([2, 3, 4])(
    '%i processes running rotate at once end with exactly one new key per target',
    { timeout: 60_000 },
    async (n) => {
      await race(
        kind,
        Array.from({ length: n }, () => ['rotate']),
      );
    },
  );

  it('a dry run and a status alongside two rotators change nothing extra', { timeout: 60_000 }, async () => {
    await race(kind, [['rotate'], ['rotate', '--dry-run'], ['rotate'], ['status']]);
  });
});
