import {
  CloudTrailClient,
  LookupEventsCommand,
  type LookupEventsCommandInput,
  paginateLookupEvents,
} from '@aws-sdk/client-cloudtrail';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCloudTrailEmulator, type CloudTrailEmulator } from './cloudtrail/index.js';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from './secrets-manager/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const ROLE_SESSION = 'arn:aws:sts::123456789012:assumed-role/billing-api/i-0abc';
const USER = 'arn:aws:iam::123456789012:user/reports';
const T = (i: number) => i.toString(16).padStart(32, '0');
let nowMs = Date.UTC(2026, 5, 1, 12, 0, 0);
let sm: SecretsManagerEmulator;
let ct: CloudTrailEmulator;
const clients: { destroy(): void }[] = [];
const smAs = (accessKeyId: string) => {
  const c = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: sm.url,
    credentials: { accessKeyId, secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
};
let trail: CloudTrailClient;
let n = 0;

beforeAll(async () => {
  sm = await startSecretsManagerEmulator({ now: () => nowMs });
  // A quota no test run reaches by accident; the throttling test lowers it.
  ct = await startCloudTrailEmulator({
    now: () => nowMs,
    principals: { AKIDBILLING: ROLE_SESSION, AKIDREPORTS: USER },
    rateLimit: { requests: 1000, perMs: 1000 },
  });
  ct.attach(sm);
  trail = new CloudTrailClient({
    region: 'us-east-1',
    endpoint: ct.url,
    credentials: { accessKeyId: 'AKIDROTATOR', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  trail.destroy();
  await Promise.all([sm.close(), ct.close()]);
});
beforeEach(() => {
  ct.controls.reset();
  ct.setDeliveryDelay(0);
});

async function secretRead(): Promise<string> {
  const name = `trail/secret-${++n}`;
  const created = await smAs('AKIDADMIN').send(
    new CreateSecretCommand({ Name: name, ClientRequestToken: T(1), SecretString: 'v1' }),
  );
  return created.ARN!;
}

describe('CloudTrail emulator through the real AWS SDK', () => {
  it('records GetSecretValue as a management event: principal, version asked for, time, secret ARN', async () => {
    const arn = await secretRead();
    nowMs += 1000;
    await smAs('AKIDBILLING').send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }));
    await smAs('AKIDREPORTS').send(new GetSecretValueCommand({ SecretId: arn, VersionId: T(1) }));
    const found = await trail.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: arn }] }),
    );
    expect(found.Events?.map((e) => [e.EventName, e.Username, e.AccessKeyId])).toEqual([
      ['GetSecretValue', 'reports', 'AKIDREPORTS'],
      ['GetSecretValue', 'i-0abc', 'AKIDBILLING'],
    ]);
    expect(found.Events?.[0]?.EventTime).toEqual(new Date(nowMs));
    expect(found.Events?.[0]?.Resources).toEqual([{ ResourceType: 'AWS::SecretsManager::Secret', ResourceName: arn }]);
    const [byUser, byRole] = (found.Events ?? []).map((e) => JSON.parse(e.CloudTrailEvent!) as Record<string, any>);
    expect(byUser).toMatchObject({
      eventSource: 'secretsmanager.amazonaws.com',
      userIdentity: { type: 'IAMUser', arn: USER, accessKeyId: 'AKIDREPORTS' },
      requestParameters: { secretId: arn, versionId: T(1) },
      resources: [{ type: 'AWS::SecretsManager::Secret', ARN: arn }],
      eventTime: new Date(nowMs).toISOString().replace('.000Z', 'Z'),
      managementEvent: true,
    });
    expect(byRole).toMatchObject({
      userIdentity: {
        type: 'AssumedRole',
        arn: ROLE_SESSION,
        sessionContext: { sessionIssuer: { arn: 'arn:aws:iam::123456789012:role/billing-api' } },
      },
      requestParameters: { secretId: arn, versionStage: 'AWSCURRENT' },
    });
    expect(JSON.stringify(ct.events())).not.toContain('"v1"');
  });

  it('records a failed read with its errorCode', async () => {
    const arn = await secretRead();
    await expect(
      smAs('AKIDBILLING').send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' })),
    ).rejects.toThrow();
    const last = ct.events().at(-1)!;
    expect(JSON.parse(JSON.stringify(last.record))).toMatchObject({
      errorCode: 'ResourceNotFoundException',
      requestParameters: { versionStage: 'AWSPENDING' },
    });
  });

  it('shows an event only after the delivery delay, and not after 90 days', async () => {
    const arn = await secretRead();
    ct.setDeliveryDelay(5 * 60_000);
    await smAs('AKIDBILLING').send(new GetSecretValueCommand({ SecretId: arn }));
    const look = () =>
      trail.send(
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: arn }] }),
      );
    expect((await look()).Events).toEqual([]);
    nowMs += 5 * 60_000 - 1000;
    expect((await look()).Events).toEqual([]);
    nowMs += 1000;
    expect((await look()).Events).toHaveLength(1);
    nowMs += 90 * 86_400_000;
    expect((await look()).Events).toEqual([]);
  });

  it('pages newest first with MaxResults and NextToken; a token is valid only with its own parameters', async () => {
    const arn = await secretRead();
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      nowMs += 1000;
      times.push(nowMs);
      await smAs('AKIDBILLING').send(new GetSecretValueCommand({ SecretId: arn }));
    }
    const byArn = [{ AttributeKey: 'ResourceName' as const, AttributeValue: arn }];
    const seen: number[] = [];
    let pages = 0;
    for await (const page of paginateLookupEvents({ client: trail, pageSize: 3 }, { LookupAttributes: byArn })) {
      pages++;
      seen.push(...(page.Events ?? []).map((e) => e.EventTime!.getTime()));
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...times].reverse());
    const first = await trail.send(new LookupEventsCommand({ LookupAttributes: byArn, MaxResults: 3 }));
    await expect(
      trail.send(new LookupEventsCommand({ LookupAttributes: byArn, MaxResults: 2, NextToken: first.NextToken })),
    ).rejects.toMatchObject({ name: 'InvalidNextTokenException' });
    const window = await trail.send(
      new LookupEventsCommand({
        LookupAttributes: byArn,
        StartTime: new Date(times[2]!),
        EndTime: new Date(times[4]!),
      }),
    );
    expect(window.Events?.map((e) => e.EventTime!.getTime())).toEqual([times[4], times[3], times[2]]);
  });

  it('answers the documented errors: one lookup attribute, MaxResults up to 50, a time range in order', async () => {
    const fails = (input: LookupEventsCommandInput, name: string) =>
      expect(trail.send(new LookupEventsCommand(input))).rejects.toMatchObject({
        name,
        $metadata: { httpStatusCode: 400 },
      });
    await fails(
      {
        LookupAttributes: [
          { AttributeKey: 'EventName', AttributeValue: 'GetSecretValue' },
          { AttributeKey: 'Username', AttributeValue: 'reports' },
        ],
      },
      'InvalidLookupAttributesException',
    );
    await fails({ MaxResults: 51 }, 'InvalidMaxResultsException');
    await fails({ StartTime: new Date(nowMs), EndTime: new Date(nowMs - 1000) }, 'InvalidTimeRangeException');
  });

  it('throttles past the LookupEvents quota, injects faults, and logs each lookup with its access key', async () => {
    const limited = await startCloudTrailEmulator({ rateLimit: { requests: 2, perMs: 3_600_000 } });
    const client = new CloudTrailClient({
      region: 'us-east-1',
      endpoint: limited.url,
      credentials: { accessKeyId: 'AKIDROTATOR', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    try {
      await client.send(new LookupEventsCommand({}));
      await client.send(new LookupEventsCommand({}));
      await expect(client.send(new LookupEventsCommand({}))).rejects.toMatchObject({
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      });
      expect(limited.controls.log.map((e) => [e.operation, e.credential, e.status])).toEqual([
        ['LookupEvents', 'AKIDROTATOR', 200],
        ['LookupEvents', 'AKIDROTATOR', 200],
        ['LookupEvents', 'AKIDROTATOR', 400],
      ]);
    } finally {
      client.destroy();
      await limited.close();
    }
    ct.controls.setFaults({ sequence: ['throttle', 'server-error'] });
    await expect(trail.send(new LookupEventsCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(trail.send(new LookupEventsCommand({}))).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    await expect(trail.send(new LookupEventsCommand({}))).resolves.toMatchObject({ Events: expect.any(Array) });
  });
});
