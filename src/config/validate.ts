import { isAbsolute, resolve } from 'node:path';
import { KINDS } from '../credentials/registry.js';
import type { KindConfig } from './common.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { alertsSchema, checkAlerts, convertAlerts, convertMetrics } from './alerts.js';
import { checkCloudTrail, convertCloudTrail } from './cloudtrail.js';
import { checkLeakReports, convertLeakReports } from './leaks.js';
import { checkBase, SECOND_MS, type RawTargetBase } from './common.js';
import { configSchema, DEFAULT_KIND, storesSchema, targetSchema, type RawConfig } from './schema.js';
import { convertWindow, DEFAULT_SCHEDULE, DEFAULT_TIMEZONE } from './schedule.js';
import { checkFleet, convertFleet, fleetSchema, isMemberName, isMemberSecret, type RawFleet } from './fleets.js';
import type { RotatorConfig, TargetConfig } from './types.js';

type RawTarget = RawTargetBase & { kind: keyof typeof KINDS };
type AnyKindConfig = KindConfig<unknown, TargetConfig>;
const configOf = (t: RawTarget): AnyKindConfig => KINDS[t.kind].config;

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
  const substituted = withDefaultKind(substitute(raw, [], env, issues));
  // A path whose variable is unset would also fail its own check: report the cause once.
  const unset = new Set(issues.map((i) => i.path));
  const parsed = configSchema.safeParse(substituted);
  if (parsed.success) {
    const targets = (parsed.data.targets as RawTarget[]).map((t, index) => ({ index, t }));
    crossCheck(parsed.data.stores, targets, issues, env);
    checkFleets(parsed.data.stores, parsed.data.fleets, targets, issues, parsed.data.targets.length);
    checkAlerts(parsed.data.alerts, targets, issues, env);
    checkCloudTrail(parsed.data.cloudtrail, parsed.data.stores.aws?.region, cloudtrailUsers(parsed.data), issues);
    checkLeakReports(parsed.data.leakReports, parsed.data.daemon?.health !== undefined, issues, env);
    if (issues.length > 0) throw new ConfigError(issues, source);
    return convert(parsed.data, options.baseDir ?? process.cwd());
  }
  for (const i of parsed.error.issues.flatMap((x) => describeIssue(x as ZodIssueLike, [], substituted))) {
    if (!unset.has(i.path)) issues.push(i);
  }
  // The targets that are fine on their own still get the checks between targets.
  const input = (substituted ?? {}) as { stores?: unknown; targets?: unknown; alerts?: unknown; fleets?: unknown };
  const stores = storesSchema.safeParse(input.stores ?? {});
  const alerts = alertsSchema.safeParse(input.alerts);
  const targets = (Array.isArray(input.targets) ? input.targets : []).flatMap((t: unknown, index) => {
    const one = targetSchema.safeParse(t);
    return one.success ? [{ index, t: one.data as RawTarget }] : [];
  });
  const fleets = (Array.isArray(input.fleets) ? input.fleets : []).flatMap((f: unknown) => {
    const one = fleetSchema.safeParse(f);
    return one.success ? [one.data] : [];
  });
  if (stores.success) {
    crossCheck(stores.data, targets, issues, env);
    checkFleets(stores.data, fleets, targets, issues, Array.isArray(input.targets) ? input.targets.length : 0);
  }
  if (alerts.success) checkAlerts(alerts.data, targets, issues, env);
  throw new ConfigError(issues, source);
}

