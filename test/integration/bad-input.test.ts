import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

/** What `--replace-secondary` on an API-key target says: the words come from the kind's table. */
const NOT_A_SECONDARY = new RegExp(
  '--replace-secondary is for Auth Token targets; "app" is a target of kind api-key, ' +
    'whose keys have no secondary token',
);

/**
 * Bad input of every kind — secret contents and CLI invocations (configs: test/unit/config.test.ts)
 * — gets a clear message naming the field, the right exit code, and changes nothing anywhere.
 */

let world: World;
const token = () => randomBytes(16).toString('hex');
const SK = `SK${'b'.repeat(32)}`;
const COMMANDS = 'rotate, status, confirm, abort, rollback, secret, alerts, daemon, audit or config';

beforeAll(async () => {
  world = await World.start('aws');
  await world.writeConfig([{}, { adminSecretId: 'twilio/admin-bad' }]);
  await world.seedAdmin('auth-token');
});
afterAll(async () => {
  // Nothing printed in this file may contain a secret the emulators issued.
  const printed = world.output.join('\n');
  for (const secret of world.twilio.issuedSecrets()) expect(printed.includes(secret)).toBe(false);
  await world.close();
});

async function expectRejected(args: string[], code: number, message: RegExp): Promise<void> {
  const storeBefore = JSON.stringify([
    world.sm.inspect('twilio/app'),
    world.sm.inspect('twilio/app1'),
    world.sm.inspect('twilio/admin-bad'),
    world.sm.inspect('twilio/token-bad'),
  ]);
  world.resetLogs();
  const run = await world.cli(args);
  expect(run.code, `stdout: ${run.stdout}\nstderr: ${run.stderr}`).toBe(code);
  expect(`${run.stdout}\n${run.stderr}`).toMatch(message);
  expect(world.mutatingCalls(), 'no mutating call to Twilio or Secrets Manager').toEqual({ twilio: 0, sm: 0 });
  expect(
    JSON.stringify([
      world.sm.inspect('twilio/app'),
      world.sm.inspect('twilio/app1'),
      world.sm.inspect('twilio/admin-bad'),
      world.sm.inspect('twilio/token-bad'),
    ]),
  ).toBe(storeBefore);
}

/** Replaces a secret's current value through Secrets Manager directly, as a person might. */
async function setSecret(secretId: string, value: string): Promise<void> {
  const store = world.store();
  if (!(await store.read(secretId))) await store.create(secretId, token(), value);
  else {
    const t = token();
    await store.putPending(secretId, t, value);
    await store.promote(secretId, t);
  }
}

const AC = () => world.accountSid;

