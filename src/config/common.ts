import * as z from 'zod/mini';
import type { ConfigIssue } from '../errors.js';
import { cronExpression, windowSchema } from './schedule.js';
import type { GateConfig, TargetBase } from './types.js';

/**
 * Schema pieces every credential kind's target shares, and the helpers kinds build their own fields
 * with. Names carry their units (`Seconds`, `Days`); conversion to milliseconds happens in one place
 * (`convertBase`). Every object is strict: an unknown key is a typo. Written with zod/mini, which
 * tree-shakes: the Lambda bundle carries only the checks used.
 */

export const SECOND_MS = 1000;
export const DAY_MS = 24 * 3600 * SECOND_MS;
export const YEAR_SECONDS = 365 * 24 * 3600;

/**
 * Numbers have an upper bound as well as a lower one: a value that passes validation must not fail
 * later, after changes were made (1e300 days overflowed a date; 2^31 ms overflowed a timer).
 */
export const positive = (what: string, max: number) =>
  z
    .number({ error: `must be a number (${what})` })
    .check(z.positive(`must be greater than 0 (${what})`), z.maximum(max, `must be at most ${max} (${what})`));
export const nonNegative = (what: string, max: number) =>
  z
    .number({ error: `must be a number (${what})` })
    .check(z.nonnegative(`must be 0 or more (${what})`), z.maximum(max, `must be at most ${max} (${what})`));

export const text = (pattern: RegExp, message: string) =>
  z.string({ error: 'must be a string' }).check(z.regex(pattern, message));

/** URLs are printed in logs and status, so they may not carry credentials; headers carry those. */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).check(
  z.refine((u: string) => {
    try {
      const url = new URL(u);
      return url.username === '' && url.password === '';
    } catch {
      return true;
    }
  }, 'must not carry credentials (user:password@); they would be printed wherever the URL is'),
);

export const location = z.strictObject({
  store: z.enum(['file', 'aws'], { error: 'must be "file" or "aws"' }),
  secretId: z.string({ error: 'must be a string' }).check(z.minLength(1, 'must be a non-empty secret name or ARN')),
});

