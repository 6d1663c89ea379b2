import * as z from 'zod/mini';
import { DAY_MS, SECOND_MS } from '../core/sids.js';
import type { GateConfig, TargetBase } from '../core/target.js';
import type { ConfigIssue } from '../errors.js';
import { envName, flag, httpUrl, location, nonNegative, positive, present, section, text } from './fields.js';
import { cronExpression, windowSchema } from './schedule.js';

/**
 * The fields every kind's target shares, and how a kind plugs into configuration (KindConfig). Units
 * in the names (`Seconds`, `Days`) become milliseconds in one place, `convertBase`.
 */

const YEAR_SECONDS = (365 * DAY_MS) / SECOND_MS;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const probe = z.strictObject({
  url: httpUrl,
  field: text(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dot path such as "twilio.keySid"'),
  headerName: z.optional(text(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')),
  headerValueEnv: z.optional(envName),
  timeoutSeconds: z._default(positive('seconds', 60), 5),
});

/**
 * CloudTrail evidence (README "CloudTrail evidence", which also explains the delivery delay's default).
 * Event history keeps 90 days: the look-back plus the longest wait must fit in it (checkBase).
 */
const CLOUDTRAIL_RETENTION_DAYS = 90;
const PRINCIPAL = /^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[A-Za-z0-9+=,.@_/*-]+$/;
const PRINCIPAL_HINT =
  'must be an IAM or STS principal ARN ("*" matches any characters): ' + 'arn:aws:iam::123456789012:role/rotator';
const cloudtrailGate = z.strictObject({
  lookbackDays: z._default(positive('days', CLOUDTRAIL_RETENTION_DAYS), 7),
  deliveryDelaySeconds: z._default(nonNegative('seconds', 24 * 3600), 900),
  ignorePrincipals: z._default(z.array(text(PRINCIPAL, PRINCIPAL_HINT)), []),
});

const gate = section({
  minOverlapSeconds: z._default(nonNegative('seconds', YEAR_SECONDS), 3600),
  maxWaitSeconds: z._default(positive('seconds', YEAR_SECONDS), 7 * 24 * 3600),
  manualConfirm: z._default(flag, false),
  probes: z._default(z.array(probe), []),
  cloudtrail: z.optional(cloudtrailGate),
});

/** The fields of a target that mean the same for every kind; a kind's schema spreads these in. */
export const targetBaseShape = {
  name: text(NAME, 'must be 1-64 letters, digits, "_", "." or "-"'),
  accountSid: text(/^AC[0-9a-fA-F]{32}$/, 'must be an Account SID: AC followed by 32 hex characters'),
  region: z.optional(text(/^[a-z]{2}[0-9]$/, 'must be a Twilio region such as us1, ie1 or au1')),
  edge: z.optional(text(/^[a-z]+$/, 'must be a Twilio edge such as ashburn, dublin or sydney')),
  secret: location,
  // Kinds that use an admin credential require it (their schema sets `admin: location`).
  admin: z.optional(location),
  maxAgeDays: z._default(positive('days', 3650), 30),
  gate,
  /** Which of alerts.channels hear about this target (default: every channel). */
  alerts: z.optional(z.strictObject({ channels: z.array(text(NAME, 'must name a channel of alerts.channels')) })),
  schedule: z.optional(cronExpression),
  // Converted by config/validate.ts, where the daemon's timezone (the default) is known.
  window: z.optional(windowSchema),
  paused: z._default(flag, false),
};

export type RawTargetBase = z.infer<z.ZodMiniObject<typeof targetBaseShape, z.core.$strict>>;

function convertGate(g: RawTargetBase['gate']): GateConfig {
  const trail = g.cloudtrail;
  return {
    minOverlapMs: g.minOverlapSeconds * SECOND_MS,
    maxWaitMs: g.maxWaitSeconds * SECOND_MS,
    manualConfirm: g.manualConfirm,
    probes: g.probes.map((p) => ({
      url: p.url,
      field: p.field,
      ...present('headerName', p.headerName),
      ...present('headerValueEnv', p.headerValueEnv),
      timeoutMs: p.timeoutSeconds * SECOND_MS,
    })),
    ...present(
      'cloudtrail',
      trail && {
        lookbackMs: trail.lookbackDays * DAY_MS,
        deliveryDelayMs: trail.deliveryDelaySeconds * SECOND_MS,
        ignorePrincipals: [...trail.ignorePrincipals],
      },
    ),
  };
}

export function convertBase<K extends string>(t: RawTargetBase, kind: K): TargetBase & { kind: K } {
  return {
    kind,
    name: t.name,
    accountSid: t.accountSid,
    ...present('region', t.region),
    ...present('edge', t.edge),
    secret: { ...t.secret },
    ...present('admin', t.admin && { ...t.admin }),
    maxAgeMs: t.maxAgeDays * DAY_MS,
    gate: convertGate(t.gate),
    ...present('alerts', t.alerts && { channels: [...t.alerts.channels] }),
    ...present('schedule', t.schedule),
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
  const problem = (field: string, message: string) => issues.push({ path: at(field), message });
  if (t.gate.maxWaitSeconds < t.gate.minOverlapSeconds)
    problem('gate.maxWaitSeconds', `must be at least gate.minOverlapSeconds (${t.gate.minOverlapSeconds})`);
  const trail = t.gate.cloudtrail;
  if (trail && t.secret.store !== 'aws')
    problem('gate.cloudtrail', 'needs secret.store "aws": CloudTrail records reads of Secrets Manager secrets only');
  const spanDays = trail && trail.lookbackDays + t.gate.maxWaitSeconds / (DAY_MS / SECOND_MS);
  if (spanDays !== undefined && spanDays > CLOUDTRAIL_RETENTION_DAYS) {
    const history = `CloudTrail's ${CLOUDTRAIL_RETENTION_DAYS} days of event history`;
    problem(
      'gate.cloudtrail.lookbackDays',
      `plus gate.maxWaitSeconds must fit in ${history} (now ${Math.ceil(spanDays)} days); shorten one of them`,
    );
  }
  t.gate.probes.forEach((p, j) => {
    if ((p.headerName === undefined) !== (p.headerValueEnv === undefined))
      problem(`gate.probes.${j}.headerName`, 'headerName and headerValueEnv go together: set both or neither');
    else if (p.headerValueEnv !== undefined && !env[p.headerValueEnv])
      problem(`gate.probes.${j}.headerValueEnv`, `environment variable ${p.headerValueEnv} is not set`);
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
