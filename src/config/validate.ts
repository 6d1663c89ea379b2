import { isAbsolute, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { configSchema, storesSchema, targetSchema, type RawConfig, type RawTarget } from './schema.js';
import type { RotatorConfig, TargetConfig } from './types.js';
import { verifyMethodFor } from '../core/verify-method.js';

const SECOND = 1000;
const DAY = 24 * 3600 * SECOND;

/**
 * Substitutes `${ENV}`, validates and converts a configuration object. Throws ConfigError with every
 * problem found in one pass: unset variables, schema errors, and the cross-target checks for every
 * target that is itself well-formed.
 */
export function parseConfigObject(
  raw: unknown,
  options: { env?: NodeJS.ProcessEnv; source?: string; baseDir?: string } = {},
): RotatorConfig {
  const source = options.source ?? 'configuration';
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const substituted = substitute(raw, [], env, issues);
  // A path whose variable is unset would also fail its own check: report the cause once.
  const unset = new Set(issues.map((i) => i.path));
  const parsed = configSchema.safeParse(substituted);
  if (parsed.success) {
    crossCheck(
      parsed.data.stores,
      parsed.data.targets.map((t, index) => ({ index, t })),
      issues,
      env,
    );
    if (issues.length > 0) throw new ConfigError(issues, source);
    return convert(parsed.data, options.baseDir ?? process.cwd());
  }
  for (const i of parsed.error.issues.flatMap((x) => describeIssue(x as ZodIssueLike, [], substituted))) {
    if (!unset.has(i.path)) issues.push(i);
  }
  // The targets that are fine on their own still get the checks between targets.
  const input = (substituted ?? {}) as { stores?: unknown; targets?: unknown };
  const stores = storesSchema.safeParse(input.stores ?? {});
  const targets = (Array.isArray(input.targets) ? input.targets : []).flatMap((t: unknown, index) => {
    const one = targetSchema.safeParse(t);
    return one.success ? [{ index, t: one.data }] : [];
  });
  if (stores.success) crossCheck(stores.data, targets, issues, env);
  throw new ConfigError(issues, source);
}

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  errors?: ZodIssueLike[][];
}

/** One readable line per problem. For "inherit or {allow}" style unions, report the branch the user meant. */
function describeIssue(i: ZodIssueLike, prefix: PropertyKey[], input: unknown): ConfigIssue[] {
  const full = [...prefix, ...i.path];
  const path = full.map(String).join('.');
  if (i.code === 'invalid_union' && i.errors) {
    const meant = i.errors.find((branch) =>
      branch.some((e) => e.path.length > 0 || (e.code !== 'invalid_type' && e.code !== 'invalid_value')),
    );
    if (meant) return meant.flatMap((e) => describeIssue(e, full, input));
  }
  if (i.code === 'unrecognized_keys' && i.keys)
    return [
      {
        path,
        message: `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see config/example.yaml)`,
      },
    ];
  if (i.code === 'invalid_type' && path !== '' && valueAt(input, full) === undefined)
    return [{ path, message: 'is required' }];
  if (i.code === 'invalid_type' && path === '')
    return [{ path, message: 'the configuration must be a YAML mapping with at least "targets:"' }];
  return [{ path, message: i.message }];
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let at = input;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** `${NAME}` or `${NAME:-default}` in string values. A value that is exactly one reference may become a number or boolean. */
function substitute(value: unknown, path: string[], env: NodeJS.ProcessEnv, issues: ConfigIssue[]): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const whole = /^\$\{[^}]+\}$/.test(value);
    const out = value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string, fallback: string | undefined) => {
        const found = env[name];
        if (found !== undefined && found !== '') return found;
        if (fallback !== undefined) return fallback;
        issues.push({
          path: path.join('.'),
          message: `environment variable ${name} is not set (referenced as \${${name}})`,
        });
        return '';
      },
    );
    if (/\$\{/.test(out) && out === value)
      issues.push({ path: path.join('.'), message: 'has a malformed ${…} reference; use ${NAME} or ${NAME:-default}' });
    if (whole && /^-?\d+(\.\d+)?$/.test(out)) return Number(out);
    if (whole && (out === 'true' || out === 'false')) return out === 'true';
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, [...path, String(i)], env, issues));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, [...path, k], env, issues)]));
  }
  return value;
}

