import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';

/** `alerts:`, `metrics:` and a target's `alerts:`: every problem named by its path, nothing read twice. */

const AC = `AC${'a'.repeat(32)}`;
const target = (extra: Record<string, unknown> = {}) => ({
  name: 'app',
  accountSid: AC,
  keyType: 'standard',
  friendlyNamePrefix: 'rot-',
  secret: { store: 'file', secretId: 'twilio/app' },
  admin: { store: 'file', secretId: 'twilio/admin' },
  ...extra,
});
const env = {
  SLACK_URL: 'https://hooks.slack.example/services/T1/B1/abcdefghijkl',
  PD_KEY: 'a'.repeat(32),
  HOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
};
const parse = (alerts: unknown, targets = [target()], extra: Record<string, unknown> = {}) =>
  parseConfigObject({ stores: { file: { path: '/tmp/x.json' } }, alerts, ...extra, targets }, { env });
const issues = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('accepted');
};

describe('alerts configuration', () => {
  it('takes every channel type, with defaults in milliseconds and every problem as the default events', () => {
    const config = parse({
      channels: [
        { name: 'ops', type: 'slack', webhookUrlEnv: 'SLACK_URL' },
        { name: 'pager', type: 'pagerduty', routingKeyEnv: 'PD_KEY' },
        {
          name: 'hooks',
          type: 'webhook',
          url: 'https://hooks.example/rotator',
          secretEnv: 'HOOK_SECRET',
          events: ['rotation-completed'],
        },
        { name: 'topic', type: 'sns', topicArn: 'arn:aws:sns:eu-west-1:123456789012:rotator' },
      ],
    });
    expect(config.alerts).toMatchObject({
      renotifyMs: 24 * 3_600_000,
      keyAgeGraceMs: 7 * 86_400_000,
      budgetMs: 15_000,
    });
    expect(config.alerts.channels[1]).toMatchObject({
      url: 'https://events.pagerduty.com/v2/enqueue',
      timeoutMs: 5000,
      attempts: 3,
    });
    expect(config.alerts.channels[0]!.events).toContain('stuck');
    expect(config.alerts.channels[2]!.events).toEqual(['rotation-completed']);
    expect(config.alerts.channels[3]).toMatchObject({ region: 'eu-west-1' });
    expect(config.metrics).toEqual({ enabled: true, namespace: 'TwilioKeyRotator' });
  });

  it('names every problem by its path, and never quotes a value read from the environment', () => {
    const found = issues(() =>
      parse(
        {
          channels: [
            { name: 'ops', type: 'slack', webhookUrlEnv: 'UNSET_VAR' },
            { name: 'ops', type: 'pagerduty', routingKeyEnv: 'SLACK_URL', events: ['rotation-completed'] },
            { name: 'hooks', type: 'webhook', url: 'https://user:pw@hooks.example/', secretEnv: 'PD_KEY' },
            { name: 'x', type: 'email', to: 'a@b' },
            { name: 'topic', type: 'sns', topicArn: 'arn:aws:sqs:eu-west-1:1:q', colour: 'red' },
          ],
          renotifyHours: 0,
        },
        [target({ alerts: { channels: ['ops', 'nope'] } })],
      ),
    );
    const byPath = Object.fromEntries(found.map((i) => [i.path, i.message]));
    expect(byPath).toMatchObject({
      'alerts.channels.2.url': expect.stringMatching(/must not carry credentials/),
      'alerts.channels.3.type': expect.stringMatching(/type must be "slack", "pagerduty", "webhook" or "sns"/),
      'alerts.channels.4': expect.stringMatching(/unknown key "colour"/),
      'alerts.channels.4.topicArn': expect.stringMatching(/must be an SNS topic ARN/),
      'alerts.renotifyHours': expect.stringMatching(/greater than 0/),
    });
    const valid = issues(() =>
      parse(
        {
          channels: [
            { name: 'ops', type: 'slack', webhookUrlEnv: 'UNSET_VAR' },
            { name: 'ops', type: 'pagerduty', routingKeyEnv: 'SLACK_URL', events: ['rotation-completed'] },
            { name: 'hooks', type: 'webhook', url: 'https://hooks.example/', secretEnv: 'PD_KEY' },
          ],
        },
        [target({ alerts: { channels: ['ops', 'nope'] } })],
      ),
    );
    expect(Object.fromEntries(valid.map((i) => [i.path, i.message]))).toEqual({
      'alerts.channels.0.webhookUrlEnv': 'environment variable UNSET_VAR is not set',
      'alerts.channels.1.name': 'duplicates another channel\'s name "ops"',
      'alerts.channels.1.routingKeyEnv':
        'environment variable SLACK_URL must hold a 32-character Events API v2 integration key',
      'alerts.channels.1.events': expect.stringMatching(/PagerDuty pages people/),
      'alerts.channels.2.secretEnv': expect.stringMatching(
        /environment variable PD_KEY must hold a signing secret: whsec_/,
      ),
      'targets.0.alerts.channels.1': 'names no channel of alerts.channels (configured: ops, hooks)',
    });
    expect(JSON.stringify(valid)).not.toContain(env.SLACK_URL);
    expect(JSON.stringify(valid)).not.toContain(env.PD_KEY);
  });

  it('requires https for Slack, webhook and PagerDuty URLs, naming the field; plain http only to loopback', () => {
    const plain = { ...env, SLACK_PLAIN: 'http://hooks.slack.example/services/T1/B1/abcdefghijkl' };
    const config = (channels: unknown[], e: NodeJS.ProcessEnv) =>
      parseConfigObject(
        { stores: { file: { path: '/tmp/x.json' } }, alerts: { channels }, targets: [target()] },
        { env: e },
      );
    const slack = issues(() => config([{ name: 'ops', type: 'slack', webhookUrlEnv: 'SLACK_PLAIN' }], plain));
    expect(slack).toEqual([
      {
        path: 'alerts.channels.0.webhookUrlEnv',
        message: expect.stringMatching(/SLACK_PLAIN must hold the Slack incoming-webhook URL, https:\/\//) as string,
      },
    ]);
    expect(JSON.stringify(slack)).not.toContain(plain.SLACK_PLAIN);
    const urls = issues(() =>
      config(
        [
          { name: 'pager', type: 'pagerduty', routingKeyEnv: 'PD_KEY', url: 'http://events.example/v2/enqueue' },
          { name: 'hooks', type: 'webhook', url: 'http://hooks.example/rotator', secretEnv: 'HOOK_SECRET' },
        ],
        env,
      ),
    );
    expect(Object.fromEntries(urls.map((i) => [i.path, i.message]))).toEqual({
      'alerts.channels.0.url': expect.stringMatching(/must be an https:\/\/ URL \(plain http:\/\/ only to a loopback/),
      'alerts.channels.1.url': expect.stringMatching(/must be an https:\/\/ URL/),
    });

    for (const local of ['http://127.0.0.1:8080/hook', 'http://localhost:9/x', 'http://[::1]:9/x']) {
      const accepted = config(
        [
          { name: 'ops', type: 'slack', webhookUrlEnv: 'LOCAL' },
          { name: 'hooks', type: 'webhook', url: local, secretEnv: 'HOOK_SECRET' },
        ],
        { ...env, LOCAL: local },
      );
      expect(accepted.alerts.channels).toHaveLength(2);
    }
  });

  it("refuses a metrics.namespace in CloudWatch's reserved AWS/ space", () => {
    const found = issues(() => parse(undefined, [target()], { metrics: { namespace: 'AWS/TwilioKeyRotator' } }));
    expect(found).toEqual([{ path: 'metrics.namespace', message: expect.stringContaining('"AWS/"') as string }]);
    expect(parse(undefined, [target()], { metrics: { namespace: 'Team/AWS/Rotator' } }).metrics.namespace).toBe(
      'Team/AWS/Rotator',
    );
  });

  it('rejects unknown keys under alerts and metrics', () => {
    const found = issues(() => parse({ chanels: [] }, [target()], { metrics: { enabled: 'yes', nmespace: 'x' } }));
    expect(found.map((i) => i.path).sort()).toEqual(['alerts', 'metrics', 'metrics.enabled']);
  });
});
