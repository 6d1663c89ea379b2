import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

/** gate.cloudtrail and the top-level cloudtrail block: defaults in milliseconds, and what is refused. */

const AC = `AC${'a'.repeat(32)}`;
const ROLE = 'arn:aws:iam::123456789012:role/twilio-key-rotator';

function config(gate: Record<string, unknown>, extra: Record<string, unknown> = {}, store = 'aws') {
  return stringify({
    stores: { aws: { region: 'eu-west-1' }, file: { path: './s.json' } },
    ...extra,
    targets: [
      {
        name: 'app',
        accountSid: AC,
        keyType: 'standard',
        friendlyNamePrefix: 'rot-app-',
        secret: { store, secretId: 'twilio/app' },
        admin: { store: 'aws', secretId: 'twilio/admin' },
        gate,
      },
    ],
  });
}

function issues(text: string): { path: string; message: string }[] {
  try {
    parseConfig(text, { env: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected the configuration to be rejected');
}

describe('CloudTrail evidence configuration', () => {
  it('fills defaults: 7 days back, a 15-minute delivery delay, the region of stores.aws, 2 lookups a second', () => {
    const parsed = parseConfig(config({ cloudtrail: { ignorePrincipals: [ROLE] } }), { env: {} });
    expect(parsed.targets[0]?.gate.cloudtrail).toEqual({
      lookbackMs: 7 * 86_400_000,
      deliveryDelayMs: 900_000,
      ignorePrincipals: [ROLE],
    });
    expect(parsed.cloudtrail).toEqual({ region: 'eu-west-1', timeoutMs: 10_000, maxPages: 100, requestsPerSecond: 2 });
    expect(parseConfig(config({}), { env: {} }).cloudtrail).toBeUndefined();
  });

  it('refuses CloudTrail evidence on a file-store secret, and a window longer than the 90 days of history', () => {
    expect(issues(config({ cloudtrail: {} }, {}, 'file'))).toEqual([
      { path: 'targets.0.gate.cloudtrail', message: expect.stringContaining('needs secret.store "aws"') as string },
    ]);
    expect(issues(config({ maxWaitSeconds: 30 * 86_400, cloudtrail: { lookbackDays: 61 } }))).toEqual([
      {
        path: 'targets.0.gate.cloudtrail.lookbackDays',
        message: expect.stringContaining("must fit in CloudTrail's 90 days of event history (now 91 days)") as string,
      },
    ]);
  });

  it('refuses a principal that is not an IAM or STS ARN, unknown keys, and more than 2 lookups a second', () => {
    const found = issues(
      config({ cloudtrail: { ignorePrincipals: ['rotator'], lookback: 3 } }, { cloudtrail: { requestsPerSecond: 5 } }),
    );
    expect(found.map((i) => i.path).sort()).toEqual([
      'cloudtrail.requestsPerSecond',
      'targets.0.gate.cloudtrail',
      'targets.0.gate.cloudtrail.ignorePrincipals.0',
    ]);
  });
});