/** A target without `kind` is an API-key target: every configuration written before kinds existed. */
function withDefaultKind(config: unknown): unknown {
  const c = config as { targets?: unknown } | null;
  if (typeof c !== 'object' || c === null || !Array.isArray(c.targets)) return config;
  const targets = c.targets.map((t: unknown) =>
    typeof t === 'object' && t !== null && !Array.isArray(t) && !Object.hasOwn(t, 'kind')
      ? { kind: DEFAULT_KIND, ...t }
      : t,
  );
  return { ...c, targets };
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
  if (i.code === 'unrecognized_keys' && i.keys) {
    const merge = i.keys.includes('<<')
      ? '; "<<" is a YAML 1.1 merge key, which YAML 1.2 reads as an ordinary key: write the keys out, or alias whole values (admin: *admin)'
      : '';
    return [
      {
        path,
        message: `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see config/example.yaml)${merge}`,
      },
    ];
  }
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
  // A kind may leave `admin` out (an Auth Token manages itself): then the target's own secret is its admin.
  const adminOf = (t: RawTarget) => t.admin ?? t.secret;
  const adminIds = new Map<string, string>(
    targets.map(({ t }) => [`${adminOf(t).store}:${adminOf(t).secretId}`, t.name] as const),
  );
  targets.forEach(({ index: i, t }) => {
    const at = (field: string) => `targets.${i}.${field}`;
    const kind = configOf(t);
    if (names.has(t.name)) issues.push({ path: at('name'), message: `duplicates another target's name "${t.name}"` });
    names.add(t.name);

    for (const role of ['secret', 'admin'] as const) {
      const loc = role === 'secret' ? t.secret : adminOf(t);
      if (!stores[loc.store])
        issues.push({
          path: at(`${role}.store`),
          message: `uses the ${loc.store} store, but stores.${loc.store} is not configured`,
        });
    }
    const secretKey = `${t.secret.store}:${t.secret.secretId}`;
    const adminUser = adminIds.get(secretKey);
    if (adminUser === t.name && !kind.secretMayBeAdmin)
      issues.push({
        path: at('admin.secretId'),
        message: 'must differ from secret.secretId: the admin credential cannot be the key being rotated',
      });
    else if (adminUser !== undefined && adminUser !== t.name && !kind.secretMayBeAdmin)
      issues.push({
        path: at('secret.secretId'),
        message: `is the admin secret of target "${adminUser}": rotating it would replace that target's admin credential; use another secret`,
      });
    const owner = secretIds.get(secretKey);
    if (owner !== undefined)
      issues.push({
        path: at('secret.secretId'),
        message: `is already rotated by target "${owner}"; two targets must not share a secret`,
      });
    secretIds.set(secretKey, t.name);

    checkBase(t, at, issues, env);
    kind.check(t, at, issues);
  });
  for (const [name, entry] of Object.entries(KINDS)) {
    (entry.config as AnyKindConfig).checkAll?.(
      targets.filter(({ t }) => t.kind === name),
      issues,
    );
  }
}

