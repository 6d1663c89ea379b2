import * as z from 'zod/mini';
import { PROBLEMS } from '../core/health.js';
import type { ConfigIssue } from '../errors.js';
import { DAY_MS, SECOND_MS } from '../core/sids.js';
import { httpUrl, nonNegative, positive, text } from './common.js';
import type { AlertsConfig, ChannelConfig, MetricsConfig } from './types.js';

/**
 * `alerts:` (channels, re-notify interval, key-age grace, delivery budget), `metrics:`, and a
 * target's own `alerts:`. Secrets (a Slack webhook URL, a PagerDuty routing key, a webhook signing
 * secret) are never written in the file: a channel names the environment variable that holds each.
 */

export const EVENT_NAMES = [...PROBLEMS, 'rotation-completed', 'leak-reported', 'rolled-back'] as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const NAME_MESSAGE = 'must be 1-64 letters, digits, "_", "." or "-"';
const envName = text(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');
export const PAGERDUTY_URL = 'https://events.pagerduty.com/v2/enqueue';

const common = {
  name: text(NAME, NAME_MESSAGE),
  events: z.optional(z.array(z.enum(EVENT_NAMES, { error: `must each be one of ${EVENT_NAMES.join(', ')}` }))),
  timeoutSeconds: z._default(positive('seconds', 60), 5),
  attempts: z._default(
    z
      .number({ error: 'must be a number' })
      .check(z.int('must be a whole number'), z.minimum(1, 'must be at least 1'), z.maximum(10, 'must be at most 10')),
    3,
  ),
};

/**
 * Where an alert goes over https, or plain http on this machine only (a local relay, the sandbox): a
 * Slack webhook URL is itself the secret, and every alert names targets and keys.
 */
export function isHttpsOrLoopback(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return url.protocol === 'http:' && (host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host));
}
const HTTPS_OR_LOOPBACK =
  'must be an https:// URL (plain http:// only to a loopback address: localhost, 127.0.0.1, [::1])';
const alertUrl = httpUrl.check(z.refine(isHttpsOrLoopback, HTTPS_OR_LOOPBACK));

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
      topicArn: text(
        /^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/,
        'must be an SNS topic ARN: arn:aws:sns:<region>:<account>:<name>',
      ),
      endpoint: z.optional(httpUrl),
    }),
  ],
  { error: 'type must be "slack", "pagerduty", "webhook" or "sns"' },
);

const ALERTS_DEFAULT = { channels: [], renotifyHours: 24, keyAgeGraceDays: 7, budgetSeconds: 15 };
export const alertsSchema = z._default(
  z.strictObject({
    channels: z._default(z.array(channel), []),
    renotifyHours: z._default(positive('hours', 24 * 365), ALERTS_DEFAULT.renotifyHours),
    keyAgeGraceDays: z._default(nonNegative('days', 3650), ALERTS_DEFAULT.keyAgeGraceDays),
    budgetSeconds: z._default(positive('seconds', 300), ALERTS_DEFAULT.budgetSeconds),
  }),
  ALERTS_DEFAULT,
);