describe('bad secret contents', () => {
  const adminCases: [string, () => string, RegExp][] = [
    [
      'is not JSON',
      () => 'authToken=abc',
      /secret "twilio\/admin-bad" AWSCURRENT version [0-9a-f]{32}: value is not JSON/,
    ],
    ['is a JSON array', () => '["x"]', /value is not a JSON object/],
    ['lacks accountSid', () => JSON.stringify({ authToken: 'f'.repeat(32) }), /accountSid is missing/],
    [
      'has a malformed accountSid',
      () => JSON.stringify({ accountSid: 'AC12', authToken: 'f'.repeat(32) }),
      /accountSid does not look like an Account SID/,
    ],
    [
      'has no credential fields',
      () => JSON.stringify({ accountSid: AC() }),
      /has none of authToken, adminKeySid\/adminKeySecret or apiKeySid\/apiKeySecret/,
    ],
    [
      'has a malformed adminKeySid',
      () => JSON.stringify({ accountSid: AC(), adminKeySid: 'key-1', adminKeySecret: 'x'.repeat(32) }),
      /adminKeySid does not look like an API key SID/,
    ],
    [
      'has adminKeySid without adminKeySecret',
      () => JSON.stringify({ accountSid: AC(), adminKeySid: SK }),
      /adminKeySecret is missing/,
    ],
    [
      'has an empty authToken',
      () => JSON.stringify({ accountSid: AC(), authToken: '' }),
      /authToken is missing or not a non-empty string/,
    ],
  ];
  it.each(adminCases)('rejects an admin secret that %s', async (_name, value, message) => {
    await setSecret('twilio/admin-bad', value());
    await expectRejected(['rotate', '--target', 'app1', '--force'], 1, message);
  });

  it('rejects a missing admin secret, saying which shapes it accepts', async () => {
    await world.writeConfig([{}, { adminSecretId: 'twilio/admin-missing' }]);
    await expectRejected(
      ['rotate', '--target', 'app1'],
      1,
      /admin secret "twilio\/admin-missing" .* does not exist.*"authToken"/,
    );
    await world.writeConfig([{}, { adminSecretId: 'twilio/admin-bad' }]);
  });

  const currentCases: [string, () => string, RegExp][] = [
    ['is not JSON', () => '{"accountSid": ', /secret "twilio\/app" AWSCURRENT version [0-9a-f]{32}: value is not JSON/],
    [
      'lacks apiKeySecret',
      () => JSON.stringify({ accountSid: AC(), apiKeySid: SK }),
      /AWSCURRENT version [0-9a-f]{32}: apiKeySecret is missing/,
    ],
    [
      'has a malformed apiKeySid',
      () => JSON.stringify({ accountSid: AC(), apiKeySid: 'SK1', apiKeySecret: 'x'.repeat(32) }),
      /AWSCURRENT version [0-9a-f]{32}: apiKeySid does not look like an API key SID/,
    ],
    [
      'belongs to another account',
      () => JSON.stringify({ accountSid: `AC${'c'.repeat(32)}`, apiKeySid: SK, apiKeySecret: 'x'.repeat(32) }),
      /AWSCURRENT version [0-9a-f]{32}: accountSid is ACc{32}, but target "app" rotates keys of AC/,
    ],
    [
      'has a numeric accountSid',
      () => JSON.stringify({ accountSid: 5, apiKeySid: SK, apiKeySecret: 'x'.repeat(32) }),
      /AWSCURRENT version [0-9a-f]{32}: accountSid is missing or not a non-empty string/,
    ],
  ];
  it.each(currentCases)(
    'rejects a rotated secret whose current value %s, in rotate, dry run and status',
    async (_name, value, message) => {
      await setSecret('twilio/app', value());
      await expectRejected(['rotate', '--target', 'app', '--force'], 1, message);
      await expectRejected(['rotate', '--target', 'app', '--dry-run'], 1, message);
      await expectRejected(['status', '--target', 'app'], 1, message);
    },
  );
});