/** Each fleet's own checks, and what a fleet's members could collide with among the targets. */
function checkFleets(
  stores: RawConfig['stores'],
  fleets: readonly RawFleet[],
  targets: { index: number; t: RawTarget }[],
  issues: ConfigIssue[],
  targetCount: number,
): void {
  if (targetCount === 0 && fleets.length === 0)
    issues.push({ path: 'targets', message: 'must list at least one target (or a subaccount fleet under fleets:)' });
  const targetNames = new Set(targets.map(({ t }) => t.name));
  const fleetNames = new Set<string>();
  const templates = new Map<string, string>();
  fleets.forEach((fleet, i) => {
    const at = (field: string) => `fleets.${i}.${field}`;
    if (fleetNames.has(fleet.name) || targetNames.has(fleet.name))
      issues.push({
        path: at('name'),
        message: `duplicates another ${fleetNames.has(fleet.name) ? 'fleet' : 'target'}'s name "${fleet.name}"`,
      });
    fleetNames.add(fleet.name);
    if (!stores[fleet.admin.store])
      issues.push({
        path: at('admin.store'),
        message: `uses the ${fleet.admin.store} store, but stores.${fleet.admin.store} is not configured`,
      });
    for (const { index, t } of targets)
      if (isMemberName(fleet.name, t.name))
        issues.push({
          path: `targets.${index}.name`,
          message: `is the name fleet "${fleet.name}" gives one of its members; rename the target`,
        });
    const member = checkFleet(fleet, i, issues);
    if (!member) return;
    if (!stores[member.secret.store])
      issues.push({
        path: at('template.secret.store'),
        message: `uses the ${member.secret.store} store, but stores.${member.secret.store} is not configured`,
      });
    const secret = (fleet.template as { secret: { store: 'file' | 'aws'; secretId: string } }).secret;
    const key = `${secret.store}:${secret.secretId}`;
    const other = templates.get(key);
    if (other !== undefined)
      issues.push({
        path: at('template.secret.secretId'),
        message: `is also fleet "${other}"'s; two fleets must not share secrets`,
      });
    templates.set(key, fleet.name);
    if (isMemberSecret({ secret }, fleet.admin))
      issues.push({
        path: at('admin.secretId'),
        message: 'is named like a member secret of this fleet; the parent credential needs a secret of its own',
      });
    for (const { index, t } of targets) {
      for (const role of ['secret', 'admin'] as const) {
        const loc = role === 'secret' ? t.secret : (t.admin ?? t.secret);
        if (isMemberSecret({ secret }, loc))
          issues.push({
            path: `targets.${index}.${role}.secretId`,
            message: `is named like a member secret of fleet "${fleet.name}" (${secret.secretId}); use another secret or exclude that subaccount`,
          });
      }
      // A rotated API-key secret must never be a fleet's admin: rotating it would replace the parent credential.
      if (t.kind === 'api-key' && t.secret.store === fleet.admin.store && t.secret.secretId === fleet.admin.secretId)
        issues.push({
          path: `targets.${index}.secret.secretId`,
          message: `is the admin secret of fleet "${fleet.name}": rotating it would replace the parent's credential; use another secret`,
        });
    }
  });
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

/** Targets and fleets whose gate uses CloudTrail evidence, by name (a fleet's template counts). */
function cloudtrailUsers(raw: Pick<RawConfig, 'targets' | 'fleets'>): string[] {
  const withTrail = (t: unknown) =>
    typeof t === 'object' && t !== null && (t as { gate?: { cloudtrail?: unknown } }).gate?.cloudtrail !== undefined;
  return [
    ...(raw.targets as { name: string }[]).filter(withTrail).map((t) => `target "${t.name}"`),
    ...raw.fleets.filter((f) => withTrail(f.template)).map((f) => `fleet "${f.name}"`),
  ];
}

function convert(raw: RawConfig, baseDir: string): RotatorConfig {
  const timezone = raw.daemon?.timezone ?? DEFAULT_TIMEZONE;
  const targets = (raw.targets as RawTarget[]).map((t) => {
    const converted = configOf(t).convert(t);
    return t.window ? { ...converted, window: convertWindow(t.window, timezone) } : converted;
  });
  return {
    twilio: {
      ...(raw.twilio.baseUrl !== undefined ? { baseUrl: raw.twilio.baseUrl } : {}),
      timeoutMs: raw.twilio.timeoutSeconds * SECOND_MS,
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
              timeoutMs: raw.stores.aws.timeoutSeconds * SECOND_MS,
              sweep: raw.stores.aws.sweep,
            },
          }
        : {}),
    },
    concurrency: { ...raw.concurrency },
    retry: {
      attempts: raw.retry.attempts,
      budgetMs: raw.retry.budgetSeconds * SECOND_MS,
      minDelayMs: raw.retry.minDelayMs,
    },
    orphanGraceMs: raw.orphanGraceSeconds * SECOND_MS,
    alerts: convertAlerts(raw.alerts),
    metrics: convertMetrics(raw.metrics),
    ...optional(
      'cloudtrail',
      convertCloudTrail(raw.cloudtrail, raw.stores.aws?.region, cloudtrailUsers(raw).length > 0),
    ),
    ...optional('leakReports', convertLeakReports(raw.leakReports)),
    daemon: {
      schedule: raw.daemon?.schedule ?? DEFAULT_SCHEDULE,
      timezone,
      runOnStart: raw.daemon?.runOnStart ?? true,
      watchConfig: raw.daemon?.watchConfig ?? false,
      ...(raw.daemon?.health ? { health: { port: raw.daemon.health.port, host: raw.daemon.health.host } } : {}),
    },
    targets,
    fleets: raw.fleets.map((f) => convertFleet(f, timezone)),
  };
}
