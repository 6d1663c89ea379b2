import * as z from 'zod/mini';
import { envName, flag, httpUrl, nonNegative, positive, section, text, wholeNumber } from '../config-kit/fields.js';
import { PROBLEMS } from '../core/health.js';
import { DAY_MS, SECOND_MS } from '../core/sids.js';
import type { ConfigIssue } from '../errors.js';

/**
 * `alerts:`, `metrics:`, and a target's own `alerts:`. Secrets (a Slack webhook URL, a PagerDuty routing
 * key, a webhook signing secret) are never in the file: a channel names the variable that holds each.
 */

const EVENT_NAMES = [...PROBLEMS, 'rotation-completed', 'leak-reported', 'rolled-back'] as const;
/** What a channel without `events` hears: every problem, not the routine rotation-completed. */
const DEFAULT_EVENTS = [...PROBLEMS, 'leak-reported', 'rolled-back'];
const PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';

const common = {
  name: text(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, "_", "." or "-"'),
  events: z.optional(z.array(z.enum(EVENT_NAMES, { error: `must each be one of ${EVENT_NAMES.join(', ')}` }))),
  timeoutSeconds: z._default(positive('seconds', 60), 5),
  attempts: z._default(wholeNumber(1, 10), 3),
};

/**
 * Where an alert goes over https, or plain http on this machine only (a local relay, the sandbox): a
 * Slack webhook URL is itself the secret, and every alert names targets and keys.
 */
function isHttpsOrLoopback(value: string): boolean {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol === 'https:') return true;
  const host = url?.hostname.replace(/^\[|\]$/g, '') ?? '';
  return url?.protocol === 'http:' && (host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host));
}
const HTTPS_OR_LOOPBACK =
  'must be an https:// URL (plain http:// only to a loopback address: localhost, 127.0.0.1, [::1])';
const alertUrl = httpUrl.check(z.refine(isHttpsOrLoopback, HTTPS_OR_LOOPBACK));
const SNS_TOPIC = /^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

const channel = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ ...common, type: z.literal('slack'), webhookUrlEnv: envName }),
    z.strictObject({
      ...common,
      type: z.literal('pagerduty'),
      routingKeyEnv: envName,
      url: z._default(alertUrl, PAGERDUTY_URL),
    }),
    z.strictObject({ ...common, type: z.literal('webhook'), url: alertUrl, secretEnv: envName }),
    z.strictObject({
      ...common,
      type: z.literal('sns'),
      topicArn: text(SNS_TOPIC, 'must be an SNS topic ARN: arn:aws:sns:<region>:<account>:<name>'),
      endpoint: z.optional(httpUrl),
    }),
  ],
  { error: 'type must be "slack", "pagerduty", "webhook" or "sns"' },
);

export const alertsSchema = section({
  channels: z._default(z.array(channel), []),
  renotifyHours: z._default(positive('hours', 24 * 365), 24),
  keyAgeGraceDays: z._default(nonNegative('days', 3650), 7),
  budgetSeconds: z._default(positive('seconds', 300), 15),
});