describe('bad CLI invocations', () => {
  const cases: [string, string[], RegExp][] = [
    ['no command', [], /Usage: twilio-key-rotator <command>/],
    ['an unknown command', ['rotat'], new RegExp(`unknown command "rotat"; expected ${COMMANDS}`)],
    ['an unknown option', ['rotate', '--dryrun'], /Unknown option '--dryrun'/],
    ['--target without a name', ['rotate', '--target'], /--target/],
    ['an unknown target', ['rotate', '--target', 'nope'], /unknown target "nope"; configured: app, app1/],
    [
      'a stray positional argument',
      ['rotate', 'app'],
      /unexpected argument "app" for rotate; name targets with --target/,
    ],
    [
      '--force on status',
      ['status', '--force'],
      /--dry-run, --force and --replace-secondary belong to rotate, not status/,
    ],
    ['confirm without a target', ['confirm'], /confirm takes exactly one target name/],
    ['confirm with two targets', ['confirm', 'app', 'app1'], /confirm takes exactly one target name/],
    ['confirm of an unknown target', ['confirm', 'nope'], /unknown target "nope"/],
    ['abort without a target', ['abort'], /abort takes exactly one target name/],
    ['abort with --target', ['abort', '--target', 'app'], /--target belongs to rotate and status; abort names/],
    ['--replace-secondary on abort', ['abort', 'app', '--replace-secondary'], /belong to rotate, not abort/],
    [
      'abort of an API-key target',
      ['abort', 'app'],
      /has nothing to abort: abort backs out a rotation before its point of no return, and a key rotation has none/,
    ],
    ['daemon with --target', ['daemon', '--target', 'app'], /--target belongs to rotate and status; the daemon runs/],
    ['daemon with an argument', ['daemon', 'app'], /unexpected argument "app" for daemon/],
    ['--force on daemon', ['daemon', '--force'], /belong to rotate, not daemon/],
    [
      '--force on rollback, which takes --dry-run of that group',
      ['rollback', 'app', '--force'],
      /rotator: --force belongs to rotate, not rollback/,
    ],
    ['audit --dry-run without --cleanup', ['audit', '--dry-run'], /--dry-run on audit goes with --cleanup/],
    [
      'audit --older-than that is not a number',
      ['audit', '--older-than', 'ninety'],
      /--older-than must be a whole number of days from 1 to 3650, got "ninety"/,
    ],
    ['audit --older-than 0', ['audit', '--older-than', '0'], /--older-than must be a whole number/],
    ['--cleanup on rotate', ['rotate', '--cleanup'], /--cleanup and --older-than belong to audit, not rotate/],
    ['audit with --target', ['audit', '--target', 'app'], /audit covers every configured account/],
    ['audit with an argument', ['audit', 'app'], /unexpected argument "app" for audit/],
    ['--now without --overlap', ['rotate', '--now', 'app'], /--now needs --overlap SECONDS/],
    ['--overlap without --now', ['rotate', '--overlap', '5'], /--overlap goes with --now TARGET/],
    [
      '--overlap beyond an hour',
      ['rotate', '--now', 'app', '--overlap', '5000'],
      /--overlap must be a whole number of seconds from 0 to 3600/,
    ],
    [
      '--now with --target',
      ['rotate', '--now', 'app', '--overlap', '0', '--target', 'app'],
      /--now names its one target/,
    ],
    [
      '--now with --dry-run',
      ['rotate', '--now', 'app', '--overlap', '0', '--dry-run'],
      /--now changes things at once and has no dry run/,
    ],
    ['--now on status', ['status', '--now', 'app'], /--now and --overlap belong to rotate, not status/],
    ['--now of an unknown target', ['rotate', '--now', 'nope', '--overlap', '0'], /unknown target "nope"/],
    [
      '--now given twice (only the last was rotated)',
      ['rotate', '--now', 'app', '--now', 'app1', '--overlap', '0'],
      /--now takes one value and was given twice \(--now, --now\); give it once/,
    ],
    [
      '--overlap given twice',
      ['rotate', '--now', 'app', '--overlap', '0', '--overlap', '5'],
      /--overlap takes one value and was given twice/,
    ],
    [
      '--config given twice',
      ['status', '--config', '/a.yaml', '-c', '/b.yaml'],
      /--config takes one value .*--config, -c/,
    ],
    [
      "--replace-secondary without --target (it replaced every Auth Token target's secondary)",
      ['rotate', '--replace-secondary'],
      /--replace-secondary needs --target NAME \(or --now NAME\)/,
    ],
    ['--replace-secondary on an API-key target', ['rotate', '--target', 'app', '--replace-secondary'], NOT_A_SECONDARY],
    [
      '--replace-secondary with --now on an API-key target',
      ['rotate', '--now', 'app', '--overlap', '0', '--replace-secondary'],
      NOT_A_SECONDARY,
    ],
    [
      'a config file that does not exist',
      ['rotate', '--config', '/nonexistent/rotator.yaml'],
      /file \/nonexistent\/rotator\.yaml does not exist; pass --config/,
    ],
  ];
  it.each(cases)('rejects %s with exit code 2', async (_name, args, message) => {
    await expectRejected(args, 2, message);
  });

  it.each<[string, string[], string]>([
    ['a usage error', ['rotate', '--target', 'app', '--now', 'app', '--overlap', '0', '--json'], 'usage'],
    ['an unknown option', ['status', '--jsn', '--json'], 'usage'],
    ['no command', ['--json'], 'usage'],
    ['a missing config file', ['status', '--json', '--config', '/nonexistent/rotator.yaml'], 'config'],
  ])('prints one JSON document on stdout with --json and %s (stdout stayed empty)', async (_name, args, kind) => {
    world.resetLogs();
    const run = await world.cli(args);
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as { error: { kind: string; exitCode: number; message: string } };
    expect(doc.error).toMatchObject({ kind, exitCode: 2, message: expect.any(String) as string });
    expect(run.stderr).toMatch(kind === 'config' ? /does not exist/ : /usage/i);
    expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
  });

  it('lists every configuration problem by path in the --json error document', async () => {
    const bad = `${world.dir}/bad-json.yaml`;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(bad, 'targets:\n  - name: x\n    accountSid: nope\n');
    const run = await world.cli(['rotate', '--json', '--config', bad]);
    expect(run.code).toBe(2);
    const doc = JSON.parse(run.stdout) as { error: { kind: string; source: string; issues: { path: string }[] } };
    expect(doc.error).toMatchObject({ kind: 'config', source: bad });
    expect(doc.error.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['targets.0.accountSid']));
  });

  it('rejects a config that parses but is invalid, naming every field, with exit code 2', async () => {
    const bad = `${world.dir}/bad.yaml`;
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(bad, 'targets:\n  - name: x\n    accountSid: nope\n    keyType: standard\n'),
    );
    await expectRejected(
      ['rotate', '--config', bad],
      2,
      /targets\.0\.accountSid: must be an Account SID[\s\S]*targets\.0\.friendlyNamePrefix: is required/,
    );
    expect(await readFile(bad, 'utf8')).toContain('accountSid: nope');
  });
});

