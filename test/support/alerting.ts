import { recordOutput, recordSecrets } from './scan.js';
import { startSnsEmulator, type SnsEmulator } from '../emulators/sns/index.js';
import { startPagerDutyReceiver, startSlackReceiver, startWebhookReceiver } from '../emulators/receivers/index.js';

/**
 * Every alert channel's receiver on loopback, and the `alerts:` configuration that points the
 * rotator at them. The secrets (Slack's webhook URL, the PagerDuty routing key, the webhook signing
 * secret) reach the rotator only through environment variables, and go to the leak scan.
 */
export interface Receivers {
  slack: Awaited<ReturnType<typeof startSlackReceiver>>;
  pagerduty: Awaited<ReturnType<typeof startPagerDutyReceiver>>;
  webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  sns: SnsEmulator;
  topicArn: string;
  env: Record<string, string>;
  /** alerts: for the configuration; `channel` overrides merge into each channel by name. */
  config(extra?: Record<string, unknown>, channel?: Record<string, Record<string, unknown>>): Record<string, unknown>;
  /** Deliveries so far, per channel. */
  counts(): { slack: number; pagerduty: number; webhook: number; sns: number };
  /** What SNS accepted for the topic in this test. */
  snsMessages(): ReturnType<SnsEmulator['published']>;
  reset(): void;
  close(): Promise<void>;
}

export async function startReceivers(): Promise<Receivers> {
  const [slack, pagerduty, webhook, sns] = await Promise.all([
    startSlackReceiver(),
    startPagerDutyReceiver(),
    startWebhookReceiver(),
    startSnsEmulator(),
  ]);
  const topicArn = sns.createTopicDirect('rotator-alerts');
  // The topic outlives a test; what one test published starts after this many messages.
  let snsSeen = 0;
  const published = () => sns.published(topicArn).slice(snsSeen);
  /** SNS payloads go to the leak scan like every other channel's (the receivers record their own). */
  const scanSns = () => {
    for (const m of published())
      recordOutput(`${m.subject ?? ''}\n${m.message}\n${JSON.stringify(m.messageAttributes)}`);
  };
  const env = {
    TKR_SLACK_WEBHOOK_URL: slack.webhookUrl,
    TKR_PAGERDUTY_ROUTING_KEY: pagerduty.routingKey,
    TKR_WEBHOOK_SECRET: webhook.secret,
  };
  recordSecrets(Object.values(env));
  return {
    slack,
    pagerduty,
    webhook,
    sns,
    topicArn,
    env,
    config(extra = {}, overrides = {}) {
      const channels = [
        { name: 'ops-slack', type: 'slack', webhookUrlEnv: 'TKR_SLACK_WEBHOOK_URL' },
        {
          name: 'pager',
          type: 'pagerduty',
          routingKeyEnv: 'TKR_PAGERDUTY_ROUTING_KEY',
          url: `${pagerduty.url}/v2/enqueue`,
        },
        { name: 'hooks', type: 'webhook', url: webhook.url, secretEnv: 'TKR_WEBHOOK_SECRET' },
        { name: 'topic', type: 'sns', topicArn, endpoint: sns.url },
      ].map((c) => ({ ...c, timeoutSeconds: 2, ...(overrides[c.name] ?? {}) }));
      return { channels, budgetSeconds: 30, ...extra };
    },
    counts: () => ({
      slack: slack.received.length,
      pagerduty: pagerduty.received.length,
      webhook: webhook.received.length,
      sns: published().length,
    }),
    snsMessages: published,
    reset() {
      scanSns();
      snsSeen = sns.published(topicArn).length;
      for (const r of [slack, pagerduty, webhook]) {
        r.controls.reset();
        r.received.length = 0;
      }
      pagerduty.alerts.clear();
      webhook.rejected.length = 0;
      webhook.duplicates.length = 0;
      webhook.attempts.length = 0;
      sns.controls.reset();
    },
    close: async () => {
      scanSns();
      await Promise.all([slack.close(), pagerduty.close(), webhook.close(), sns.close()]);
    },
  };
}
