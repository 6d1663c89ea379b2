import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createTwilioClient } from '../support/twilio-client.js';
import { rotate } from '../../src/engine/commands.js';
import { authenticates as authenticatesWithNumbers, labelledKeys, type StoredKey } from '../support/assertions.js';
import { World, type StoreKind } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Proves a stored key works by using it, listing phone numbers or messages. */
async function authenticates(w: World, key: StoredKey, how: 'numbers' | 'messages' = 'numbers'): Promise<boolean> {
  if (how === 'numbers') return authenticatesWithNumbers(w, key);
  const client = createTwilioClient(
    { username: key.apiKeySid, password: key.apiKeySecret, accountSid: key.accountSid },
    { baseUrl: w.twilio.url },
  );
  return client.api.v2010
    .accounts(key.accountSid)
    .messages.page({ pageSize: 1 })
    .then(
      () => true,
      () => false,
    );
}

describe.each<StoreKind>(['file', 'aws'])('rotate end to end (%s store)', (storeKind) => {
  it('creates the secret with a fresh Standard key on the first run', async () => {
    world = await World.start(storeKind);
    await world.seedAdmin('auth-token');
    await world.writeConfig();
    const run = await world.cli(['rotate']);
    expect(run.stderr.split('\n').filter((l) => l.includes('"level":"error"'))).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/app: done\. Current key SK[0-9a-f]{32}/);
    const { current, tags } = await labelledKeys(world);
    expect(current && (await authenticates(world, current))).toBe(true);
    expect(world.twilio.listKeys().find((k) => k.sid === current!.apiKeySid)?.friendlyName).toMatch(
      /^rot-app-[0-9a-f]{32}$/,
    );
    expect(tags['rotator:current-since']).toMatch(/^[0-9a-f]{32} \d{4}-/);
  });

  it('fills a secret that was created empty (e.g. by Terraform) instead of fighting over its name', async () => {
    world = await World.start(storeKind);
    await world.seedAdmin();
    if (storeKind === 'aws') {
      const { CreateSecretCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
      const sm = new SecretsManagerClient({
        region: 'us-east-1',
        endpoint: world.sm.url,
        credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' },
        maxAttempts: 1,
      });
      await sm.send(
        new CreateSecretCommand({ Name: 'twilio/app', Description: 'value managed by twilio-key-rotator' }),
      );
      sm.destroy();
    } else {
      const doc = JSON.parse(await readFile(world.storePath, 'utf8'));
      doc.secrets['twilio/app'] = { createdAt: new Date().toISOString(), tags: {}, versions: [] };
      await writeFile(world.storePath, JSON.stringify(doc));
    }
    await world.writeConfig();
    const run = await world.cli(['rotate']);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain('app: done.');
    const { current } = await labelledKeys(world);
    expect(await authenticates(world, current!)).toBe(true);
    expect(world.twilio.listKeys().filter((k) => k.friendlyName?.startsWith('rot-app-'))).toHaveLength(1);
  });

  it('rotates an adopted hand-made key: new key current, old key deleted once the gate passes', async () => {
    world = await World.start(storeKind);
    await world.seedAdmin('main');
    const old = await world.seedCurrentKey();
    await world.writeConfig();
    const run = await world.cli(['rotate', '--force']);
    expect(run.code).toBe(0);
    const { current, previous } = await labelledKeys(world);
    expect(previous?.apiKeySid).toBe(old);
    expect(current?.apiKeySid).not.toBe(old);
    expect(await authenticates(world, current!)).toBe(true);
    expect(world.liveKeys()).not.toContain(old);
    expect(run.stdout).toContain('done');
    // Rerunning changes nothing.
    world.resetLogs();
    expect((await world.cli(['rotate'])).code).toBe(0);
    expect(world.mutatingCalls().twilio).toBe(0);
  });

  it('rotates a Restricted key with the configured policy, managed by a Restricted admin key', async () => {
    world = await World.start(storeKind);
    await world.seedAdmin('restricted');
    await world.seedCurrentKey({ type: 'restricted', policy: { allow: ['/twilio/messaging/messages/list'] } });
    await world.writeConfig([
      {
        keyType: 'restricted',
        policy: { allow: ['/twilio/messaging/messages/list', '/twilio/messaging/messages/read'] },
      },
    ]);
    const run = await world.cli(['rotate', '--force']);
    expect(run.code).toBe(0);
    const { current } = await labelledKeys(world);
    const made = world.twilio.listKeys().find((k) => k.sid === current!.apiKeySid);
    expect(made).toMatchObject({
      type: 'restricted',
      policy: { allow: ['/twilio/messaging/messages/list', '/twilio/messaging/messages/read'] },
    });
    expect(await authenticates(world, current!, 'messages')).toBe(true);
    expect(await authenticates(world, current!, 'numbers')).toBe(false);
    expect(run.stderr).toContain('policy drift');
  });

  it('inherits the live policy of the current key when told to', async () => {
    world = await World.start(storeKind);
    await world.seedAdmin('auth-token');
    await world.seedCurrentKey({
      type: 'restricted',
      policy: { allow: ['/twilio/numbers/incoming-phone-numbers/list'] },
    });
    await world.writeConfig([{ keyType: 'restricted', policy: 'inherit' }]);
    expect((await world.cli(['rotate', '--force'])).code).toBe(0);
    const { current } = await labelledKeys(world);
    expect(world.twilio.listKeys().find((k) => k.sid === current!.apiKeySid)?.policy).toEqual({
      allow: ['/twilio/numbers/incoming-phone-numbers/list'],
    });
  });
});