const probe = z.strictObject({
  url: httpUrl,
  field: text(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dot path such as "twilio.keySid"'),
  headerName: z.optional(text(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')),
  headerValueEnv: z.optional(text(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')),
  timeoutSeconds: z._default(positive('seconds', 60), 5),
});

/**
 * CloudTrail evidence (README "CloudTrail evidence"): every principal that read the secret in the
 * look-back window before the promotion must have read the new version since. Event history keeps
 * 90 days, so the window plus the longest wait must fit in it (checkBase). The delivery delay is how
 * long the gate waits after the promotion before the readers before it are known: CloudTrail
 * "typically delivers logs within an average of about 5 minutes of an API call. This time is not
 * guaranteed", hence a default of 15 minutes.
 */
export const CLOUDTRAIL_RETENTION_DAYS = 90;
const cloudtrailGate = z.strictObject({
  lookbackDays: z._default(positive('days', CLOUDTRAIL_RETENTION_DAYS), 7),
  deliveryDelaySeconds: z._default(nonNegative('seconds', 24 * 3600), 900),
  ignorePrincipals: z._default(
    z.array(
      text(
        /^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[A-Za-z0-9+=,.@_/*-]+$/,
        'must be an IAM or STS principal ARN ("*" matches any characters): arn:aws:iam::123456789012:role/rotator',
      ),
    ),
    [],
  ),
});

const GATE_DEFAULT = { minOverlapSeconds: 3600, maxWaitSeconds: 7 * 24 * 3600, manualConfirm: false, probes: [] };
const gate = z.strictObject({
  minOverlapSeconds: z._default(nonNegative('seconds', YEAR_SECONDS), GATE_DEFAULT.minOverlapSeconds),
  maxWaitSeconds: z._default(positive('seconds', YEAR_SECONDS), GATE_DEFAULT.maxWaitSeconds),
  manualConfirm: z._default(z.boolean({ error: 'must be true or false' }), false),
  probes: z._default(z.array(probe), []),
  cloudtrail: z.optional(cloudtrailGate),
});

/** The fields of a target that mean the same for every kind; a kind's schema spreads these in. */
export const targetBaseShape = {
  name: text(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, "_", "." or "-"'),
  accountSid: text(/^AC[0-9a-fA-F]{32}$/, 'must be an Account SID: AC followed by 32 hex characters'),
  region: z.optional(text(/^[a-z]{2}[0-9]$/, 'must be a Twilio region such as us1, ie1 or au1')),
  edge: z.optional(text(/^[a-z]+$/, 'must be a Twilio edge such as ashburn, dublin or sydney')),
  secret: location,
  // Kinds that use an admin credential require it (their schema sets `admin: location`).
  admin: z.optional(location),
  maxAgeDays: z._default(positive('days', 3650), 30),
  gate: z._default(gate, GATE_DEFAULT),
  /** Which of alerts.channels hear about this target (default: every channel). */
  alerts: z.optional(
    z.strictObject({
      channels: z.array(text(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must name a channel of alerts.channels')),
    }),
  ),
  schedule: z.optional(cronExpression),
  // Converted in validate.ts, where the daemon's timezone (the default) is known.
  window: z.optional(windowSchema),
  paused: z._default(z.boolean({ error: 'must be true or false' }), false),
};

export const targetBaseSchema = z.strictObject(targetBaseShape);
export type RawTargetBase = z.infer<typeof targetBaseSchema>;
export type RawGate = z.infer<typeof gate>;

function convertGate(g: RawGate): GateConfig {
  return {
    minOverlapMs: g.minOverlapSeconds * SECOND_MS,
    maxWaitMs: g.maxWaitSeconds * SECOND_MS,
    manualConfirm: g.manualConfirm,
    probes: g.probes.map((p) => ({
      url: p.url,
      field: p.field,
      ...(p.headerName !== undefined ? { headerName: p.headerName } : {}),
      ...(p.headerValueEnv !== undefined ? { headerValueEnv: p.headerValueEnv } : {}),
      timeoutMs: p.timeoutSeconds * SECOND_MS,
    })),
    ...(g.cloudtrail
      ? {
          cloudtrail: {
            lookbackMs: g.cloudtrail.lookbackDays * DAY_MS,
            deliveryDelayMs: g.cloudtrail.deliveryDelaySeconds * SECOND_MS,
            ignorePrincipals: [...g.cloudtrail.ignorePrincipals],
          },
        }
      : {}),
  };
}

export function convertBase<K extends string>(t: RawTargetBase, kind: K): TargetBase & { kind: K } {
  return {
    kind,
    name: t.name,
    accountSid: t.accountSid,
    ...(t.region !== undefined ? { region: t.region } : {}),
    ...(t.edge !== undefined ? { edge: t.edge } : {}),
    secret: { ...t.secret },
    ...(t.admin ? { admin: { ...t.admin } } : {}),
    maxAgeMs: t.maxAgeDays * DAY_MS,
    gate: convertGate(t.gate),
    ...(t.alerts ? { alerts: { channels: [...t.alerts.channels] } } : {}),
    ...(t.schedule !== undefined ? { schedule: t.schedule } : {}),
    paused: t.paused,
  };
}

/** Checks of the shared fields that need more than one field or the environment. */
export function checkBase(
  t: RawTargetBase,
  at: (field: string) => string,
  issues: ConfigIssue[],
  env: NodeJS.ProcessEnv,
): void {
  if (t.gate.maxWaitSeconds < t.gate.minOverlapSeconds)
    issues.push({
      path: at('gate.maxWaitSeconds'),
      message: `must be at least gate.minOverlapSeconds (${t.gate.minOverlapSeconds})`,
    });
  const trail = t.gate.cloudtrail;
  if (trail) {
    if (t.secret.store !== 'aws')
      issues.push({
        path: at('gate.cloudtrail'),
        message: 'needs secret.store "aws": CloudTrail records reads of Secrets Manager secrets only',
      });
    const spanDays = trail.lookbackDays + t.gate.maxWaitSeconds / (DAY_MS / SECOND_MS);
    if (spanDays > CLOUDTRAIL_RETENTION_DAYS)
      issues.push({
        path: at('gate.cloudtrail.lookbackDays'),
        message: [
          `plus gate.maxWaitSeconds must fit in CloudTrail's ${CLOUDTRAIL_RETENTION_DAYS} days of event history`,
          `(now ${Math.ceil(spanDays)} days); shorten one of them`,
        ].join(' '),
      });
  }
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
}

/**
 * How a kind plugs into configuration: its target schema (the shared fields spread in, `kind` a
 * literal), the conversion to its target type, and checks that need several fields.
 */
export interface KindConfig<Raw, Target> {
  schema: z.ZodMiniType<Raw>;
  convert(raw: Raw): Target;
  /** Checks of one target beyond its schema. */
  check(raw: Raw, at: (field: string) => string, issues: ConfigIssue[]): void;
  /** Checks across this kind's targets, e.g. prefixes that overlap on one account. */
  checkAll?(targets: readonly { index: number; t: Raw }[], issues: ConfigIssue[]): void;
  /** May this kind's rotated secret also be some target's admin secret? (An Auth Token manages itself.) */
  secretMayBeAdmin: boolean;
}
