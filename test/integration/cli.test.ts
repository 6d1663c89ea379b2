import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { labelledKeys } from '../support/assertions.js';
import { World, type StoreKind } from '../support/world.js';

/** The CLI surface a new user meets first: help, version, and putting the admin secret in place. */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('help and version', () => {
  it('prints the version of package.json', async () => {
    world = await World.start();
    const run = await world.cli(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    expect(VERSION).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it.each(['rotate', 'status', 'confirm', 'secret', 'daemon', 'audit'])(
    'prints help for %s alone, with exit 0',
    async (command) => {
      world = await World.start();
      const run = await world.cli([command, '--help', '--config', '/nonexistent.yaml']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: twilio-key-rotator ${command}`));
    },
  );
});

describe.each<StoreKind>(['file', 'aws'])('secret put (%s store)', (kind) => {
  const adminValue = (w: World) => JSON.stringify({ accountSid: w.accountSid, authToken: w.twilio.authToken() });

  it('stores the admin credential from stdin after checking its shape, never printing it; a rotation then works', async () => {
    world = await World.start(kind);
    await world.writeConfig();
    const put = await world.cli(['secret', 'put', 'twilio/admin', '--store', kind], {}, `${adminValue(world)}\n`);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toMatch(
      new RegExp(
        `stored Auth Token of ${world.accountSid} \\(admin of "app"\\) in secret "twilio/admin" \\(${kind} store\\)`,
      ),
    );
    expect(put.stdout + put.stderr).not.toContain(world.twilio.authToken());
    expect((await world.cli(['rotate'])).stdout).toContain('app: done.');
  });

  it('refuses to replace a current value without --replace, and keeps the old one as AWSPREVIOUS with it', async () => {
    world = await World.start(kind);
    await world.writeConfig();
    expect((await world.cli(['secret', 'put', 'twilio/admin', '--store', kind], {}, adminValue(world))).code).toBe(0);
    const key = world.twilio.seedKey({ type: 'main', friendlyName: 'main' });
    const main = JSON.stringify({ accountSid: world.accountSid, adminKeySid: key.sid, adminKeySecret: key.secret });
    world.resetLogs();
    const again = await world.cli(['secret', 'put', 'twilio/admin', '--store', kind], {}, main);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already has a current value .*pass --replace/);
    expect(world.mutatingCalls().sm).toBe(0);
    const replaced = await world.cli(['secret', 'put', 'twilio/admin', '--store', kind, '--replace'], {}, main);
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toContain(`admin key ${key.sid}`);
    const { current, previous } = await labelledKeys(world, 'twilio/admin');
    expect(current).toMatchObject({ adminKeySid: key.sid });
    expect(previous).toMatchObject({ authToken: world.twilio.authToken() });
  });

  it('refuses --replace of the rotated key while its consumer gate holds the previous key, storing nothing', async () => {
    world = await World.start(kind);
    await world.seedAdmin();
    const old = await world.seedCurrentKey();
    await world.writeConfig([{ gate: { minOverlapSeconds: 0, manualConfirm: true } }]);
    expect((await world.cli(['rotate', '--force'])).stdout).toContain('manual confirmation');
    const hand = world.twilio.seedKey({ type: 'standard', friendlyName: 'by hand' });
    const value = JSON.stringify({ accountSid: world.accountSid, apiKeySid: hand.sid, apiKeySecret: hand.secret });
    world.resetLogs();
    const before = JSON.stringify(await world.store().read('twilio/app'));
    const refused = await world.cli(['secret', 'put', 'twilio/app', '--store', kind, '--replace'], {}, value);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      new RegExp(
        `secret "twilio/app" cannot be replaced now: a rotation waits at its consumer gate: the previous key ${old}`,
      ),
    );
    expect(refused.stderr).toContain('twilio-key-rotator confirm app');
    expect(refused.stderr).not.toContain(hand.secret);
    expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    expect(JSON.stringify(await world.store().read('twilio/app'))).toBe(before);
    expect(world.liveKeys()).toContain(old);
  });

  it.each<[string, (w: World) => string, string[], RegExp]>([
    [
      'a value that is not JSON',
      () => 'Tq9Zr2LmXw7PpQe4Ak3u',
      ['twilio/admin'],
      /secret "twilio\/admin" stdin: value is not JSON/,
    ],
    [
      'an admin value without a credential',
      (w) => JSON.stringify({ accountSid: w.accountSid }),
      ['twilio/admin'],
      /has none of authToken/,
    ],
    [
      'a rotated key of another account',
      () =>
        JSON.stringify({
          accountSid: `AC${'c'.repeat(32)}`,
          apiKeySid: `SK${'d'.repeat(32)}`,
          apiKeySecret: 'Tq9Zr2LmXw7PpQe4Ak3u',
        }),
      ['twilio/app'],
      /accountSid is ACc{32}, but target "app" rotates keys of AC/,
    ],
    [
      'a secret no target uses',
      (w) => adminValue(w),
      ['twilio/other'],
      /no target uses secret "twilio\/other".*\(here: "twilio\/app", "twilio\/admin"\)/,
    ],
  ])('rejects %s with exit 2, storing nothing and quoting nothing', async (_name, value, [secretId], message) => {
    world = await World.start(kind);
    await world.writeConfig();
    world.resetLogs();
    const run = await world.cli(['secret', 'put', secretId!, '--store', kind], {}, value(world));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain('Tq9Zr2LmXw7PpQe4Ak3u');
    expect(world.mutatingCalls().sm).toBe(0);
    expect(await world.store().read(secretId!)).toBeUndefined();
  });
});
