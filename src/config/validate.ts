import { isAbsolute, resolve } from 'node:path';
import { present } from '../config-kit/fields.js';
import { convertWindow } from '../config-kit/schedule.js';
import { checkBase, type KindConfig, type RawTargetBase } from '../config-kit/target.js';
import { SECOND_MS } from '../core/sids.js';
import type { SecretLocation } from '../core/target.js';
import { KINDS } from '../credentials/registry.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { alertsSchema, checkAlerts, convertAlerts } from './alerts.js';
import { checkCloudTrail, convertCloudTrail } from './cloudtrail.js';
import { checkFleets, convertFleet, fleetSchema } from './fleets.js';
import { describeIssue } from './issues.js';
import { checkLeakReports, convertLeakReports } from './leaks.js';
import { configSchema, daemonSchema, DEFAULT_KIND, storesSchema, targetSchema } from './schema.js';
import type { RawConfig } from './schema.js';
import type { RotatorConfig, TargetConfig } from './types.js';

type RawTarget = RawTargetBase & { kind: keyof typeof KINDS };
type Located = { index: number; t: RawTarget };
const configOf = (t: RawTarget) => KINDS[t.kind].config as KindConfig<unknown, TargetConfig>;

/**
 * Substitutes `${ENV}`, validates and converts a configuration object. ConfigError names every problem
 * at once: unset variables, schema errors, and the checks across every well-formed target.
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
    const { data } = parsed;
    const targets = (data.targets as RawTarget[]).map((t, index) => ({ index, t }));
    crossCheck(data.stores, targets, issues, env);
    checkFleets(data.stores, data.fleets, targets, issues, data.targets.length, env);
    checkAlerts(data.alerts, targets, issues, env);
    checkCloudTrail(data.cloudtrail, data.stores.aws?.region, cloudtrailUsers(data), issues);
    checkLeakReports(data.leakReports, data.daemon?.health !== undefined, issues, env);
    if (issues.length > 0) throw new ConfigError(issues, source);
    return convert(data, options.baseDir ?? process.cwd());
  }
  for (const i of parsed.error.issues.flatMap((x) => describeIssue(x, [], substituted))) {
    if (!unset.has(i.path)) issues.push(i);
  }
  // The targets that are fine on their own still get the checks between targets.
  const input = (substituted ?? {}) as { stores?: unknown; targets?: unknown; alerts?: unknown; fleets?: unknown };
  const wellFormed = <T>(list: unknown, parse: (x: unknown) => { success: boolean; data?: T }) =>
    (Array.isArray(list) ? list : []).flatMap((x: unknown, index) => {
      const one = parse(x);
      return one.success ? [{ index, t: one.data! }] : [];
    });
  const stores = storesSchema.safeParse(input.stores ?? {});
  const alerts = alertsSchema.safeParse(input.alerts);
  const targets = wellFormed<RawTarget>(input.targets, (t) => targetSchema.safeParse(t) as never);
  const fleets = wellFormed(input.fleets, (f) => fleetSchema.safeParse(f)).map(({ t }) => t);
  if (stores.success) {
    crossCheck(stores.data, targets, issues, env);
    checkFleets(stores.data, fleets, targets, issues, Array.isArray(input.targets) ? input.targets.length : 0, env);
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

/** `${NAME}` or `${NAME:-default}` in string values; a value that is one reference may become a number or boolean. */
function substitute(value: unknown, path: string[], env: NodeJS.ProcessEnv, issues: ConfigIssue[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, [...path, String(i)], env, issues));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, [...path, k], env, issues)]));
  if (typeof value !== 'string' || !value.includes('${')) return value;
  const whole = /^\$\{[^}]+\}$/.test(value);
  const out = value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (_m, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      const unset = `environment variable ${name} is not set (referenced as \${${name}})`;
      issues.push({ path: path.join('.'), message: unset });
      return '';
    },
  );
  if (/\$\{/.test(out) && out === value)
    issues.push({ path: path.join('.'), message: 'has a malformed ${…} reference; use ${NAME} or ${NAME:-default}' });
  if (whole && /^-?\d+(\.\d+)?$/.test(out)) return Number(out);
  if (whole && (out === 'true' || out === 'false')) return out === 'true';
  return out;
}

const ADMIN_IS_ROTATED = 'the admin credential cannot be the key being rotated';
const REPLACES_ADMIN = "rotating it would replace that target's admin credential; use another secret";
const keyOf = (loc: SecretLocation) => `${loc.store}:${loc.secretId}`;