describe('consumer gate', () => {
  const HOUR = 3_600_000;

  it('keeps both keys alive through the minimum overlap, then retires the old one', async () => {
    world = await World.start('file');
    await world.seedAdmin();
    const old = await world.seedCurrentKey();
    await world.writeConfig([{ gate: { minOverlapSeconds: 3600, maxWaitSeconds: 86400 } }]);
    const config = await world.config();
    let now = Date.now();
    const first = await rotate(
      config,
      world.runtime(config, () => now),
      { force: true },
    );
    expect(first[0]).toMatchObject({ kind: 'waiting', kept: old });
    const { current, previous } = await labelledKeys(world);
    expect(await authenticates(world, current!)).toBe(true);
    expect(await authenticates(world, previous!)).toBe(true);

    now += HOUR - 60_000;
    expect(
      (
        await rotate(
          config,
          world.runtime(config, () => now),
        )
      )[0]?.kind,
    ).toBe('waiting');
    expect(world.liveKeys()).toContain(old);
    now += 120_000;
    expect(
      (
        await rotate(
          config,
          world.runtime(config, () => now),
        )
      )[0],
    ).toMatchObject({ kind: 'done', current: current!.apiKeySid });
    expect(world.liveKeys()).not.toContain(old);
  });

  it('waits until every probe reports the new key SID', async () => {
    world = await World.start('file');
    await world.seedAdmin();
    const old = await world.seedCurrentKey();
    let reported = old;
    const server: Server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ twilio: { keySid: reported } })),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    try {
      await world.writeConfig([{ gate: { minOverlapSeconds: 0, probes: [{ url, field: 'twilio.keySid' }] } }]);
      const run = await world.cli(['rotate', '--force']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`probe ${url}: reports ${old}`);
      expect(world.liveKeys()).toContain(old);
      reported = (await labelledKeys(world)).current!.apiKeySid;
      const again = await world.cli(['rotate']);
      expect(again.stdout).toContain('done');
      expect(world.liveKeys()).not.toContain(old);
    } finally {
      server.close();
    }
  });

  it('waits for "confirm <target>" when manual confirmation is on', async () => {
    world = await World.start('file');
    await world.seedAdmin();
    const old = await world.seedCurrentKey();
    await world.writeConfig([{ gate: { minOverlapSeconds: 0, manualConfirm: true } }]);
    const run = await world.cli(['rotate', '--force']);
    expect(run.stdout).toContain('manual confirmation');
    expect((await world.cli(['status'])).stdout).toMatch(/waiting on: +manual confirmation/);
    expect(world.liveKeys()).toContain(old);
    const confirmed = await world.cli(['confirm', 'app']);
    expect(confirmed.code).toBe(0);
    expect((await world.cli(['rotate'])).stdout).toContain('done');
    expect(world.liveKeys()).not.toContain(old);
  });

  it('reports stuck past the maximum wait, exits 1 and deletes nothing', async () => {
    world = await World.start('file');
    await world.seedAdmin();
    const old = await world.seedCurrentKey();
    await world.writeConfig([{ gate: { minOverlapSeconds: 0, maxWaitSeconds: 60, manualConfirm: true } }]);
    const config = await world.config();
    let now = Date.now();
    await rotate(
      config,
      world.runtime(config, () => now),
      { force: true },
    );
    now += 61_000;
    const later = await rotate(
      config,
      world.runtime(config, () => now),
    );
    expect(later[0]).toMatchObject({ kind: 'stuck', kept: old });
    expect(world.liveKeys()).toContain(old);
  });
});

