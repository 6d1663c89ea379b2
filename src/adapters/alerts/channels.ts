import { webhookKey } from '../../config/alerts.js';
import type { ChannelConfig } from '../../config/types.js';
import type { AlertChannel } from '../../core/runtime.js';
import { ConfigError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import { pagerDutyChannel } from './pagerduty.js';
import { slackChannel } from './slack.js';
import { snsChannel } from './sns.js';
import { webhookChannel } from './webhook.js';

const SIGNING_SECRET = 'whsec_ and base64 of 24 to 64 random bytes';

/**
 * The configured channels as ports. Each secret is read from its environment variable when an alert
 * is sent (the loader checked it is set and well-formed) and registered for redaction first, so no
 * log line or error can carry it.
 */
export function alertChannels(
  channels: readonly ChannelConfig[],
  env: NodeJS.ProcessEnv,
  options: { minDelayMs: number },
): AlertChannel[] {
  return channels.map((c, i) => {
    const secret = (field: string, variable: string): (() => string) => {
      const value = env[variable];
      if (!value)
        throw new ConfigError([
          { path: `alerts.channels.${i}.${field}`, message: `environment variable ${variable} is not set` },
        ]);
      registerSecret(value);
      return () => value;
    };
    const events = new Set(c.events);
    const policy = { timeoutMs: c.timeoutMs, attempts: c.attempts, minDelayMs: options.minDelayMs };
    switch (c.type) {
      case 'slack':
        return slackChannel(c.name, events, secret('webhookUrlEnv', c.webhookUrlEnv), policy);
      case 'pagerduty':
        return pagerDutyChannel(c.name, events, c.url, secret('routingKeyEnv', c.routingKeyEnv), policy);
      case 'webhook': {
        const raw = secret('secretEnv', c.secretEnv)();
        const key = webhookKey(raw);
        if (!key)
          throw new ConfigError([
            {
              path: `alerts.channels.${i}.secretEnv`,
              message: `environment variable ${c.secretEnv} must hold a signing secret: ${SIGNING_SECRET}`,
            },
          ]);
        registerSecret(key.toString('base64'));
        return webhookChannel(c.name, events, c.url, () => key, policy);
      }
      case 'sns': {
        const creds =
          env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && c.endpoint
            ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } }
            : {};
        return snsChannel(
          c.name,
          events,
          { topicArn: c.topicArn, region: c.region, ...(c.endpoint ? { endpoint: c.endpoint } : {}), ...creds },
          policy,
        );
      }
    }
  });
}
