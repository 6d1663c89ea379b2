import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from './secrets-manager/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let sm: SecretsManagerEmulator;
let client: SecretsManagerClient;
let n = 0;
const T = (i: number) => i.toString(16).padStart(32, '0');
const name = () => `test/secret-${++n}`;

beforeAll(async () => {
  sm = await startSecretsManagerEmulator();
  client = new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: sm.url,
    credentials: { accessKeyId: 'AKIDEMULATORTEST', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await sm.close();
});
beforeEach(() => sm.controls.reset());

describe('Secrets Manager emulator through the real AWS SDK', () => {
  it('creates, describes and reads a secret by name, ARN and partial ARN; dates are epoch seconds', async () => {
    const id = name();
    const created = await client.send(
      new CreateSecretCommand({
        Name: id,
        ClientRequestToken: T(1),
        SecretString: 'v1',
        Tags: [{ Key: 'team', Value: 'a' }],
      }),
    );
    expect(created).toMatchObject({ Name: id, VersionId: T(1) });
    expect(created.ARN).toMatch(
      new RegExp(`^arn:aws:secretsmanager:us-east-1:123456789012:secret:${id}-[A-Za-z0-9]{6}$`),
    );
    const described = await client.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect(described.VersionIdsToStages).toEqual({ [T(1)]: ['AWSCURRENT'] });
    expect(described.CreatedDate).toBeInstanceOf(Date);
    expect(described.Tags).toEqual([{ Key: 'team', Value: 'a' }]);
    expect((await client.send(new GetSecretValueCommand({ SecretId: created.ARN!.slice(0, -7) }))).SecretString).toBe(
      'v1',
    );
  });

  it('follows the rotation label dance: AWSPENDING, move AWSCURRENT (AWSPREVIOUS follows), remove AWSPENDING', async () => {
    const id = name();
    await client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 'v1' }));
    await client.send(
      new PutSecretValueCommand({
        SecretId: id,
        ClientRequestToken: T(2),
        SecretString: 'v2',
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect((await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString).toBe('v1');
    expect(
      (await client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: 'AWSPENDING' }))).SecretString,
    ).toBe('v2');
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: id,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: T(2),
        RemoveFromVersionId: T(1),
      }),
    );
    await client.send(
      new UpdateSecretVersionStageCommand({ SecretId: id, VersionStage: 'AWSPENDING', RemoveFromVersionId: T(2) }),
    );
    expect((await client.send(new DescribeSecretCommand({ SecretId: id }))).VersionIdsToStages).toEqual({
      [T(1)]: ['AWSPREVIOUS'],
      [T(2)]: ['AWSCURRENT'],
    });
    // A plain put moves AWSCURRENT; the old AWSPREVIOUS holder becomes deprecated.
    await client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: T(3), SecretString: 'v3' }));
    const all = await client.send(new ListSecretVersionIdsCommand({ SecretId: id, IncludeDeprecated: true }));
    expect(all.Versions?.map((v) => [v.VersionId, v.VersionStages])).toEqual([
      [T(1), undefined],
      [T(2), ['AWSPREVIOUS']],
      [T(3), ['AWSCURRENT']],
    ]);
    expect((await client.send(new ListSecretVersionIdsCommand({ SecretId: id }))).Versions).toHaveLength(2);
    expect((await client.send(new GetSecretValueCommand({ SecretId: id, VersionId: T(1) }))).SecretString).toBe('v1');
  });

  it('treats ClientRequestToken as idempotency: same value succeeds, another value is ResourceExistsException', async () => {
    const id = name();
    await client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 'v1' }));
    await expect(
      client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 'v1' })),
    ).resolves.toMatchObject({ VersionId: T(1) });
    await expect(
      client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(9), SecretString: 'v1' })),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });
    await client.send(
      new PutSecretValueCommand({
        SecretId: id,
        ClientRequestToken: T(2),
        SecretString: 'v2',
        VersionStages: ['AWSPENDING'],
      }),
    );
    await expect(
      client.send(
        new PutSecretValueCommand({
          SecretId: id,
          ClientRequestToken: T(2),
          SecretString: 'v2',
          VersionStages: ['AWSPENDING'],
        }),
      ),
    ).resolves.toMatchObject({ VersionStages: ['AWSPENDING'] });
    await expect(
      client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: T(2), SecretString: 'other' })),
    ).rejects.toMatchObject({
      name: 'ResourceExistsException',
      message: expect.stringContaining('already in use') as string,
    });
  });

  it('answers the documented errors', async () => {
    const id = name();
    await client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 'v1' }));
    const fails = (cmd: any, type: string, message?: RegExp) =>
      expect(client.send(cmd as GetSecretValueCommand)).rejects.toMatchObject({
        name: type,
        $metadata: { httpStatusCode: 400 },
        ...(message ? { message: expect.stringMatching(message) as string } : {}),
      });
    await fails(
      new GetSecretValueCommand({ SecretId: 'nope' }),
      'ResourceNotFoundException',
      /can't find the specified secret/,
    );
    await fails(
      new GetSecretValueCommand({ SecretId: id, VersionStage: 'AWSPENDING' }),
      'ResourceNotFoundException',
      /staging label: AWSPENDING/,
    );
    await fails(new GetSecretValueCommand({ SecretId: id, VersionId: T(7) }), 'ResourceNotFoundException', /VersionId/);
    await fails(
      new GetSecretValueCommand({ SecretId: id, VersionId: T(1), VersionStage: 'AWSPREVIOUS' }),
      'InvalidRequestException',
      /not associated/,
    );
    await client.send(
      new PutSecretValueCommand({
        SecretId: id,
        ClientRequestToken: T(2),
        SecretString: 'v2',
        VersionStages: ['AWSPENDING'],
      }),
    );
    await fails(
      new UpdateSecretVersionStageCommand({ SecretId: id, VersionStage: 'AWSCURRENT', MoveToVersionId: T(2) }),
      'InvalidParameterException',
      /RemoveFromVersionId can't be empty/,
    );
    await fails(
      new UpdateSecretVersionStageCommand({
        SecretId: id,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: T(2),
        RemoveFromVersionId: T(2),
      }),
      'InvalidParameterException',
    );
    await fails(
      new UpdateSecretVersionStageCommand({
        SecretId: id,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: T(8),
        RemoveFromVersionId: T(1),
      }),
      'InvalidParameterException',
      /Not a valid version/,
    );
    await fails(
      new CreateSecretCommand({ Name: 'bad name!', SecretString: 'x' }),
      'ValidationException',
      /Invalid name/,
    );
    await fails(new GetSecretValueCommand({ SecretId: id, VersionId: 'short' }), 'ValidationException');
  });

  it('lists secrets with filters and paging; tags and untags', async () => {
    const ids = [name(), name(), name()];
    for (const id of ids)
      await client.send(
        new CreateSecretCommand({
          Name: id,
          SecretString: 'x',
          Tags: [{ Key: 'app', Value: id.endsWith('1') ? 'one' : 'other' }],
        }),
      );
    const byName = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [ids[0]!] }] }));
    expect(byName.SecretList?.map((s) => s.Name)).toEqual([ids[0]]);
    const page = await client.send(
      new ListSecretsCommand({ MaxResults: 1, Filters: [{ Key: 'tag-key', Values: ['app'] }] }),
    );
    expect(page.SecretList).toHaveLength(1);
    expect(page.NextToken).toBeDefined();
    await client.send(
      new TagResourceCommand({
        SecretId: ids[1],
        Tags: [
          { Key: 'app', Value: 'changed' },
          { Key: 'x', Value: 'y' },
        ],
      }),
    );
    await client.send(new UntagResourceCommand({ SecretId: ids[1], TagKeys: ['x', 'absent'] }));
    expect((await client.send(new DescribeSecretCommand({ SecretId: ids[1] }))).Tags).toEqual([
      { Key: 'app', Value: 'changed' },
    ]);
  });

  it('schedules deletion, refuses writes on a deleted secret, restores it', async () => {
    const id = name();
    await client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 'v1' }));
    const deleted = await client.send(new DeleteSecretCommand({ SecretId: id, RecoveryWindowInDays: 7 }));
    expect(deleted.DeletionDate).toBeInstanceOf(Date);
    expect((await client.send(new DescribeSecretCommand({ SecretId: id }))).DeletedDate).toBeInstanceOf(Date);
    await expect(
      client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: T(2), SecretString: 'v2' })),
    ).rejects.toMatchObject({ name: 'InvalidRequestException' });
    await expect(client.send(new CreateSecretCommand({ Name: id, SecretString: 'v' }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
    });
    await client.send(new RestoreSecretCommand({ SecretId: id }));
    expect((await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString).toBe('v1');
    await client.send(new DeleteSecretCommand({ SecretId: id, ForceDeleteWithoutRecovery: true }));
    await expect(client.send(new DescribeSecretCommand({ SecretId: id }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('injects faults before any effect: throttling, server error, dropped connection, slow answer', async () => {
    const id = name();
    sm.controls.setFaults({ sequence: ['throttle', 'server-error', 'drop', 'slow'], slowMs: 30 });
    await expect(client.send(new CreateSecretCommand({ Name: id, SecretString: 'x' }))).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(client.send(new CreateSecretCommand({ Name: id, SecretString: 'x' }))).rejects.toMatchObject({
      name: 'InternalServiceError',
      $metadata: { httpStatusCode: 500 },
    });
    await expect(client.send(new CreateSecretCommand({ Name: id, SecretString: 'x' }))).rejects.toThrow();
    expect(sm.inspect(id)).toBeUndefined();
    await expect(client.send(new CreateSecretCommand({ Name: id, SecretString: 'x' }))).resolves.toMatchObject({
      Name: id,
    });
    expect(sm.controls.log.map((e) => e.fault)).toEqual(['throttle', 'server-error', 'drop', 'slow']);
  });

  it('logs operation and access key id, never the secret value', async () => {
    await client.send(new CreateSecretCommand({ Name: name(), SecretString: 'very-secret-value-123' }));
    expect(sm.controls.log).toMatchObject([
      { operation: 'CreateSecret', credential: 'AKIDEMULATORTEST', mutating: true, status: 200 },
    ]);
    expect(JSON.stringify(sm.controls.log)).not.toContain('very-secret-value-123');
  });

  it('answers malformed requests with AWS error types, never a crash or a hang', async () => {
    const post = (target: string | undefined, body: string) =>
      fetch(sm.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', ...(target ? { 'x-amz-target': target } : {}) },
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { __type: string } }));
    expect(await post('secretsmanager.GetSecretValue', '{not json')).toMatchObject({
      status: 400,
      body: { __type: 'SerializationException' },
    });
    expect(await post('secretsmanager.GetSecretValue', '[1,2]')).toMatchObject({
      status: 400,
      body: { __type: 'SerializationException' },
    });
    expect(await post('secretsmanager.Explode', '{}')).toMatchObject({
      status: 400,
      body: { __type: 'UnknownOperationException' },
    });
    expect(await post(undefined, '{}')).toMatchObject({ status: 400, body: { __type: 'UnknownOperationException' } });
    expect(await post('secretsmanager.GetSecretValue', '{}')).toMatchObject({
      status: 400,
      body: { __type: 'ValidationException' },
    });
    expect(await post('secretsmanager.GetSecretValue', '{"SecretId": 5}')).toMatchObject({
      status: 400,
      body: { __type: 'SerializationException' },
    });
  });
});

describe('SecretBinary and UpdateSecret', () => {
  const bytes = (...b: number[]) => Uint8Array.from(b);
  /** Raw JSON 1.1 call, to see the wire format the SDK hides. */
  const raw = (operation: string, body: unknown) =>
    fetch(sm.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `secretsmanager.${operation}` },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  it('round-trips SecretBinary through CreateSecret, PutSecretValue and UpdateSecret; base64 on the wire', async () => {
    const id = name();
    const created = await client.send(
      new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretBinary: bytes(0, 1, 2, 255) }),
    );
    expect(created.VersionId).toBe(T(1));
    const first = await client.send(new GetSecretValueCommand({ SecretId: id }));
    expect(first.SecretBinary).toEqual(bytes(0, 1, 2, 255));
    expect(first.SecretString).toBeUndefined();
    expect((await raw('GetSecretValue', { SecretId: id })).body).toMatchObject({
      SecretBinary: Buffer.from([0, 1, 2, 255]).toString('base64'),
    });
    expect((await raw('GetSecretValue', { SecretId: id })).body).not.toHaveProperty('SecretString');

    await client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: T(2), SecretBinary: bytes(9) }));
    expect((await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretBinary).toEqual(bytes(9));

    // UpdateSecret with a value moves AWSCURRENT (AWSPREVIOUS follows); a string may follow a binary.
    const updated = await client.send(
      new UpdateSecretCommand({ SecretId: id, ClientRequestToken: T(3), SecretString: 'text', Description: 'd' }),
    );
    expect(updated).toMatchObject({ Name: id, VersionId: T(3) });
    expect((await client.send(new DescribeSecretCommand({ SecretId: id }))).VersionIdsToStages).toEqual({
      [T(2)]: ['AWSPREVIOUS'],
      [T(3)]: ['AWSCURRENT'],
    });
    expect((await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString).toBe('text');
    expect(
      (await client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: 'AWSPREVIOUS' }))).SecretBinary,
    ).toEqual(bytes(9));

    // UpdateSecret without a value changes metadata only: no VersionId, no new version.
    const metaOnly = await client.send(new UpdateSecretCommand({ SecretId: id, Description: 'only this' }));
    expect(metaOnly.VersionId).toBeUndefined();
    const described = await client.send(new DescribeSecretCommand({ SecretId: id }));
    expect(described.Description).toBe('only this');
    expect(Object.keys(described.VersionIdsToStages ?? {})).toHaveLength(2);
  });

  it('compares the binary value for ClientRequestToken idempotency', async () => {
    const id = name();
    await client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretBinary: bytes(1, 2, 3) }));
    await expect(
      client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretBinary: bytes(1, 2, 3) })),
    ).resolves.toMatchObject({ VersionId: T(1) });
    await expect(
      client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretBinary: bytes(1, 2, 4) })),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });

    await client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: T(2), SecretBinary: bytes(7, 7) }));
    await expect(
      client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: T(2), SecretBinary: bytes(7, 7) })),
    ).resolves.toMatchObject({ VersionId: T(2), VersionStages: ['AWSCURRENT'] });
    for (const other of [{ SecretBinary: bytes(7, 8) }, { SecretString: 'BwcH' }, { SecretBinary: bytes(7) }])
      await expect(
        client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: T(2), ...other })),
      ).rejects.toMatchObject({ name: 'ResourceExistsException', message: expect.stringContaining(T(2)) as string });

    await client.send(new UpdateSecretCommand({ SecretId: id, ClientRequestToken: T(3), SecretBinary: bytes(5) }));
    await expect(
      client.send(new UpdateSecretCommand({ SecretId: id, ClientRequestToken: T(3), SecretBinary: bytes(5) })),
    ).resolves.toMatchObject({ VersionId: T(3) });
    await expect(
      client.send(new UpdateSecretCommand({ SecretId: id, ClientRequestToken: T(3), SecretBinary: bytes(6) })),
    ).rejects.toMatchObject({ name: 'ResourceExistsException' });
    const versions = await client.send(new ListSecretVersionIdsCommand({ SecretId: id, IncludeDeprecated: true }));
    expect(versions.Versions?.map((v) => v.VersionId)).toEqual([T(1), T(2), T(3)]);
  });

  it('takes exactly one of SecretString and SecretBinary, as AWS validates them', async () => {
    const id = name();
    await expect(
      client.send(new CreateSecretCommand({ Name: id, SecretString: 's', SecretBinary: bytes(1) })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException', $metadata: { httpStatusCode: 400 } });
    expect(sm.inspect(id)).toBeUndefined();
    await client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 's' }));
    await expect(
      client.send(
        new PutSecretValueCommand({
          SecretId: id,
          ClientRequestToken: T(2),
          SecretString: 's',
          SecretBinary: bytes(1),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      client.send(
        new UpdateSecretCommand({ SecretId: id, ClientRequestToken: T(2), SecretString: 's', SecretBinary: bytes(1) }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: T(2) })),
    ).rejects.toMatchObject({ name: 'InvalidRequestException' });
    // SecretBinaryType is a blob of 1-65536 bytes.
    await expect(
      client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: T(2), SecretBinary: bytes() })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      client.send(
        new PutSecretValueCommand({ SecretId: id, ClientRequestToken: T(2), SecretBinary: new Uint8Array(65537) }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    expect(
      await raw('PutSecretValue', { SecretId: id, ClientRequestToken: T(2), SecretBinary: 'not base64!' }),
    ).toMatchObject({ status: 400, body: { __type: 'SerializationException' } });
    // A raw UpdateSecret with a value but no token is refused, as AWS refuses it; the SDK always sends one.
    expect(await raw('UpdateSecret', { SecretId: id, SecretString: 'x' })).toMatchObject({
      status: 400,
      body: { __type: 'InvalidRequestException', Message: expect.stringContaining('ClientRequestToken') as string },
    });
    expect(sm.inspect(id)?.versions.map((v) => v.versionId)).toEqual([T(1)]);
  });

  it('logs UpdateSecret as mutating and injects faults into it before any effect', async () => {
    const id = name();
    await client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 'v1' }));
    sm.controls.reset();
    sm.controls.setFaults({ operations: ['UpdateSecret'], sequence: ['server-error'] });
    await expect(
      client.send(new UpdateSecretCommand({ SecretId: id, ClientRequestToken: T(2), SecretString: 'v2' })),
    ).rejects.toMatchObject({ name: 'InternalServiceError' });
    expect(sm.inspect(id)?.versions).toHaveLength(1);
    expect(sm.controls.log).toMatchObject([{ operation: 'UpdateSecret', mutating: true, fault: 'server-error' }]);
    expect(JSON.stringify(sm.controls.log)).not.toContain('v2');
  });
});