const RESERVED_NAMESPACE = 'must not start with "AWS/": CloudWatch reserves it for AWS services and drops such metrics';
const namespace = text(/^[A-Za-z0-9_./#:-]{1,255}$/, 'must be a CloudWatch namespace').check(
  z.refine((n: string) => !n.startsWith('AWS/'), RESERVED_NAMESPACE),
);
export const metricsSchema = section({
  enabled: z._default(flag, true),
  namespace: z._default(namespace, 'TwilioKeyRotator'),
});

export type RawAlerts = z.infer<typeof alertsSchema>;
export type MetricsConfig = z.infer<typeof metricsSchema>;

/** A Standard Webhooks signing secret: "whsec_" and base64 of 24 to 64 random bytes. */
export function webhookKey(secret: string): Buffer | undefined {
  if (!secret.startsWith('whsec_')) return undefined;
  const b64 = secret.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const key = Buffer.from(b64, 'base64');
  return key.length >= 24 && key.length <= 64 ? key : undefined;
}

/** Per channel type: the field naming its secret's variable, what the value must be, and how it is told. */
const SECRETS: Record<string, { field: string; ok(v: string): boolean; what: string }> = {
  slack: {
    field: 'webhookUrlEnv',
    ok: isHttpsOrLoopback,
    what:
      'the Slack incoming-webhook URL, https:// (https://hooks.slack.com/…; plain ' +
      'http:// only to a loopback address)',
  },
  pagerduty: {
    field: 'routingKeyEnv',
    ok: (v) => /^[A-Za-z0-9]{32}$/.test(v),
    what: 'a 32-character Events API v2 integration key',
  },
  webhook: {
    field: 'secretEnv',
    ok: (v) => webhookKey(v) !== undefined,
    what: 'a signing secret: whsec_ and base64 of 24 to 64 random bytes',
  },
};

const COMPLETED_ELSEWHERE = 'send rotation-completed to a slack, webhook or sns channel instead';

/** Checks that need the environment or several fields; never quotes a value read from the environment. */
export function checkAlerts(
  raw: RawAlerts,
  targets: readonly { index: number; t: { alerts?: { channels: string[] } } }[],
  issues: ConfigIssue[],
  env: NodeJS.ProcessEnv,
): void {
  const names = new Set<string>();
  const problem = (path: string, message: string) => issues.push({ path, message });
  raw.channels.forEach((c, i) => {
    const at = (f: string) => `alerts.channels.${i}.${f}`;
    if (names.has(c.name)) problem(at('name'), `duplicates another channel's name "${c.name}"`);
    names.add(c.name);
    const secret = SECRETS[c.type];
    const variable = secret && (c as unknown as Record<string, string>)[secret.field]!;
    const value = variable === undefined ? undefined : env[variable];
    if (secret && !value) problem(at(secret.field), `environment variable ${variable} is not set`);
    // The deploy (scripts/deploy-config.ts) hands secrets to the Lambda as CloudFormation dynamic
    // references, resolved by CloudFormation: the function itself sees the real value, checked then.
    else if (secret && value && !/^\{\{resolve:secretsmanager:[^}]+\}\}$/.test(value) && !secret.ok(value))
      problem(at(secret.field), `environment variable ${variable} must hold ${secret.what}`);
    if (c.type === 'pagerduty' && c.events?.includes('rotation-completed'))
      problem(at('events'), `PagerDuty pages people: ${COMPLETED_ELSEWHERE}`);
  });
  const configured = names.size > 0 ? `configured: ${[...names].join(', ')}` : 'none is configured';
  for (const { index, t } of targets)
    t.alerts?.channels.forEach((name, j) => {
      if (!names.has(name))
        problem(`targets.${index}.alerts.channels.${j}`, `names no channel of alerts.channels (${configured})`);
    });
}

/**
 * A channel as the adapters take it. Secrets are named by environment variable and read when an alert is
 * sent. `events`: the problems (and rotation-completed) it receives, each problem's resolve with it;
 * `timeoutMs`: per delivery attempt.
 */
function convertChannel({ timeoutSeconds, events, ...c }: RawAlerts['channels'][number]) {
  const converted = { events: events ?? [...DEFAULT_EVENTS], timeoutMs: timeoutSeconds * SECOND_MS };
  return c.type === 'sns' ? { ...c, ...converted, region: c.topicArn.split(':')[3]! } : { ...c, ...converted };
}

/**
 * `renotifyMs`: an open problem is announced again after this long; `keyAgeGraceMs`: a credential older
 * than its maxAge plus this is reported overdue; `budgetMs`: for all deliveries of one run together.
 */
export function convertAlerts(raw: RawAlerts) {
  return {
    channels: raw.channels.map(convertChannel),
    renotifyMs: raw.renotifyHours * 3600 * SECOND_MS,
    keyAgeGraceMs: raw.keyAgeGraceDays * DAY_MS,
    budgetMs: raw.budgetSeconds * SECOND_MS,
  };
}
