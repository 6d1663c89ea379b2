import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../../src/entry/cli.js';
import { VERSION } from '../../src/version.js';
import { labelledKeys } from '../support/assertions.js';
import { AWS_ENV, World, type StoreKind } from '../support/world.js';

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

  it.each(['rotate', 'status', 'confirm', 'secret', 'daemon', 'audit', 'config'])(
    'prints help for %s alone, with exit 0',
    async (command) => {
      world = await World.start();
      const run = await world.cli([command, '--help', '--config', '/nonexistent.yaml']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: twilio-key-rotator ${command}`));
    },
  );
});

describe('help texts', () => {
  it("gives the daemon its own exit codes, not rotate's", async () => {
    world = await World.start();
    const help = await world.cli(['daemon', '--help']);
    expect(help.stdout).toMatch(/Exit codes: 0 stopped by SIGTERM\/SIGINT/);
    expect(help.stdout).not.toContain('a rotation failed');
  });

  it('names exit 2 in alerts --help (no channel configured)', async () => {
    world = await World.start();
    expect((await world.cli(['alerts', '--help'])).stdout).toMatch(/2 no channel is configured/);
  });

  it('lists -V, --version among the options, not after the exit codes', async () => {
    world = await World.start();
    const help = await world.cli(['--help']);
    expect(help.stdout).toMatch(/ {2}-h, --help[^\n]*\n {2}-V, --version/);
  });
});

describe('config check', () => {
  it('says a valid configuration is valid, exit 0, contacting nothing', async () => {
    world = await World.start('aws');
    await world.writeConfig([{}, { name: 'app2', secretId: 'twilio/app2' }]);
    world.resetLogs();
    const text = await world.cli(['config', 'check']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe(
      `${world.configPath}: valid (2 target(s), 0 fleet(s), 0 alert channel(s)); nothing was contacted.\n`,
    );
    const json = await world.cli(['config', 'check', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({
      valid: true,
      path: world.configPath,
      targets: ['app', 'app2'],
      fleets: [],
      channels: [],
    });
    expect(world.sm.controls.log.length + world.twilio.controls.log.length).toBe(0);
  });

  it('names every problem of an invalid one by its path, exit 2, touching nothing', async () => {
    world = await World.start('aws');
    const bad = `${world.dir}/bad.yaml`;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(bad, 'targets:\n  - name: x\n    accountSid: nope\n    colour: red\n');
    const run = await world.cli(['config', 'check', '--config', bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/targets\.0\.accountSid: must be an Account SID/);
    expect(run.stderr).toMatch(/unknown key "colour"/);
    const json = await world.cli(['config', 'check', '--config', bad, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { kind: 'config', exitCode: 2 } });
    expect(world.sm.controls.log.length + world.twilio.controls.log.length).toBe(0);
  });

  it('takes nothing but check', async () => {
    world = await World.start();
    expect((await world.cli(['config'])).code).toBe(2);
    expect((await world.cli(['config', 'check', '--target', 'app'])).code).toBe(2);
  });
});

describe('one line where a stack trace was', () => {
  it('says in one line that the sandbox port is taken, exit 1', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as AddressInfo;
    try {
      const run = spawnSync('node_modules/.bin/tsx', ['test/emulators/sandbox.ts'], {
        env: { ...process.env, TWILIO_PORT: String(port), SM_PORT: '0' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr.trim()).toBe(
        `sandbox: port ${port} is already in use; stop what holds it (another sandbox?) or choose ` +
          `free ports with TWILIO_PORT, SM_PORT, SNS_PORT and SQS_PORT`,
      );
    } finally {
      busy.close();
    }
  });
});

describe.each<StoreKind>(['file', 'aws'])('status (%s store)', (kind) => {
  it("shows the last run's error whole, as rotate printed it", async () => {
    world = await World.start(kind);
    await world.seedAdmin('auth-token');
    await world.writeConfig([{}], { retry: { attempts: 2, budgetSeconds: 5, minDelayMs: 5 } });
    expect((await world.cli(['rotate'])).code).toBe(0);
    // The new key is made, then Twilio answers 500 to every request made with it: the run fails after a step.
    world.twilio.controls.setFaults({ rate: 1, kinds: ['server-error'], operations: ['ListIncomingPhoneNumbers'] });
    const run = await world.cli(['rotate', '--force']);
    world.twilio.controls.clearFaults();
    expect(run.code).toBe(1);
    const error = /app: FAILED at \S+: (.*)$/m.exec(run.stdout)?.[1] ?? `(no failure in: ${run.stdout})`;
    expect(error).toMatch(/[()"';,]/); // punctuation the tag's character set does not take
    const status = await world.cli(['status', '--json']);
    const [app] = (JSON.parse(status.stdout) as { targets: { lastError?: string }[] }).targets;
    expect(app!.lastError, status.stdout).toContain(error);
    expect((await world.cli(['status'])).stdout).toContain(error);
  });
});

describe('setup problems', () => {
  it('exits 2 naming stores.file.path when the file store path is a directory (it was exit 1)', async () => {
    world = await World.start('file');
    await world.writeConfig([{}], {
      stores: { file: { path: world.dir }, aws: { region: 'us-east-1', endpoint: world.sm.url } },
    });
    for (const args of [['rotate'], ['status']]) {
      const run = await world.cli(args);
      expect(run.code, run.stdout).toBe(2);
      expect(run.stderr).toMatch(/stores\.file\.path: .* is a directory; point stores\.file\.path at a file/);
    }
    expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });

  it('exits 2 when the aws store has no AWS credentials to use', async () => {
    world = await World.start('aws');
    await world.writeConfig();
    const mixed = `${world.dir}/mixed.yaml`;
    const raw = world.configObject([{}, { name: 'local', secretId: 'twilio/local' }]) as {
      targets: { secret: { store: string }; admin: { store: string } }[];
    };
    raw.targets[1]!.secret.store = 'file';
    raw.targets[1]!.admin.store = 'file';
    await writeFile(mixed, stringify(raw));
    const saved = { ...process.env };
    const bare: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(bare)) if (name.startsWith('AWS_')) delete bare[name];
    Object.assign(bare, {
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: `${world.dir}/no-credentials`,
      AWS_CONFIG_FILE: `${world.dir}/no-config`,
    });
    // The SDK's credential chain reads the process's environment, not the one the CLI is handed.
    process.env = bare;
    try {
      let stderr = '';
      const err = new PassThrough().on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await runCli(['rotate', '--config', world.configPath], {
        stdout: new PassThrough(),
        stderr: err,
        env: bare,
      });
      world.record(stderr);
      expect(code, stderr).toBe(2);
      expect(stderr).toMatch(/AWS credentials: none found for the aws store .*set AWS_PROFILE/);
      // A command about a target on the file store alone needs no AWS credentials.
      stderr = '';
      const fileOnly = await runCli(['status', '--target', 'local', '--config', mixed], {
        stdout: new PassThrough(),
        stderr: err,
        env: bare,
      });
      expect(stderr).not.toContain('AWS credentials');
      expect(fileOnly, stderr).not.toBe(2);
    } finally {
      process.env = saved;
    }
    expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });
});

describe('the configuration variable', () => {
  const run = async (w: World, args: string[], env: NodeJS.ProcessEnv) => {
    let stdout = '';
    let stderr = '';
    const out = new PassThrough().on('data', (c: Buffer) => (stdout += c.toString()));
    const err = new PassThrough().on('data', (c: Buffer) => (stderr += c.toString()));
    const base: NodeJS.ProcessEnv = { ...process.env, ...AWS_ENV };
    for (const name of ['TWILIO_KEY_ROTATOR_CONFIG', 'ROTATOR_CONFIG', 'ROTATOR_CONFIG_FILE']) delete base[name];
    const code = await runCli(args, { stdout: out, stderr: err, env: { ...base, ...env } });
    w.record(stdout + stderr);
    return { code, stdout, stderr };
  };

  it('reads the file TWILIO_KEY_ROTATOR_CONFIG names when --config is not given', async () => {
    world = await World.start();
    await world.writeConfig();
    const status = await run(world, ['status'], { TWILIO_KEY_ROTATOR_CONFIG: world.configPath });
    expect(status.stdout, status.stderr).toMatch(/^app:/m);
    expect(status.stderr).not.toContain('deprecated');
  });

  it.each(['ROTATOR_CONFIG', 'ROTATOR_CONFIG_FILE'])(
    'still reads the file %s names, with a deprecation warning on stderr',
    async (old) => {
      world = await World.start();
      await world.writeConfig();
      const status = await run(world, ['status', '--json'], { [old]: world.configPath });
      expect((JSON.parse(status.stdout) as { targets: { target: string }[] }).targets[0]?.target).toBe('app');
      expect(status.stderr).toContain(`${old} is deprecated and will be removed in the next release`);
    },
  );
});

describe.each<StoreKind>(['file', 'aws'])('secret put (%s store)', (kind) => {
  const adminValue = (w: World) => JSON.stringify({ accountSid: w.accountSid, authToken: w.twilio.authToken() });

  it('stores the admin credential from stdin after checking its shape, never printing it; rotation works', async () => {
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

  it('refuses --replace of the rotated key while its gate holds the previous key, storing nothing', async () => {
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