export const metricsSchema = z._default(
  z.strictObject({
    enabled: z._default(z.boolean({ error: 'must be true or false' }), true),
    namespace: z._default(
      text(/^[A-Za-z0-9_./#:-]{1,255}$/, 'must be a CloudWatch namespace').check(
        z.refine(
          (n: string) => !n.startsWith('AWS/'),
          'must not start with "AWS/": CloudWatch reserves it for AWS services and drops such metrics',
        ),
      ),
      'TwilioKeyRotator',
    ),
  }),
  { enabled: true, namespace: 'TwilioKeyRotator' },
);

export type RawAlerts = z.infer<typeof alertsSchema>;
export type RawMetrics = z.infer<typeof metricsSchema>;

/** A Standard Webhooks signing secret: "whsec_" and base64 of 24 to 64 random bytes. */
export function webhookKey(secret: string): Buffer | undefined {
  if (!secret.startsWith('whsec_')) return undefined;
  const b64 = secret.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  const key = Buffer.from(b64, 'base64');
  return key.length >= 24 && key.length <= 64 ? key : undefined;
}

/** Checks that need the environment or several fields; never quotes a value read from the environment. */
export function checkAlerts(
  raw: RawAlerts,
  targets: readonly { index: number; t: { alerts?: { channels: string[] } } }[],
  issues: ConfigIssue[],
  env: NodeJS.ProcessEnv,
): void {
  const names = new Set<string>();
  raw.channels.forEach((c, i) => {
    const at = (f: string) => `alerts.channels.${i}.${f}`;
    if (names.has(c.name)) issues.push({ path: at('name'), message: `duplicates another channel's name "${c.name}"` });
    names.add(c.name);
    const needs = (field: string, variable: string, ok: (v: string) => boolean, what: string) => {
      const value = env[variable];
      if (!value) issues.push({ path: at(field), message: `environment variable ${variable} is not set` });
      // The deploy (scripts/deploy-config.ts) hands secrets to the Lambda as CloudFormation dynamic
      // references, resolved by CloudFormation: the function itself sees the real value, checked then.
      else if (/^\{\{resolve:secretsmanager:[^}]+\}\}$/.test(value)) return;
      else if (!ok(value))
        issues.push({ path: at(field), message: `environment variable ${variable} must hold ${what}` });
    };
    if (c.type === 'slack')
      needs(
        'webhookUrlEnv',
        c.webhookUrlEnv,
        isHttpsOrLoopback,
        'the Slack incoming-webhook URL, https:// (https://hooks.slack.com/…; plain ' +
          'http:// only to a loopback address)',
      );
    if (c.type === 'pagerduty') {
      needs(
        'routingKeyEnv',
        c.routingKeyEnv,
        (v) => /^[A-Za-z0-9]{32}$/.test(v),
        'a 32-character Events API v2 integration key',
      );
      if (c.events?.includes('rotation-completed'))
        issues.push({
          path: at('events'),
          message: 'PagerDuty pages people: send rotation-completed to a slack, webhook or sns channel instead',
        });
    }
    if (c.type === 'webhook')
      needs(
        'secretEnv',
        c.secretEnv,
        (v) => webhookKey(v) !== undefined,
        'a signing secret: whsec_ and base64 of 24 to 64 random bytes',
      );
  });
  const configured = names.size > 0 ? `configured: ${[...names].join(', ')}` : 'none is configured';
  for (const { index, t } of targets) {
    t.alerts?.channels.forEach((name, j) => {
      if (!names.has(name))
        issues.push({
          path: `targets.${index}.alerts.channels.${j}`,
          message: `names no channel of alerts.channels (${configured})`,
        });
    });
  }
}

export function convertAlerts(raw: RawAlerts): AlertsConfig {
  return {
    channels: raw.channels.map((c): ChannelConfig => {
      const base = {
        name: c.name,
        events: c.events ?? [...PROBLEMS, 'leak-reported', 'rolled-back'],
        timeoutMs: c.timeoutSeconds * SECOND_MS,
        attempts: c.attempts,
      };
      switch (c.type) {
        case 'slack':
          return { ...base, type: 'slack', webhookUrlEnv: c.webhookUrlEnv };
        case 'pagerduty':
          return { ...base, type: 'pagerduty', routingKeyEnv: c.routingKeyEnv, url: c.url };
        case 'webhook':
          return { ...base, type: 'webhook', url: c.url, secretEnv: c.secretEnv };
        case 'sns':
          return {
            ...base,
            type: 'sns',
            topicArn: c.topicArn,
            region: c.topicArn.split(':')[3]!,
            ...(c.endpoint ? { endpoint: c.endpoint } : {}),
          };
      }
    }),
    renotifyMs: raw.renotifyHours * 3600 * SECOND_MS,
    keyAgeGraceMs: raw.keyAgeGraceDays * DAY_MS,
    budgetMs: raw.budgetSeconds * SECOND_MS,
  };
}

export function convertMetrics(raw: RawMetrics): MetricsConfig {
  return { enabled: raw.enabled, namespace: raw.namespace };
}
