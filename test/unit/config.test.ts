import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const AC = `AC${'a'.repeat(32)}`;

function base(): Record<string, unknown> {
  return {
    stores: { file: { path: './secrets.json' } },
    targets: [
      {
        name: 'app',
        accountSid: AC,
        keyType: 'standard',
        friendlyNamePrefix: 'rot-app-',
        secret: { store: 'file', secretId: 'twilio/app' },
        admin: { store: 'file', secretId: 'twilio/admin' },
      },
    ],
  };
}

type Mutate = (c: Record<string, any>) => void;
const target = (c: Record<string, any>) => c.targets[0] as Record<string, any>;

function issuesOf(mutate: Mutate | string, env: NodeJS.ProcessEnv = {}): { path: string; message: string }[] {
  const cfg = base();
  const text = typeof mutate === 'string' ? mutate : (mutate(cfg), stringify(cfg));
  try {
    parseConfig(text, { env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected the configuration to be rejected');
}

describe('configuration', () => {
  it('accepts a minimal target and fills defaults in milliseconds', () => {
    const cfg = parseConfig(stringify(base()), { baseDir: '/etc/rotator' });
    expect(cfg.stores.file?.path).toBe('/etc/rotator/secrets.json');
    expect(cfg.targets[0]).toMatchObject({
      maxAgeMs: 30 * 86_400_000,
      gate: { minOverlapMs: 3_600_000, maxWaitMs: 7 * 86_400_000, manualConfirm: false, probes: [] },
    });
    expect(cfg.retry).toEqual({ attempts: 5, budgetMs: 30_000, minDelayMs: 200 });
  });

  it('substitutes ${ENV} and ${ENV:-default}, turning a whole-number reference into a number', () => {
    const cfg = base();
    target(cfg).accountSid = '${ACCOUNT}';
    target(cfg).maxAgeDays = '${AGE:-7}';
    const parsed = parseConfig(stringify(cfg), { env: { ACCOUNT: AC } });
    expect(parsed.targets[0]).toMatchObject({ accountSid: AC, maxAgeMs: 7 * 86_400_000 });
  });

  it('reports every pair of overlapping prefixes on an account, and none across accounts', () => {
    const other = `AC${'b'.repeat(32)}`;
    const issues = issuesOf((c) => {
      const t = target(c);
      const add = (name: string, prefix: string, accountSid = AC) =>
        c.targets.push({
          ...t,
          name,
          accountSid,
          friendlyNamePrefix: prefix,
          secret: { store: 'file', secretId: name },
        });
      add('b', 'rot-');
      add('c', 'rot-app-x-', AC.toLowerCase().replace(/^ac/, 'AC'));
      add('d', 'zzz-');
      add('e', 'rot-app-', other);
      add('f', 'rot-app-');
    }).filter((i) => i.path.endsWith('friendlyNamePrefix'));
    // app rot-app-, b rot-, c rot-app-x-, f rot-app- on one account; e is on another.
    expect(issues.map((i) => `${i.path} ${/target "(\w+)"/.exec(i.message)?.[1]}`)).toEqual([
      'targets.1.friendlyNamePrefix app',
      'targets.2.friendlyNamePrefix app',
      'targets.5.friendlyNamePrefix app',
      'targets.2.friendlyNamePrefix b',
      'targets.5.friendlyNamePrefix b',
      'targets.5.friendlyNamePrefix c',
    ]);
  });

  it('accepts a thousand targets that share anchors on one account, prefix checks included', () => {
    const cfg = base();
    const t = target(cfg);
    (cfg.targets as unknown[]).push(
      ...Array.from({ length: 1000 }, (_, i) => ({
        ...t,
        name: `t${i}`,
        friendlyNamePrefix: `rot-${i}-`,
        secret: { store: 'file', secretId: `s${i}` },
      })),
    );
    const text = stringify(cfg);
    // yaml writes the shared admin and store objects once, as anchors, and aliases them 1,000 times.
    expect(text.match(/\*a\d+/g)?.length).toBeGreaterThanOrEqual(1000);
    expect(parseConfig(text).targets).toHaveLength(1001);
  });

  const cases: [string, Mutate | string, string, RegExp, NodeJS.ProcessEnv?][] = [
    [
      'YAML syntax errors',
      'targets:\n  - name: "x\n',
      'line 3, column 1',
      /YAML syntax: unexpected end of the stream within a double quoted scalar/,
    ],
    ['duplicate YAML keys', 'targets: []\ntargets: []\n', 'line 2, column 1', /YAML syntax: duplicated mapping key/],
    [
      'an unknown YAML tag, without quoting it',
      'targets: !!secret-token-1234 x\n',
      'line 1, column 31',
      /^YAML syntax: unknown tag !<…>$/,
    ],
    ['a document that is not a mapping', '- just\n- a list', '', /must be a YAML mapping/],
    ['an unknown top-level key (a typo)', (c) => (c.target = []), '', /unknown key "target"/],
    ['an unknown key inside a target', (c) => (target(c).maxAgeDay = 3), 'targets.0', /unknown key "maxAgeDay"/],
    [
      'a YAML merge key, saying what to write instead',
      'stores: { file: { path: ./s.json } }\ntargets:\n  - <<: { keyType: standard }\n    name: app\n',
      'targets.0',
      /unknown key "<<".*merge key.*alias whole values/,
    ],
    [
      'an unknown key inside the gate',
      (c) => (target(c).gate = { minOverlap: 3 }),
      'targets.0.gate',
      /unknown key "minOverlap"/,
    ],
    ['no targets at all', (c) => (c.targets = []), 'targets', /at least one target/],
    ['a missing accountSid', (c) => delete target(c).accountSid, 'targets.0.accountSid', /is required/],
    [
      'a malformed accountSid',
      (c) => (target(c).accountSid = 'AC123'),
      'targets.0.accountSid',
      /AC followed by 32 hex/,
    ],
    ['an unknown keyType', (c) => (target(c).keyType = 'main'), 'targets.0.keyType', /"standard" or "restricted"/],
    [
      'a restricted key without a policy',
      (c) => (target(c).keyType = 'restricted'),
      'targets.0.policy',
      /is required for keyType "restricted"/,
    ],
    [
      'a policy on a standard key',
      (c) => (target(c).policy = 'inherit'),
      'targets.0.policy',
      /only for keyType "restricted"/,
    ],
    [
      'a malformed permission',
      (c) => Object.assign(target(c), { keyType: 'restricted', policy: { allow: ['messaging:read'] } }),
      'targets.0.policy.allow.0',
      /\/twilio\/<product>/,
    ],
    [
      'more than 100 permissions',
      (c) =>
        Object.assign(target(c), {
          keyType: 'restricted',
          policy: { allow: Array.from({ length: 101 }, (_, i) => `/twilio/messaging/m${i}/read`) },
        }),
      'targets.0.policy.allow',
      /at most 100/,
    ],
    [
      'an empty allow list',
      (c) => Object.assign(target(c), { keyType: 'restricted', policy: { allow: [] } }),
      'targets.0.policy.allow',
      /at least one permission/,
    ],
    [
      'a restricted policy nothing can verify, without validationUrl',
      (c) => Object.assign(target(c), { keyType: 'restricted', policy: { allow: ['/twilio/voice/calls/create'] } }),
      'targets.0.validationUrl',
      /is required/,
    ],
    [
      'a restricted key outside us1',
      (c) =>
        Object.assign(target(c), {
          keyType: 'restricted',
          region: 'ie1',
          policy: { allow: ['/twilio/messaging/messages/list'] },
        }),
      'targets.0.region',
      /only in us1/,
    ],
    [
      'a validation URL off twilio.com',
      (c) => (target(c).validationUrl = 'https://evil.example.com/collect'),
      'targets.0.validationUrl',
      /twilio\.com/,
    ],
    [
      'a prefix too long for FriendlyName',
      (c) => (target(c).friendlyNamePrefix = 'p'.repeat(33)),
      'targets.0.friendlyNamePrefix',
      /at most 32/,
    ],
    [
      'a prefix with odd characters',
      (c) => (target(c).friendlyNamePrefix = 'rot app'),
      'targets.0.friendlyNamePrefix',
      /may hold only/,
    ],
    [
      'an empty prefix',
      (c) => (target(c).friendlyNamePrefix = ''),
      'targets.0.friendlyNamePrefix',
      /must not be empty/,
    ],
    [
      'a store that is not configured',
      (c) => (target(c).secret = { store: 'aws', secretId: 'x' }),
      'targets.0.secret.store',
      /stores.aws is not configured/,
    ],
    [
      'an unknown store name',
      (c) => (target(c).secret = { store: 'vault', secretId: 'x' }),
      'targets.0.secret.store',
      /"file" or "aws"/,
    ],
    [
      'the admin secret equal to the rotated secret',
      (c) => (target(c).admin = { store: 'file', secretId: 'twilio/app' }),
      'targets.0.admin.secretId',
      /must differ/,
    ],
    [
      'two targets with one name',
      (c) => c.targets.push({ ...target(c), friendlyNamePrefix: 'other-', secret: { store: 'file', secretId: 'b' } }),
      'targets.1.name',
      /duplicates/,
    ],
    [
      'two targets sharing a secret',
      (c) => c.targets.push({ ...target(c), name: 'b', friendlyNamePrefix: 'other-' }),
      'targets.1.secret.secretId',
      /already rotated by target "app"/,
    ],
    [
      'overlapping prefixes on one account',
      (c) =>
        c.targets.push({
          ...target(c),
          name: 'b',
          friendlyNamePrefix: 'rot-app-b-',
          secret: { store: 'file', secretId: 'b' },
        }),
      'targets.1.friendlyNamePrefix',
      /overlaps/,
    ],
    [
      'a negative overlap',
      (c) => (target(c).gate = { minOverlapSeconds: -5 }),
      'targets.0.gate.minOverlapSeconds',
      /0 or more/,
    ],
    [
      'a maximum wait shorter than the overlap',
      (c) => (target(c).gate = { minOverlapSeconds: 600, maxWaitSeconds: 60 }),
      'targets.0.gate.maxWaitSeconds',
      /at least gate.minOverlapSeconds/,
    ],
    ['maxAgeDays as text', (c) => (target(c).maxAgeDays = 'thirty'), 'targets.0.maxAgeDays', /must be a number/],
    [
      'a probe without a URL scheme',
      (c) => (target(c).gate = { probes: [{ url: 'app.internal/health', field: 'keySid' }] }),
      'targets.0.gate.probes.0.url',
      /http\(s\) URL/,
    ],
    [
      'a probe field that is not a dot path',
      (c) => (target(c).gate = { probes: [{ url: 'http://a/h', field: 'twilio..sid' }] }),
      'targets.0.gate.probes.0.field',
      /dot path/,
    ],
    [
      'a probe header without its env variable',
      (c) => (target(c).gate = { probes: [{ url: 'http://a/h', field: 'sid', headerName: 'Authorization' }] }),
      'targets.0.gate.probes.0.headerName',
      /set both or neither/,
    ],
    [
      'a probe header whose env variable is unset',
      (c) =>
        (target(c).gate = {
          probes: [{ url: 'http://a/h', field: 'sid', headerName: 'Authorization', headerValueEnv: 'PROBE_TOKEN' }],
        }),
      'targets.0.gate.probes.0.headerValueEnv',
      /PROBE_TOKEN is not set/,
    ],
    ['an unset ${ENV} reference', (c) => (target(c).accountSid = '${NOPE}'), 'targets.0.accountSid', /NOPE is not set/],
    ['retry attempts out of range', (c) => (c.retry = { attempts: 0 }), 'retry.attempts', /at least 1/],
    ['an invalid AWS region', (c) => (c.stores.aws = { region: 'europe' }), 'stores.aws.region', /AWS region/],
    ['a bad twilio.baseUrl', (c) => (c.twilio = { baseUrl: 'not a url' }), 'twilio.baseUrl', /URL/],
    // Numbers that pass validation must not fail later, after changes were made.
    ['maxAgeDays beyond any date', (c) => (target(c).maxAgeDays = 1e300), 'targets.0.maxAgeDays', /at most 3650/],
    [
      'a Twilio timeout beyond a timer',
      (c) => (c.twilio = { timeoutSeconds: 2 ** 31 }),
      'twilio.timeoutSeconds',
      /at most 300/,
    ],
    ['a retry budget of days', (c) => (c.retry = { budgetSeconds: 86400 }), 'retry.budgetSeconds', /at most 3600/],
    [
      'a maximum wait of years',
      (c) => (target(c).gate = { maxWaitSeconds: 1e9 }),
      'targets.0.gate.maxWaitSeconds',
      /at most/,
    ],
    ['an infinite grace', (c) => (c.orphanGraceSeconds = 1e12), 'orphanGraceSeconds', /at most/],
    [
      'a probe timeout of hours',
      (c) => (target(c).gate = { probes: [{ url: 'http://a/h', field: 'sid', timeoutSeconds: 7200 }] }),
      'targets.0.gate.probes.0.timeoutSeconds',
      /at most 60/,
    ],
    [
      'a Secrets Manager timeout beyond a timer',
      (c) => (c.stores.aws = { region: 'us-east-1', timeoutSeconds: 1e7 }),
      'stores.aws.timeoutSeconds',
      /at most 300/,
    ],
    [
      'credentials in a probe URL',
      (c) => (target(c).gate = { probes: [{ url: 'https://ops:hunter2hunter2@app.internal/health', field: 'sid' }] }),
      'targets.0.gate.probes.0.url',
      /must not carry credentials/,
    ],
    [
      'credentials in the Secrets Manager endpoint',
      (c) => (c.stores.aws = { region: 'us-east-1', endpoint: 'https://a:b@vpce.example.com' }),
      'stores.aws.endpoint',
      /must not carry credentials/,
    ],
    [
      "one target's rotated secret being another's admin secret",
      (c) =>
        c.targets.push({
          ...target(c),
          name: 'b',
          friendlyNamePrefix: 'other-',
          secret: { store: 'file', secretId: 'twilio/admin' },
          admin: { store: 'file', secretId: 'twilio/admin-b' },
        }),
      'targets.1.secret.secretId',
      /is the admin secret of target "app"/,
    ],
    [
      'a YAML alias bomb',
      ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
        .concat('bcdefghi'.split('').map((l, i) => `${l}: &${l} [${`*${'abcdefghi'[i]},`.repeat(10).slice(0, -1)}]`))
        .join('\n'),
      '',
      /aliases expand/,
    ],
    ['a YAML alias that contains itself', 'targets: &t [*t]\n', '', /aliases expand/],
  ];

  it.each(cases)('rejects %s, naming the field', (_name, mutate, path, message, env) => {
    const issues = issuesOf(mutate, env);
    const hit = issues.find((i) => i.path === path && message.test(i.message));
    expect(hit, `issues were: ${JSON.stringify(issues)}`).toBeDefined();
  });

  it('never repeats the value of a URL that carries credentials', () => {
    const issues = issuesOf(
      (c) => (target(c).gate = { probes: [{ url: 'https://ops:hunter2hunter2@app.internal/health', field: 'sid' }] }),
    );
    expect(JSON.stringify(issues)).not.toContain('hunter2');
  });

  it('says where a YAML syntax error is: line and column', () => {
    const issues = issuesOf('stores:\n  file:\n    path: x\ntargets: [\n  - name: "x\n');
    expect(issues[0]).toMatchObject({
      path: expect.stringMatching(/^line \d+, column \d+$/) as string,
      message: expect.stringContaining('YAML syntax') as string,
    });
  });

  it('reports an unset variable once, not again as the check its empty value fails', () => {
    const issues = issuesOf((c) => (target(c).accountSid = '${NOPE}'));
    expect(issues).toEqual([
      { path: 'targets.0.accountSid', message: 'environment variable NOPE is not set (referenced as ${NOPE})' },
    ]);
  });

  it('reports problems of one target and conflicts between the others in the same pass', () => {
    const issues = issuesOf((c) => {
      c.targets.push({ ...target(c), friendlyNamePrefix: 'other-', secret: { store: 'file', secretId: 'b' } });
      c.targets.push({ ...target(c), name: 'c', accountSid: 'nope' });
    });
    expect(issues.map((i) => i.path).sort()).toEqual(['targets.1.name', 'targets.2.accountSid']);
  });

  it('reports every problem at once, not just the first', () => {
    const issues = issuesOf((c) => {
      target(c).accountSid = 'nope';
      target(c).keyType = 'other';
      c.extra = 1;
    });
    expect(issues.map((i) => i.path).sort()).toEqual(['', 'targets.0.accountSid', 'targets.0.keyType']);
  });

  it("refuses a rotated secret of any kind that may not be an admin secret as a fleet's parent credential", () => {
    const parent = { store: 'file', secretId: 'twilio/parent' };
    const fleet = { name: 'tenants', parentAccountSid: AC, admin: parent };
    const template = { secret: { store: 'file', secretId: 'twilio/t/{accountSid}' }, keyType: 'standard' };
    const oauthApp = {
      kind: 'oauth-app',
      name: 'app2',
      accountSid: AC,
      secret: parent,
      admin: { store: 'file', secretId: 'twilio/admin' },
      policy: { allow: ['/twilio/messaging/messages/list'] },
      friendlyNamePrefix: 'oa-',
    };
    const issues = issuesOf((c) => {
      c.targets.push(oauthApp);
      c.fleets = [{ ...fleet, template: { ...template, friendlyNamePrefix: 'f-' } }];
    });
    expect(issues).toEqual([
      {
        path: 'targets.1.secret.secretId',
        message:
          'is the admin secret of fleet "tenants": ' +
          "rotating it would replace the parent's credential; use another secret",
      },
    ]);
  });

  it("checks a fleet template's gate as it checks a target's: every member gets that gate", () => {
    const gate = {
      minOverlapSeconds: 100,
      maxWaitSeconds: 10,
      probes: [{ url: 'https://probe.example.com/', field: 'twilio.keySid', headerName: 'X-Token' }],
    };
    const secret = { store: 'file', secretId: 'twilio/t/{accountSid}' };
    const template = { secret, keyType: 'standard', friendlyNamePrefix: 'f-', gate };
    const parent = { store: 'file', secretId: 'twilio/parent' };
    const issues = issuesOf((c) => {
      c.fleets = [{ name: 'tenants', parentAccountSid: AC, admin: parent, template }];
    });
    expect(issues).toEqual([
      { path: 'fleets.0.template.gate.maxWaitSeconds', message: 'must be at least gate.minOverlapSeconds (100)' },
      {
        path: 'fleets.0.template.gate.probes.0.headerName',
        message: 'headerName and headerValueEnv go together: set both or neither',
      },
    ]);
  });
});