describe('failures', () => {
  it('revokes a new key that fails verification and leaves the current key serving', async () => {
    world = await World.start('file');
    await world.seedAdmin();
    const policy = { allow: ['/twilio/messaging/messages/list'] };
    await world.writeConfig([{ keyType: 'restricted', policy }]);
    expect((await world.cli(['rotate'])).code).toBe(0);
    // Now the validation URL needs a permission the policy does not grant: the next key is refused.
    await world.writeConfig([
      {
        keyType: 'restricted',
        policy,
        validationUrl: `https://api.twilio.com/2010-04-01/Accounts/${world.accountSid}/IncomingPhoneNumbers.json`,
      },
    ]);
    const before = world.liveKeys();
    const run = await world.cli(['rotate', '--force']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAILED at verify-pending: new key SK[0-9a-f]{32} failed verification \(HTTP 401/);
    expect(world.liveKeys().sort()).toEqual(before.sort());
    const { current, pending } = await labelledKeys(world);
    expect(pending).toBeUndefined();
    expect(await authenticates(world, current!, 'messages')).toBe(true);
    expect((await world.cli(['status'])).stdout).toMatch(/last error: .*verify-pending/);
  });

  it('explains what to fix when the admin credential is a Standard key, and changes nothing', async () => {
    world = await World.start('file');
    await world.seedAdmin('standard');
    await world.seedCurrentKey();
    await world.writeConfig();
    world.resetLogs();
    const run = await world.cli(['rotate', '--force']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /20003.*cannot manage keys.*Auth Token, a Main key, or a Restricted key with \/twilio\/iam\/api-keys\/\*/,
    );
    expect(world.mutatingCalls().twilio).toBe(0);
  });
});

describe('rotate --dry-run', () => {
  it.each<StoreKind>(['file', 'aws'])(
    'prints the whole plan and makes zero mutating calls (%s store)',
    async (kind) => {
      world = await World.start(kind);
      await world.seedAdmin();
      const old = await world.seedCurrentKey();
      await world.writeConfig([{ gate: { minOverlapSeconds: 3600 } }]);
      const fileBefore =
        kind === 'file' ? await import('node:fs/promises').then((fs) => fs.readFile(world!.storePath, 'utf8')) : '';
      world.resetLogs();
      const run = await world.cli(['rotate', '--dry-run', '--force']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('plan (dry run, nothing changed)');
      expect(run.stdout).toMatch(/check: admin credential .* can list keys/);
      expect(run.stdout).toMatch(/check: current key SK[0-9a-f]{32} authenticates/);
      expect(run.stdout).toMatch(/\d\. create key "rot-app-[0-9a-f]{32}" and store it as AWSPENDING .* because forced/);
      expect(run.stdout).toMatch(/verify the pending key/);
      expect(run.stdout).toMatch(new RegExp(`promote version [0-9a-f]{32} to AWSCURRENT; ${old} becomes AWSPREVIOUS`));
      expect(run.stdout).toMatch(new RegExp(`then nothing yet: keep ${old} until minimum overlap`));
      expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
      expect(world.twilio.controls.log.length).toBeGreaterThan(0);
      if (kind === 'file')
        expect(await import('node:fs/promises').then((fs) => fs.readFile(world!.storePath, 'utf8'))).toBe(fileBefore);
    },
  );
});