function crossCheck(
  stores: RawConfig['stores'],
  targets: { index: number; t: RawTarget }[],
  issues: ConfigIssue[],
  env: NodeJS.ProcessEnv,
): void {
  const names = new Set<string>();
  const secretIds = new Map<string, string>();
  const adminIds = new Map(targets.map(({ t }) => [`${t.admin.store}:${t.admin.secretId}`, t.name]));
  targets.forEach(({ index: i, t }) => {
    const at = (field: string) => `targets.${i}.${field}`;
    if (names.has(t.name)) issues.push({ path: at('name'), message: `duplicates another target's name "${t.name}"` });
    names.add(t.name);

    for (const role of ['secret', 'admin'] as const) {
      const loc = t[role];
      if (!stores[loc.store])
        issues.push({
          path: at(`${role}.store`),
          message: `uses the ${loc.store} store, but stores.${loc.store} is not configured`,
        });
    }
    const secretKey = `${t.secret.store}:${t.secret.secretId}`;
    const adminOf = adminIds.get(secretKey);
    if (adminOf === t.name)
      issues.push({
        path: at('admin.secretId'),
        message: 'must differ from secret.secretId: the admin credential cannot be the key being rotated',
      });
    else if (adminOf !== undefined)
      issues.push({
        path: at('secret.secretId'),
        message: `is the admin secret of target "${adminOf}": rotating it would replace that target's admin credential; use another secret`,
      });
    const owner = secretIds.get(secretKey);
    if (owner !== undefined)
      issues.push({
        path: at('secret.secretId'),
        message: `is already rotated by target "${owner}"; two targets must not share a secret`,
      });
    secretIds.set(secretKey, t.name);

    checkPolicy(t, at, issues);
    if (t.validationUrl !== undefined && !/^https:\/\/[a-z0-9.-]+\.twilio\.com\//.test(t.validationUrl)) {
      issues.push({
        path: at('validationUrl'),
        message: 'must be an https://….twilio.com/ URL: the new key is sent to it as credentials',
      });
    }
    if (t.gate.maxWaitSeconds < t.gate.minOverlapSeconds)
      issues.push({
        path: at('gate.maxWaitSeconds'),
        message: `must be at least gate.minOverlapSeconds (${t.gate.minOverlapSeconds})`,
      });
    t.gate.probes.forEach((p, j) => {
      const pp = at(`gate.probes.${j}`);
      if ((p.headerName === undefined) !== (p.headerValueEnv === undefined))
        issues.push({
          path: `${pp}.headerName`,
          message: 'headerName and headerValueEnv go together: set both or neither',
        });
      else if (p.headerValueEnv !== undefined && !env[p.headerValueEnv])
        issues.push({ path: `${pp}.headerValueEnv`, message: `environment variable ${p.headerValueEnv} is not set` });
    });
  });

  // Keys are recognised by prefix; overlapping prefixes on one account would let one target revoke another's keys.
  targets.forEach(({ index: i, t: a }) =>
    targets.forEach(({ index: j, t: b }) => {
      if (
        i < j &&
        a.accountSid.toUpperCase() === b.accountSid.toUpperCase() &&
        (a.friendlyNamePrefix.startsWith(b.friendlyNamePrefix) || b.friendlyNamePrefix.startsWith(a.friendlyNamePrefix))
      ) {
        issues.push({
          path: `targets.${j}.friendlyNamePrefix`,
          message: `overlaps target "${a.name}"'s prefix on the same account; each target needs a prefix that is not a prefix of another's`,
        });
      }
    }),
  );
}

function checkPolicy(t: RawTarget, at: (f: string) => string, issues: ConfigIssue[]): void {
  if (t.keyType === 'standard') {
    if (t.policy !== undefined)
      issues.push({ path: at('policy'), message: 'is only for keyType "restricted"; remove it or change keyType' });
    return;
  }
  if (t.policy === undefined) {
    issues.push({
      path: at('policy'),
      message: 'is required for keyType "restricted": "inherit" or {allow: [permissions…]}',
    });
    return;
  }
  if (t.region !== undefined && t.region !== 'us1')
    issues.push({
      path: at('region'),
      message: 'Restricted keys exist only in us1; use keyType "standard" or drop region',
    });
  if (
    t.policy !== 'inherit' &&
    t.validationUrl === undefined &&
    verifyMethodFor({ allow: t.policy.allow }) === undefined
  ) {
    issues.push({
      path: at('validationUrl'),
      message:
        'is required: the policy grants neither /twilio/numbers/incoming-phone-numbers/list, /twilio/messaging/messages/list nor /twilio/iam/api-keys/read, so the rotator cannot prove a new key works without a URL the key may GET',
    });
  }
}

function convert(raw: RawConfig, baseDir: string): RotatorConfig {
  const targets: TargetConfig[] = raw.targets.map((t) => ({
    name: t.name,
    accountSid: t.accountSid,
    ...(t.region !== undefined ? { region: t.region } : {}),
    ...(t.edge !== undefined ? { edge: t.edge } : {}),
    keyType: t.keyType,
    ...(t.policy !== undefined
      ? {
          policy:
            t.policy === 'inherit'
              ? { mode: 'inherit' as const }
              : { mode: 'explicit' as const, allow: [...t.policy.allow] },
        }
      : {}),
    friendlyNamePrefix: t.friendlyNamePrefix,
    secret: { ...t.secret },
    admin: { ...t.admin },
    maxAgeMs: t.maxAgeDays * DAY,
    ...(t.validationUrl !== undefined ? { validationUrl: t.validationUrl } : {}),
    gate: {
      minOverlapMs: t.gate.minOverlapSeconds * SECOND,
      maxWaitMs: t.gate.maxWaitSeconds * SECOND,
      manualConfirm: t.gate.manualConfirm,
      probes: t.gate.probes.map((p) => ({
        url: p.url,
        field: p.field,
        ...(p.headerName !== undefined ? { headerName: p.headerName } : {}),
        ...(p.headerValueEnv !== undefined ? { headerValueEnv: p.headerValueEnv } : {}),
        timeoutMs: p.timeoutSeconds * SECOND,
      })),
    },
  }));
  return {
    twilio: {
      ...(raw.twilio.baseUrl !== undefined ? { baseUrl: raw.twilio.baseUrl } : {}),
      timeoutMs: raw.twilio.timeoutSeconds * SECOND,
    },
    stores: {
      ...(raw.stores.file
        ? {
            file: {
              path: isAbsolute(raw.stores.file.path) ? raw.stores.file.path : resolve(baseDir, raw.stores.file.path),
            },
          }
        : {}),
      ...(raw.stores.aws
        ? {
            aws: {
              region: raw.stores.aws.region,
              ...(raw.stores.aws.endpoint ? { endpoint: raw.stores.aws.endpoint } : {}),
              timeoutMs: raw.stores.aws.timeoutSeconds * SECOND,
            },
          }
        : {}),
    },
    retry: {
      attempts: raw.retry.attempts,
      budgetMs: raw.retry.budgetSeconds * SECOND,
      minDelayMs: raw.retry.minDelayMs,
    },
    orphanGraceMs: raw.orphanGraceSeconds * SECOND,
    targets,
  };
}
