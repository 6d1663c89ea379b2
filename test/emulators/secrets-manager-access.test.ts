import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  type FilterNameStringType,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from './secrets-manager/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let sm: SecretsManagerEmulator;
let client: SecretsManagerClient;
let nowMs = Date.UTC(2026, 2, 14, 15, 9, 26);
let n = 0;
const T = (i: number) => i.toString(16).padStart(32, '0');
const name = () => `access/secret-${++n}`;

beforeAll(async () => {
  sm = await startSecretsManagerEmulator({ now: () => nowMs });
  client = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: sm.url,
    credentials: { accessKeyId: 'AKIDACCESSTEST', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await sm.close();
});

describe('Secrets Manager emulator: what AWS answers about reads, filters and forced deletes', () => {
  it('reports LastAccessedDate after GetSecretValue, truncated to the day, and omits it before any read', async () => {
    const id = name();
    await client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 'v1' }));
    const before = await client.send(new DescribeSecretCommand({ SecretId: id }));
    expect(before.LastAccessedDate).toBeUndefined();
    await client.send(new GetSecretValueCommand({ SecretId: id }));
    const midnight = new Date(Date.UTC(2026, 2, 14));
    expect((await client.send(new DescribeSecretCommand({ SecretId: id }))).LastAccessedDate).toEqual(midnight);
    const listed = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [id] }] }));
    expect(listed.SecretList?.[0]?.LastAccessedDate).toEqual(midnight);
    const versions = await client.send(new ListSecretVersionIdsCommand({ SecretId: id }));
    expect(versions.Versions?.[0]?.LastAccessedDate).toEqual(midnight);

    nowMs += 2 * 86_400_000;
    await client.send(new GetSecretValueCommand({ SecretId: id }));
    expect((await client.send(new DescribeSecretCommand({ SecretId: id }))).LastAccessedDate).toEqual(
      new Date(Date.UTC(2026, 2, 16)),
    );
  });

  it('does not count a failed read as an access', async () => {
    const id = name();
    await client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 'v1' }));
    await expect(
      client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: 'AWSPENDING' })),
    ).rejects.toThrow();
    expect((await client.send(new DescribeSecretCommand({ SecretId: id }))).LastAccessedDate).toBeUndefined();
  });

  it('refuses an unknown ListSecrets filter key with the model enum ValidationException', async () => {
    const unknown = 'colour' as FilterNameStringType;
    await expect(
      client.send(
        new ListSecretsCommand({
          Filters: [
            { Key: 'name', Values: ['x'] },
            { Key: unknown, Values: ['x'] },
          ],
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringMatching(
        new RegExp(
          String.raw`^1 validation error detected: Value 'colour' at 'filters\.2\.member\.key' failed to ` +
            String.raw`satisfy constraint: Member must satisfy enum value set: \[`,
        ),
      ) as string,
    });
  });

  it('accepts the documented primary-region and owning-service keys, which no emulated secret matches', async () => {
    const id = name();
    await client.send(new CreateSecretCommand({ Name: id, SecretString: 'v' }));
    for (const key of ['primary-region', 'owning-service'] as FilterNameStringType[]) {
      const listed = await client.send(new ListSecretsCommand({ Filters: [{ Key: key, Values: ['us'] }] }));
      expect(listed.SecretList).toEqual([]);
    }
  });

  it('answers a forced DeleteSecret of a name that never existed with success, not ResourceNotFound', async () => {
    const never = 'access/never-existed';
    const answer = await client.send(new DeleteSecretCommand({ SecretId: never, ForceDeleteWithoutRecovery: true }));
    expect(answer.Name).toBe(never);
    expect(answer.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:access\/never-existed-\w{6}$/);
    expect(answer.DeletionDate).toEqual(new Date(nowMs));
    expect(sm.inspect(never)).toBeUndefined();
    // Without force it is still ResourceNotFoundException.
    await expect(client.send(new DeleteSecretCommand({ SecretId: never }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});
