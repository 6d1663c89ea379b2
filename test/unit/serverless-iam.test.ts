import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { deployFacts, shardingOptions } from '../../scripts/deploy-config.js';
import { scratchFolders } from '../support/scratch.js';

/** The Lambda role's statements come from the configuration: SNS alerts may publish to their topics only. */

const AC = `AC${'1'.repeat(32)}`;
const target = {
  name: 'app',
  accountSid: AC,
  keyType: 'standard',
  friendlyNamePrefix: 'rot-app-',
  secret: { store: 'aws', secretId: 'prod/app' },
  admin: { store: 'aws', secretId: 'prod/admin' },
};

const SLACK_REF = '{{resolve:secretsmanager:prod/rotator/slack:SecretString:url}}';

const scratch = scratchFolders();

async function facts(
  extra: Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
  sharding?: { targetsPerMessage: number },
) {
  const dir = await scratch('tkr-iam-');
  const configFile = join(dir, 'rotator.yaml');
  await writeFile(configFile, stringify({ stores: { aws: { region: 'eu-west-1' } }, targets: [target], ...extra }));
  return deployFacts({ configFile, env, region: 'eu-west-1', ...(sharding ? { sharding } : {}) });
}
const statements = async (extra: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
  (await facts(extra, env)).statements;

describe('serverless IAM statements', () => {
  it('grants cloudtrail:LookupEvents on "*" only when a gate uses CloudTrail evidence', async () => {
    const lookup = { Effect: 'Allow', Action: 'cloudtrail:LookupEvents', Resource: '*' };
    expect(await statements({})).not.toContainEqual(lookup);
    expect(await statements({ cloudtrail: { region: 'eu-west-1' } })).not.toContainEqual(lookup);
    const withTrail = await statements({
      targets: [{ ...target, gate: { cloudtrail: { ignorePrincipals: ['arn:aws:iam::123456789012:role/rotator'] } } }],
    });
    expect(withTrail).toContainEqual(lookup);
    const fleet = {
      name: 'tenants',
      parentAccountSid: AC,
      admin: { store: 'aws', secretId: 'prod/parent' },
      template: {
        keyType: 'standard',
        friendlyNamePrefix: 'rot-t-',
        secret: { store: 'aws', secretId: 'prod/tenants/{accountSid}' },
        gate: { cloudtrail: {} },
      },
    };
    expect(await statements({ fleets: [fleet] })).toContainEqual(lookup);
  });

  it('grants sns:Publish on exactly the topics of SNS alert channels', async () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:rotator-alerts';
    const all = await statements(
      {
        alerts: {
          channels: [
            { name: 'a', type: 'sns', topicArn: topic },
            { name: 'b', type: 'sns', topicArn: topic },
            { name: 'c', type: 'slack', webhookUrlEnv: 'SLACK' },
          ],
        },
      },
      { SLACK: SLACK_REF },
    );
    const sns = all.filter((s) => JSON.stringify(s.Action).includes('sns:'));
    expect(sns).toEqual([{ Effect: 'Allow', Action: 'sns:Publish', Resource: [topic] }]);
  });

  it("grants a fleet's member secrets by one pattern and the parent's secret read-only", async () => {
    const all = await statements({
      fleets: [
        {
          name: 'tenants',
          parentAccountSid: AC,
          admin: { store: 'aws', secretId: 'prod/parent' },
          template: {
            keyType: 'standard',
            friendlyNamePrefix: 'rot-t-',
            secret: { store: 'aws', secretId: 'prod/tenants/{accountSid}' },
          },
        },
      ],
    });
    const text = JSON.stringify(all);
    const rotated = all.find((s) => JSON.stringify(s.Action).includes('PutSecretValue'));
    expect(JSON.stringify(rotated?.Resource)).toContain('secret:prod/tenants/AC*-??????');
    const readOnly = all.find(
      (s) =>
        !JSON.stringify(s.Action).includes('PutSecretValue') && JSON.stringify(s.Action).includes('GetSecretValue'),
    );
    expect(JSON.stringify(readOnly?.Resource)).toContain('secret:prod/parent-??????');
    expect(text).not.toContain('{accountSid}');
  });

  it('grants no SNS action without an SNS channel', async () => {
    expect(JSON.stringify(await statements({}))).not.toContain('sns:');
  });

  it("hands an alert channel's secret to the functions only as a dynamic reference, never as text", async () => {
    const alerts = { alerts: { channels: [{ name: 'c', type: 'slack', webhookUrlEnv: 'SLACK' }] } };
    expect((await facts(alerts, { SLACK: SLACK_REF })).environment).toEqual({ SLACK: SLACK_REF });
    await expect(facts(alerts, { SLACK: 'https://hooks.slack.com/services/T0/B0/xyz' })).rejects.toThrow(
      new RegExp(
        String.raw`SLACK \(alerts\.channels\.0\.webhookUrlEnv\) is a secret and must not be written into the ` +
          String.raw`CloudFormation template`,
      ),
    );
  });

  it('lets the role send to the shard queue and gives the scheduler its URL only with sharding on', async () => {
    const off = await facts({});
    expect(JSON.stringify(off.statements)).not.toContain('sqs:');
    expect(off.scheduledEnvironment).toEqual(off.environment);
    const on = await facts({}, {}, { targetsPerMessage: 15 });
    expect(on.statements.filter((s) => JSON.stringify(s.Action).includes('sqs:'))).toEqual([
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['RotatorShardQueue', 'Arn'] } },
    ]);
    expect(on.scheduledEnvironment).toEqual({
      ...on.environment,
      ROTATOR_SHARD_QUEUE_URL: { Ref: 'RotatorShardQueue' },
      ROTATOR_SHARD_TARGETS_PER_MESSAGE: '15',
    });
  });
});

describe('the sharding params', () => {
  it('default to off, 20 targets per message and a concurrency of 4', () => {
    expect(shardingOptions({})).toBeUndefined();
    expect(shardingOptions({ sharding: 'off', targetsPerMessage: '7', concurrency: 9 })).toBeUndefined();
    expect(shardingOptions({ sharding: 'on' })).toEqual({ targetsPerMessage: 20 });
    expect(shardingOptions({ sharding: 'on', targetsPerMessage: 500, concurrency: '1000' })).toEqual({
      targetsPerMessage: 500,
    });
  });

  it.each([
    [{ sharding: 'yes' }, 'the sharding param must be "on" or "off", not "yes"'],
    [{ sharding: true }, 'the sharding param must be "on" or "off", not "true"'],
    [
      { sharding: 'on', targetsPerMessage: 0 },
      'the targets-per-message param must be a whole number from 1 to 500, not "0"',
    ],
    [{ sharding: 'on', targetsPerMessage: '2.5' }, 'targets-per-message param must be a whole number'],
    [{ sharding: 'on', concurrency: 1 }, 'the shard-concurrency param must be a whole number from 2 to 1000, not "1"'],
  ])('refuses %j, naming the param', (params, message) => {
    expect(() => shardingOptions(params)).toThrow(message);
  });
});
