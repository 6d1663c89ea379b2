import { webhookKey } from '../../config/alerts.js';
import type { ChannelConfig } from '../../config/types.js';
import type { AlertChannel } from '../../core/runtime.js';
import { ConfigError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import type { ChannelBase } from './deliver.js';
import { endpointCredentials } from '../retry.js';

const SIGNING_SECRET = 'whsec_ and base64 of 24 to 64 random bytes';

/**
 * A channel whose code is imported when it first sends: most runs send no alert, and a Lambda's
 * start-up then reads none of the channels' code (README "Bundle size and cold start").
 */
function onFirstSend(type: AlertChannel['type'], base: ChannelBase, load: () => Promise<AlertChannel>): AlertChannel {
  let channel: Promise<AlertChannel> | undefined;
  return {
    name: base.name,
    type,
    events: base.events,
    send: async (alert, signal) => (await (channel ??= load())).send(alert, signal),
  };
}

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
    const refuse = (field: string, message: string) =>
      new ConfigError([{ path: `alerts.channels.${i}.${field}`, message }]);
    const secret = (field: string, variable: string): (() => string) => {
      const value = env[variable];
      if (!value) throw refuse(field, `environment variable ${variable} is not set`);
      registerSecret(value);
      return () => value;
    };
    const policy = { timeoutMs: c.timeoutMs, attempts: c.attempts, minDelayMs: options.minDelayMs };
    const base = { name: c.name, events: new Set(c.events), policy };
    /** Reads the channel's secret now; its code is imported on the first send. */
    const loader = (): (() => Promise<AlertChannel>) => {
      switch (c.type) {
        case 'slack': {
          const url = secret('webhookUrlEnv', c.webhookUrlEnv);
          return async () => (await import('./slack.js')).slackChannel(base, url);
        }
        case 'pagerduty': {
          const key = secret('routingKeyEnv', c.routingKeyEnv);
          return async () => (await import('./pagerduty.js')).pagerDutyChannel(base, c.url, key);
        }
        case 'webhook': {
          const key = webhookKey(secret('secretEnv', c.secretEnv)());
          const holds = `must hold a signing secret: ${SIGNING_SECRET}`;
          if (!key) throw refuse('secretEnv', `environment variable ${c.secretEnv} ${holds}`);
          registerSecret(key.toString('base64'));
          return async () => (await import('./webhook.js')).webhookChannel(base, c.url, () => key);
        }
        case 'sns': {
          const endpoint = c.endpoint ? { endpoint: c.endpoint } : {};
          const topic = {
            topicArn: c.topicArn,
            region: c.region,
            ...endpoint,
            ...endpointCredentials(env, c.endpoint),
          };
          return async () => (await import('./sns.js')).snsChannel(base.name, base.events, topic, policy);
        }
      }
    };
    return onFirstSend(c.type, base, loader());
  });
}