describe('bad Auth Token input', () => {
  let config: string;
  beforeAll(async () => {
    config = `${world.dir}/token.yaml`;
    const { writeFile } = await import('node:fs/promises');
    const { stringify } = await import('yaml');
    await writeFile(config, stringify(world.configObject([{ kind: 'auth-token', secretId: 'twilio/token-bad' }])));
  });
  const secretish = `tok-${randomBytes(12).toString('hex')}`;
  const cases: [string, () => string, RegExp][] = [
    ['is not JSON', () => `{"authToken": "${secretish}"`, /AWSCURRENT version [0-9a-f]{32}: value is not JSON/],
    ['lacks authToken', () => JSON.stringify({ accountSid: AC() }), /authToken is missing/],
    [
      'belongs to another account',
      () => JSON.stringify({ accountSid: `AC${'c'.repeat(32)}`, authToken: secretish }),
      /accountSid is ACc{32}, but target "token" rotates the Auth Token of AC/,
    ],
  ];
  it.each(cases)(
    'rejects a token secret that %s, in rotate, dry run and status, without quoting it',
    async (_name, value, message) => {
      await setSecret('twilio/token-bad', value());
      for (const args of [['rotate', '--force'], ['rotate', '--dry-run', '--force'], ['status']]) {
        await expectRejected([...args, '--config', config], 1, message);
      }
      expect(world.output.join('\n')).not.toContain(secretish);
    },
  );

  const configs: [string, Record<string, unknown>, RegExp][] = [
    ['a propagation delay past 300 s', { propagationDelaySeconds: 301 }, /targets\.0\.propagationDelaySeconds/],
    [
      'a validationUrl that is not Twilio over https',
      { validationUrl: 'http://example.com/x' },
      /targets\.0\.validationUrl: must be an https:\/\/….twilio.com\/ URL/,
    ],
    ['a keyType', { keyType: 'standard' }, /targets\.0.*keyType/],
  ];
  it.each(configs)('refuses a config with %s, exit 2, naming the field', async (_name, extra, message) => {
    const { writeFile } = await import('node:fs/promises');
    const { stringify } = await import('yaml');
    const raw = world.configObject([{ kind: 'auth-token', secretId: 'twilio/token-bad' }]) as {
      targets: Record<string, unknown>[];
    };
    Object.assign(raw.targets[0]!, extra);
    const bad = `${world.dir}/token-bad.yaml`;
    await writeFile(bad, stringify(raw));
    await expectRejected(['rotate', '--config', bad], 2, message);
  });

  it('refuses two Auth Token targets on one account: they would promote over each other', async () => {
    const { writeFile } = await import('node:fs/promises');
    const { stringify } = await import('yaml');
    const bad = `${world.dir}/token-twice.yaml`;
    await writeFile(
      bad,
      stringify(
        world.configObject([
          { kind: 'auth-token', secretId: 'twilio/token-bad' },
          { kind: 'auth-token', name: 'token2', secretId: 'twilio/token-2' },
        ]),
      ),
    );
    await expectRejected(
      ['rotate', '--config', bad],
      2,
      /targets\.1\.accountSid: already has its Auth Token rotated by target "token"/,
    );
  });
});