function crossCheck(stores: RawConfig['stores'], targets: Located[], issues: ConfigIssue[], env: NodeJS.ProcessEnv) {
  const names = new Set<string>();
  const secretIds = new Map<string, string>();
  // A kind may leave `admin` out (an Auth Token manages itself): then the target's own secret is its admin.
  const adminOf = (t: RawTarget) => t.admin ?? t.secret;
  const adminIds = new Map<string, string>(targets.map(({ t }) => [keyOf(adminOf(t)), t.name] as const));
  targets.forEach(({ index: i, t }) => {
    const at = (field: string) => `targets.${i}.${field}`;
    const problem = (field: string, message: string) => issues.push({ path: at(field), message });
    const kind = configOf(t);
    if (names.has(t.name)) problem('name', `duplicates another target's name "${t.name}"`);
    names.add(t.name);
    for (const role of ['secret', 'admin'] as const) {
      const { store } = role === 'secret' ? t.secret : adminOf(t);
      if (!stores[store]) problem(`${role}.store`, `uses the ${store} store, but stores.${store} is not configured`);
    }
    const adminUser = adminIds.get(keyOf(t.secret));
    if (adminUser === t.name && !kind.secretMayBeAdmin)
      problem('admin.secretId', `must differ from secret.secretId: ${ADMIN_IS_ROTATED}`);
    else if (adminUser !== undefined && adminUser !== t.name && !kind.secretMayBeAdmin)
      problem('secret.secretId', `is the admin secret of target "${adminUser}": ${REPLACES_ADMIN}`);
    const owner = secretIds.get(keyOf(t.secret));
    if (owner !== undefined)
      problem('secret.secretId', `is already rotated by target "${owner}"; two targets must not share a secret`);
    secretIds.set(keyOf(t.secret), t.name);
    checkBase(t, at, issues, env);
    kind.check(t, at, issues);
  });
  for (const [name, { config }] of Object.entries(KINDS))
    (config as KindConfig<unknown, TargetConfig>).checkAll?.(
      targets.filter(({ t }) => t.kind === name),
      issues,
    );
}

/** Targets and fleets whose gate uses CloudTrail evidence, by name (a fleet's template counts). */
function cloudtrailUsers(raw: Pick<RawConfig, 'targets' | 'fleets'>): string[] {
  const withTrail = (t: unknown) => (t as { gate?: { cloudtrail?: unknown } } | null)?.gate?.cloudtrail !== undefined;
  return [
    ...(raw.targets as { name: string }[]).filter(withTrail).map((t) => `target "${t.name}"`),
    ...raw.fleets.filter((f) => withTrail(f.template)).map((f) => `fleet "${f.name}"`),
  ];
}

function convert(raw: RawConfig, baseDir: string): RotatorConfig {
  const daemon = raw.daemon ?? daemonSchema.parse({});
  const { timezone } = daemon;
  const { file, aws } = raw.stores;
  return {
    twilio: { ...present('baseUrl', raw.twilio.baseUrl), timeoutMs: raw.twilio.timeoutSeconds * SECOND_MS },
    stores: {
      ...present('file', file && { path: isAbsolute(file.path) ? file.path : resolve(baseDir, file.path) }),
      ...present(
        'aws',
        aws && {
          region: aws.region,
          ...present('endpoint', aws.endpoint),
          timeoutMs: aws.timeoutSeconds * SECOND_MS,
          sweep: aws.sweep,
        },
      ),
    },
    concurrency: { ...raw.concurrency },
    retry: {
      attempts: raw.retry.attempts,
      budgetMs: raw.retry.budgetSeconds * SECOND_MS,
      minDelayMs: raw.retry.minDelayMs,
    },
    orphanGraceMs: raw.orphanGraceSeconds * SECOND_MS,
    alerts: convertAlerts(raw.alerts),
    metrics: { ...raw.metrics },
    ...present('cloudtrail', convertCloudTrail(raw.cloudtrail, aws?.region, cloudtrailUsers(raw).length > 0)),
    ...present('leakReports', convertLeakReports(raw.leakReports)),
    daemon,
    targets: (raw.targets as RawTarget[]).map((t) => ({
      ...configOf(t).convert(t),
      ...present('window', t.window && convertWindow(t.window, timezone)),
    })),
    fleets: raw.fleets.map((f) => convertFleet(f, timezone)),
  };
}
