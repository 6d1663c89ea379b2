import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

/** The Lambda role's statements come from the configuration: SNS alerts may publish to their topics only. */
const require = createRequire(import.meta.url);
const iam = require('../../scripts/serverless-iam.cjs') as { statements(): { Action: unknown; Resource: unknown }[] };

afterEach(() => {
  delete process.env.ROTATOR_CONFIG_FILE;
});

async function withConfig(config: unknown) {
  const dir = await mkdtemp(join(tmpdir(), 'tkr-iam-'));
  await writeFile(join(dir, 'rotator.yaml'), stringify(config));
  process.env.ROTATOR_CONFIG_FILE = join(dir, 'rotator.yaml');
}

const target = {
  name: 'app',
  secret: { store: 'aws', secretId: 'prod/app' },
  admin: { store: 'aws', secretId: 'prod/admin' },
};

describe('serverless IAM statements', () => {
  it('grants sns:Publish on exactly the topics of SNS alert channels', async () => {
    const topic = 'arn:aws:sns:eu-west-1:123456789012:rotator-alerts';
    await withConfig({
      targets: [target],
      alerts: {
        channels: [
          { name: 'a', type: 'sns', topicArn: topic },
          { name: 'b', type: 'sns', topicArn: topic },
          { name: 'c', type: 'slack', webhookUrlEnv: 'SLACK' },
        ],
      },
    });
    const sns = iam.statements().filter((s) => JSON.stringify(s.Action).includes('sns:'));
    expect(sns).toEqual([{ Effect: 'Allow', Action: 'sns:Publish', Resource: [topic] }]);
  });

  it('grants no SNS action without an SNS channel', async () => {
    await withConfig({ targets: [target] });
    expect(JSON.stringify(iam.statements())).not.toContain('sns:');
  });
});
