import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  RotateSecretCommand,
  type RotationRulesType,
  SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_ROTATION_RETRY,
  startSecretsManagerEmulator,
  type RotationEvent,
  type RotationFunction,
  type SecretsManagerEmulator,
} from './secrets-manager/index.js';

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
beforeEach(() => {
  sm.controls.reset();
  sm.setRotationRetry(DEFAULT_ROTATION_RETRY);
});

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

  it('follows the label dance: AWSPENDING, move AWSCURRENT (AWSPREVIOUS follows), remove AWSPENDING', async () => {
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

  it('treats ClientRequestToken as idempotency: the same value succeeds, another is ResourceExists', async () => {
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

  it('refuses a raw CreateSecret or PutSecretValue with a value but no ClientRequestToken, as AWS does', async () => {
    const id = name();
    const body = {
      __type: 'InvalidRequestException',
      Message: expect.stringContaining('ClientRequestToken') as string,
    };
    expect(await raw('CreateSecret', { Name: id, SecretString: 'x' })).toMatchObject({ status: 400, body });
    expect(sm.inspect(id)).toBeUndefined();
    // Without a value no version is made, and the token is not needed.
    expect(await raw('CreateSecret', { Name: id })).toMatchObject({ status: 200, body: { Name: id } });
    expect(await raw('PutSecretValue', { SecretId: id, SecretString: 'x' })).toMatchObject({ status: 400, body });
    // Checked before the secret is looked up, as AWS does.
    expect(await raw('PutSecretValue', { SecretId: 'test/none', SecretString: 'x' })).toMatchObject({
      status: 400,
      body,
    });
    expect(sm.inspect(id)?.versions).toEqual([]);
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

describe('rotation driven by the service (RotateSecret, CancelRotateSecret)', () => {
  let fn = 0;
  const lambdaArn = () => `arn:aws:lambda:us-east-1:123456789012:function:rotator-${++fn}`;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  function gate() {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { open, opened };
  }

  /** Resolves once `events` has `n` entries (the emulator invokes steps after RotateSecret returns). */
  async function invoked(events: RotationEvent[], n: number): Promise<void> {
    for (let i = 0; i < 500 && events.length < n; i++) await new Promise((r) => setTimeout(r, 2));
    expect(events.length).toBeGreaterThanOrEqual(n);
  }

  /**
   * AWS's generic rotation template (SecretsManagerRotationTemplate/lambda_function.py) in TypeScript,
   * calling the emulator through the SDK as a real rotation Lambda would. `before` runs ahead of each
   * step's work, to fail or hold a step.
   */
  function templateFunction(
    events: RotationEvent[],
    opts: { value?: (token: string) => string; before?: (e: RotationEvent) => Promise<void> | void } = {},
  ): RotationFunction {
    return async (event) => {
      events.push(event);
      const { SecretId: arn, ClientRequestToken: token, Step } = event;
      const meta = await client.send(new DescribeSecretCommand({ SecretId: arn }));
      if (meta.RotationEnabled === false) throw new Error(`Secret ${arn} is not enabled for rotation`);
      const stages = meta.VersionIdsToStages?.[token];
      if (!stages) throw new Error(`Secret version ${token} has no stage for rotation of secret ${arn}.`);
      if (stages.includes('AWSCURRENT')) return;
      if (!stages.includes('AWSPENDING'))
        throw new Error(`Secret version ${token} not set as AWSPENDING for rotation of secret ${arn}.`);
      await opts.before?.(event);
      switch (Step) {
        case 'createSecret':
          await client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }));
          try {
            await client.send(
              new GetSecretValueCommand({ SecretId: arn, VersionId: token, VersionStage: 'AWSPENDING' }),
            );
          } catch (err) {
            if ((err as Error).name !== 'ResourceNotFoundException') throw err;
            await client.send(
              new PutSecretValueCommand({
                SecretId: arn,
                ClientRequestToken: token,
                SecretString: opts.value?.(token) ?? `value-${token}`,
                VersionStages: ['AWSPENDING'],
              }),
            );
          }
          return;
        case 'setSecret':
          return;
        case 'testSecret':
          await client.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' }));
          return;
        case 'finishSecret': {
          const current = Object.entries(meta.VersionIdsToStages ?? {}).find(([, st]) => st.includes('AWSCURRENT'));
          await client.send(
            new UpdateSecretVersionStageCommand({
              SecretId: arn,
              VersionStage: 'AWSCURRENT',
              MoveToVersionId: token,
              ...(current ? { RemoveFromVersionId: current[0] } : {}),
            }),
          );
          return;
        }
      }
    };
  }

  const steps = (events: RotationEvent[]) => events.map((e) => e.Step);
  /** VersionIdsToStages with each label list sorted: AWS does not promise an order. */
  const labels = async (id: string) =>
    Object.fromEntries(
      Object.entries((await describe_(id)).VersionIdsToStages ?? {}).map(([v, st]) => [v, [...st].sort()]),
    );
  const describe_ = (id: string) => client.send(new DescribeSecretCommand({ SecretId: id }));

  async function secretWithFunction(
    opts: Parameters<typeof templateFunction>[1] = {},
  ): Promise<{ id: string; arn: string; lambda: string; events: RotationEvent[] }> {
    const id = name();
    const created = await client.send(
      new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 'v1' }),
    );
    const lambda = lambdaArn();
    const events: RotationEvent[] = [];
    sm.registerRotationFunction(lambda, templateFunction(events, opts));
    return { id, arn: created.ARN!, lambda, events };
  }

  it('returns once rotation has started, then runs the four steps in order; DescribeSecret around it', async () => {
    const clock = Date.UTC(2030, 0, 15, 10, 30);
    sm.setClock(() => clock);
    try {
      const hold = gate();
      const { id, arn, lambda, events } = await secretWithFunction({
        before: (e) => (e.Step === 'createSecret' ? hold.opened : undefined),
      });
      const before = await describe_(id);
      for (const field of [
        'RotationEnabled',
        'RotationLambdaARN',
        'RotationRules',
        'LastRotatedDate',
        'NextRotationDate',
      ])
        expect(before).not.toHaveProperty(field);

      // No ClientRequestToken: the SDK generates one (idempotencyToken), and it becomes the pending VersionId.
      const rotated = await client.send(
        new RotateSecretCommand({
          SecretId: id,
          RotationLambdaARN: lambda,
          RotationRules: { AutomaticallyAfterDays: 7 },
        }),
      );
      const token = rotated.VersionId!;
      expect(token).toMatch(UUID);
      expect(rotated).toMatchObject({ ARN: arn, Name: id });
      // RotateSecret has answered while createSecret is still held: the pending version exists, value-less.
      await invoked(events, 1);
      const during = await describe_(id);
      expect(during.VersionIdsToStages).toEqual({ [T(1)]: ['AWSCURRENT'], [token]: ['AWSPENDING'] });
      expect(during).toMatchObject({ RotationEnabled: true, RotationLambdaARN: lambda });
      await expect(
        client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: 'AWSPENDING' })),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      expect(steps(events)).toEqual(['createSecret']);

      hold.open();
      expect(await sm.rotationSettled(id)).toEqual({ ok: true, kind: 'rotation', token, attempts: 1 });
      expect(events).toEqual(
        ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((Step) => ({
          Step,
          SecretId: arn,
          ClientRequestToken: token,
        })),
      );
      const after = await describe_(id);
      expect(after).toMatchObject({
        RotationEnabled: true,
        RotationLambdaARN: lambda,
        RotationRules: { AutomaticallyAfterDays: 7 },
        LastRotatedDate: new Date(clock),
        // Seven days after the day of the last rotation, by the end of that day's window.
        NextRotationDate: new Date(Date.UTC(2030, 0, 23)),
      });
      // The template's finishSecret moves AWSCURRENT only; AWSPENDING stays with it (AWS-validated end state).
      expect(await labels(id)).toEqual({ [T(1)]: ['AWSPREVIOUS'], [token]: ['AWSCURRENT', 'AWSPENDING'] });
      expect((await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString).toBe(`value-${token}`);
      const listed = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [id] }] }));
      expect(listed.SecretList?.[0]).toMatchObject({
        RotationEnabled: true,
        RotationLambdaARN: lambda,
        RotationRules: { AutomaticallyAfterDays: 7 },
        LastRotatedDate: new Date(clock),
      });

      // Without configuration RotateSecret rotates again with what is stored; AWSPENDING on AWSCURRENT is no obstacle.
      const again = await client.send(new RotateSecretCommand({ SecretId: id, ClientRequestToken: T(3) }));
      expect(again.VersionId).toBe(T(3));
      expect(await sm.rotationSettled(id)).toMatchObject({ ok: true, token: T(3) });
      expect(await labels(id)).toEqual({ [token]: ['AWSPREVIOUS'], [T(3)]: ['AWSCURRENT', 'AWSPENDING'] });
    } finally {
      sm.setClock(Date.now);
    }
  });

  it('RotateImmediately=false runs only testSecret, on an AWSPENDING version it then removes', async () => {
    const id = name();
    await client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 'v1' }));
    const lambda = lambdaArn();
    const seen: { event: RotationEvent; stages?: Record<string, string[]> }[] = [];
    sm.registerRotationFunction(lambda, async (event) => {
      seen.push({ event, stages: (await describe_(event.SecretId)).VersionIdsToStages });
    });
    await client.send(
      new RotateSecretCommand({
        SecretId: id,
        ClientRequestToken: T(2),
        RotationLambdaARN: lambda,
        RotationRules: { ScheduleExpression: 'rate(10 days)' },
        RotateImmediately: false,
      }),
    );
    expect(await sm.rotationSettled(id)).toEqual({ ok: true, kind: 'test', token: T(2), attempts: 1 });
    expect(seen.map((s) => s.event.Step)).toEqual(['testSecret']);
    expect(seen[0]?.stages).toEqual({ [T(1)]: ['AWSCURRENT'], [T(2)]: ['AWSPENDING'] });
    const after = await describe_(id);
    expect(after.VersionIdsToStages).toEqual({ [T(1)]: ['AWSCURRENT'] });
    expect(sm.inspect(id)?.versions.map((v) => v.versionId)).toEqual([T(1)]);
    expect(after).toMatchObject({
      RotationEnabled: true,
      RotationRules: { ScheduleExpression: 'rate(10 days)', AutomaticallyAfterDays: 10 },
    });
    expect(after.NextRotationDate).toBeInstanceOf(Date);
    expect(after).not.toHaveProperty('LastRotatedDate');
  });

  it('validates RotationRules as AWS does, and stores nothing from a refused request', async () => {
    const { id, lambda } = await secretWithFunction();
    const cases: [RotationRulesType, string, RegExp?][] = [
      [{ AutomaticallyAfterDays: 0 }, 'ValidationException', /greater than or equal to 1/],
      [{ AutomaticallyAfterDays: 1001 }, 'ValidationException', /less than or equal to 1000/],
      [{ AutomaticallyAfterDays: 7, ScheduleExpression: 'rate(7 days)' }, 'InvalidParameterException', /both/],
      [{ ScheduleExpression: 'rate(1 day);' }, 'ValidationException', /pattern/],
      [{ ScheduleExpression: 'every day' }, 'InvalidParameterException'],
      [{ ScheduleExpression: 'rate(3 hours)' }, 'InvalidParameterException', /four hours/],
      [{ ScheduleExpression: 'rate(1000 days)' }, 'InvalidParameterException'],
      [{ ScheduleExpression: 'cron(30 4 * * ? *)' }, 'InvalidParameterException', /minutes/],
      [{ ScheduleExpression: 'cron(0 4 * * ? 2031)' }, 'InvalidParameterException', /year/],
      [{ ScheduleExpression: 'cron(0 */2 * * ? *)' }, 'InvalidParameterException', /four hours/],
      [{ ScheduleExpression: 'cron(0 25 * * ? *)' }, 'InvalidParameterException'],
      [{ ScheduleExpression: 'cron(0 4 * FOO ? *)' }, 'InvalidParameterException'],
      [{ ScheduleExpression: 'rate(6 hours)', Duration: '7h' }, 'InvalidParameterException', /next rotation window/],
      [{ ScheduleExpression: 'cron(0 20 * * ? *)', Duration: '6h' }, 'InvalidParameterException', /next UTC day/],
      [{ AutomaticallyAfterDays: 1, Duration: '3d' }, 'ValidationException', /pattern/],
      [{ AutomaticallyAfterDays: 1, Duration: '100h' }, 'ValidationException', /length/],
      [{ AutomaticallyAfterDays: 1, Duration: '0h' }, 'InvalidParameterException'],
      [{ Duration: '2h' }, 'InvalidParameterException'],
    ];
    for (const [rules, type, message] of cases) {
      await expect(
        client.send(new RotateSecretCommand({ SecretId: id, RotationLambdaARN: lambda, RotationRules: rules })),
        JSON.stringify(rules),
      ).rejects.toMatchObject({
        name: type,
        $metadata: { httpStatusCode: 400 },
        ...(message ? { message: expect.stringMatching(message) as string } : {}),
      });
    }
    const untouched = await describe_(id);
    expect(untouched).not.toHaveProperty('RotationEnabled');
    expect(untouched.VersionIdsToStages).toEqual({ [T(1)]: ['AWSCURRENT'] });
    await expect(sm.rotationSettled(id)).rejects.toThrow(/no rotation/);

    // And what AWS accepts, with the AutomaticallyAfterDays DescribeSecret derives for a rate().
    const accepted: [RotationRulesType, RotationRulesType][] = [
      [{ ScheduleExpression: 'rate(4 hours)', Duration: '4h' }, { AutomaticallyAfterDays: 1 }],
      [{ ScheduleExpression: 'cron(0 4/12 * * ? *)', Duration: '2h' }, {}],
      [{ ScheduleExpression: 'cron(0 8 ? JAN-JUN MON#1 *)' }, {}],
      [{ ScheduleExpression: 'cron(0 0 L * ? *)' }, {}],
      [{ AutomaticallyAfterDays: 30, Duration: '3h' }, {}],
    ];
    let i = 10;
    for (const [rules, derived] of accepted) {
      await client.send(
        new RotateSecretCommand({
          SecretId: id,
          ClientRequestToken: T(++i),
          RotationLambdaARN: lambda,
          RotationRules: rules,
        }),
      );
      expect(await sm.rotationSettled(id)).toMatchObject({ ok: true });
      const described = await describe_(id);
      expect(described.RotationRules, JSON.stringify(rules)).toEqual({ ...rules, ...derived });
      expect(described.NextRotationDate, JSON.stringify(rules)).toBeInstanceOf(Date);
    }
  });

  it('computes NextRotationDate from the schedule: cron windows open on the hour', async () => {
    const clock = Date.UTC(2030, 0, 15, 10, 30); // a Tuesday
    sm.setClock(() => clock);
    try {
      const { id, lambda } = await secretWithFunction();
      const next = async (rules: RotationRulesType, token: string) => {
        await client.send(
          new RotateSecretCommand({
            SecretId: id,
            ClientRequestToken: token,
            RotationLambdaARN: lambda,
            RotationRules: rules,
          }),
        );
        expect(await sm.rotationSettled(id)).toMatchObject({ ok: true });
        return (await describe_(id)).NextRotationDate;
      };
      // First Monday of February, 08:00, window to the end of the day.
      expect(await next({ ScheduleExpression: 'cron(0 8 ? * MON#1 *)' }, T(2))).toEqual(
        new Date(Date.UTC(2030, 1, 4, 24)),
      );
      // 16:00 the same day, a 2 hour window.
      expect(await next({ ScheduleExpression: 'cron(0 4/12 * * ? *)', Duration: '2h' }, T(3))).toEqual(
        new Date(Date.UTC(2030, 0, 15, 18)),
      );
      expect(await next({ ScheduleExpression: 'rate(6 hours)' }, T(4))).toEqual(new Date(Date.UTC(2030, 0, 15, 13)));
    } finally {
      sm.setClock(Date.now);
    }
  });

  it('refuses what AWS refuses: no function ARN, a function it cannot invoke, a request without a token', async () => {
    const id = name();
    await client.send(new CreateSecretCommand({ Name: id, ClientRequestToken: T(1), SecretString: 'v1' }));
    await expect(
      client.send(new RotateSecretCommand({ SecretId: id, RotationRules: { AutomaticallyAfterDays: 1 } })),
    ).rejects.toMatchObject({
      name: 'InvalidRequestException',
      $metadata: { httpStatusCode: 400 },
      message: 'No Lambda rotation function ARN is associated with this secret.',
    });
    await expect(
      client.send(
        new RotateSecretCommand({
          SecretId: id,
          RotationLambdaARN: 'arn:aws:lambda:us-east-1:123456789012:function:nobody-home',
          RotationRules: { AutomaticallyAfterDays: 1 },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringContaining('cannot invoke the specified Lambda function') as string,
    });
    const described = await describe_(id);
    for (const field of ['RotationEnabled', 'RotationLambdaARN', 'RotationRules'])
      expect(described).not.toHaveProperty(field);
    expect(described.VersionIdsToStages).toEqual({ [T(1)]: ['AWSCURRENT'] });

    const lambda = lambdaArn();
    // The function goes away while the rotation runs (after its first step).
    sm.registerRotationFunction(lambda, () => {
      sm.unregisterRotationFunction(lambda);
      return Promise.resolve();
    });
    const raw = await fetch(sm.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.RotateSecret' },
      body: JSON.stringify({ SecretId: id, RotationLambdaARN: lambda }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({
      __type: 'InvalidParameterException',
      Message: 'You must provide a ClientRequestToken value. We recommend a UUID-type value.',
    });
    await expect(
      client.send(new RotateSecretCommand({ SecretId: 'test/none', RotationLambdaARN: lambda })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    // A function that disappears after rotation was configured fails the rotation, not the API call.
    await client.send(new RotateSecretCommand({ SecretId: id, ClientRequestToken: T(2), RotationLambdaARN: lambda }));
    expect(await sm.rotationSettled(id)).toMatchObject({
      ok: false,
      failedStep: 'createSecret',
      attempts: 3,
      error: expect.stringContaining('cannot invoke') as string,
    });
  });

  it('retries the entire rotation process after a failed step, with the same token', async () => {
    let failures = 2;
    const { id, lambda, events } = await secretWithFunction({
      before: (e) => {
        if (e.Step === 'setSecret' && failures-- > 0) throw new Error('target system said no');
      },
    });
    sm.setRotationRetry({ maxAttempts: 3, delayMs: 5 });
    await client.send(new RotateSecretCommand({ SecretId: id, ClientRequestToken: T(2), RotationLambdaARN: lambda }));
    expect(await sm.rotationSettled(id)).toEqual({ ok: true, kind: 'rotation', token: T(2), attempts: 3 });
    expect(steps(events)).toEqual([
      'createSecret',
      'setSecret',
      'createSecret',
      'setSecret',
      'createSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
    ]);
    expect(new Set(events.map((e) => e.ClientRequestToken))).toEqual(new Set([T(2)]));
    expect((await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString).toBe(`value-${T(2)}`);
  });

  it('gives up after the configured attempts: AWSPENDING stays on its version, AWSCURRENT is untouched', async () => {
    sm.setRotationRetry({ maxAttempts: 2, delayMs: 1 });
    {
      const { id, lambda, events } = await secretWithFunction({
        before: (e) => {
          if (e.Step === 'testSecret') throw new Error('new credential does not work');
        },
      });
      await client.send(
        new RotateSecretCommand({
          SecretId: id,
          ClientRequestToken: T(2),
          RotationLambdaARN: lambda,
          RotationRules: { AutomaticallyAfterDays: 30 },
        }),
      );
      expect(await sm.rotationSettled(id)).toEqual({
        ok: false,
        kind: 'rotation',
        token: T(2),
        attempts: 2,
        failedStep: 'testSecret',
        error: 'new credential does not work',
      });
      expect(steps(events)).toEqual([
        'createSecret',
        'setSecret',
        'testSecret',
        'createSecret',
        'setSecret',
        'testSecret',
      ]);
      const after = await describe_(id);
      expect(after.VersionIdsToStages).toEqual({ [T(1)]: ['AWSCURRENT'], [T(2)]: ['AWSPENDING'] });
      expect(after.RotationEnabled).toBe(true);
      expect(after).not.toHaveProperty('LastRotatedDate');
      expect((await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString).toBe('v1');
    }
  });

  it('refuses RotateSecret while a rotation is unfinished, and reattempts the unfinished one', async () => {
    // 1. Still running: an error, and no second run.
    const hold = gate();
    const running = await secretWithFunction({ before: (e) => (e.Step === 'setSecret' ? hold.opened : undefined) });
    await client.send(
      new RotateSecretCommand({ SecretId: running.id, ClientRequestToken: T(2), RotationLambdaARN: running.lambda }),
    );
    await invoked(running.events, 2);
    await expect(
      client.send(new RotateSecretCommand({ SecretId: running.id, ClientRequestToken: T(3) })),
    ).rejects.toMatchObject({
      name: 'InvalidRequestException',
      $metadata: { httpStatusCode: 400 },
      message: "A previous rotation isn't complete. That rotation will be reattempted.",
    });
    // The same request again (same token) is answered as the first one was.
    await expect(
      client.send(new RotateSecretCommand({ SecretId: running.id, ClientRequestToken: T(2) })),
    ).resolves.toMatchObject({ VersionId: T(2) });
    hold.open();
    expect(await sm.rotationSettled(running.id)).toMatchObject({ ok: true, token: T(2), attempts: 1 });
    expect(new Set(running.events.map((e) => e.ClientRequestToken))).toEqual(new Set([T(2)]));
    expect(steps(running.events)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);

    // 2. Failed for good, leaving a value-less AWSPENDING version: refused, and reattempted with the old token.
    sm.setRotationRetry({ maxAttempts: 1 });
    {
      let broken = true;
      const failed = await secretWithFunction({
        before: (e) => {
          if (e.Step === 'createSecret' && broken) throw new Error('cannot reach the password generator');
        },
      });
      await client.send(
        new RotateSecretCommand({ SecretId: failed.id, ClientRequestToken: T(2), RotationLambdaARN: failed.lambda }),
      );
      expect(await sm.rotationSettled(failed.id)).toMatchObject({ ok: false, failedStep: 'createSecret', attempts: 1 });
      expect((await describe_(failed.id)).VersionIdsToStages).toEqual({
        [T(1)]: ['AWSCURRENT'],
        [T(2)]: ['AWSPENDING'],
      });
      await expect(
        client.send(new GetSecretValueCommand({ SecretId: failed.id, VersionStage: 'AWSPENDING' })),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

      broken = false;
      await expect(
        client.send(new RotateSecretCommand({ SecretId: failed.id, ClientRequestToken: T(3) })),
      ).rejects.toMatchObject({
        name: 'InvalidRequestException',
        message: expect.stringContaining('reattempted') as string,
      });
      expect(await sm.rotationSettled(failed.id)).toEqual({ ok: true, kind: 'rotation', token: T(2), attempts: 1 });
      expect(failed.events.map((e) => e.ClientRequestToken)).not.toContain(T(3));
      expect((await client.send(new GetSecretValueCommand({ SecretId: failed.id }))).VersionId).toBe(T(2));
      // Finished: the next RotateSecret starts a rotation of its own.
      await client.send(new RotateSecretCommand({ SecretId: failed.id, ClientRequestToken: T(3) }));
      expect(await sm.rotationSettled(failed.id)).toMatchObject({ ok: true, token: T(3) });
    }
  });

  it('CancelRotateSecret turns rotation off, stops the rotation in progress and leaves the labels', async () => {
    const never = name();
    await client.send(new CreateSecretCommand({ Name: never, ClientRequestToken: T(1), SecretString: 'v1' }));
    await expect(client.send(new CancelRotateSecretCommand({ SecretId: never }))).rejects.toMatchObject({
      name: 'InvalidRequestException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(client.send(new CancelRotateSecretCommand({ SecretId: 'test/none' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });

    const hold = gate();
    const { id, arn, lambda, events } = await secretWithFunction({
      before: (e) => (e.Step === 'setSecret' ? hold.opened : undefined),
    });
    await client.send(
      new RotateSecretCommand({
        SecretId: id,
        ClientRequestToken: T(2),
        RotationLambdaARN: lambda,
        RotationRules: { ScheduleExpression: 'rate(5 days)' },
      }),
    );
    await invoked(events, 2);
    expect(await client.send(new CancelRotateSecretCommand({ SecretId: id }))).toMatchObject({
      ARN: arn,
      Name: id,
      VersionId: T(2),
    });
    hold.open();
    expect(await sm.rotationSettled(id)).toMatchObject({
      ok: false,
      token: T(2),
      failedStep: 'testSecret',
      error: expect.stringContaining('cancel') as string,
    });
    expect(steps(events)).toEqual(['createSecret', 'setSecret']);
    const after = await describe_(id);
    expect(after).toMatchObject({
      RotationEnabled: false,
      RotationLambdaARN: lambda,
      RotationRules: { ScheduleExpression: 'rate(5 days)', AutomaticallyAfterDays: 5 },
    });
    expect(after).not.toHaveProperty('NextRotationDate');
    expect(after).not.toHaveProperty('LastRotatedDate');
    expect(after.VersionIdsToStages).toEqual({ [T(1)]: ['AWSCURRENT'], [T(2)]: ['AWSPENDING'] });

    // "Failing to clean up a cancelled rotation can block you from starting future rotations."
    await expect(
      client.send(new RotateSecretCommand({ SecretId: id, ClientRequestToken: T(3) })),
    ).rejects.toMatchObject({ name: 'InvalidRequestException' });
    expect(steps(events)).toEqual(['createSecret', 'setSecret']); // cancelled: nothing reattempted
    await client.send(
      new UpdateSecretVersionStageCommand({ SecretId: id, VersionStage: 'AWSPENDING', RemoveFromVersionId: T(2) }),
    );
    await client.send(new RotateSecretCommand({ SecretId: id, ClientRequestToken: T(3) }));
    expect(await sm.rotationSettled(id)).toMatchObject({ ok: true, token: T(3) });
    expect(await describe_(id)).toMatchObject({ RotationEnabled: true, LastRotatedDate: expect.any(Date) as Date });
  });

  it('a value put during rotation abandons it, clears AWSPENDING, and counts as a rotation', async () => {
    const start = Date.UTC(2030, 0, 15, 10, 30);
    let clock = start;
    sm.setClock(() => clock);
    try {
      const hold = gate();
      let holding = true;
      const { id, lambda, events } = await secretWithFunction({
        before: (e) => (e.Step === 'setSecret' && holding ? hold.opened : undefined),
      });
      await client.send(
        new RotateSecretCommand({
          SecretId: id,
          ClientRequestToken: T(2),
          RotationLambdaARN: lambda,
          RotationRules: { AutomaticallyAfterDays: 7 },
        }),
      );
      await invoked(events, 2);
      await client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: T(3), SecretString: 'manual' }));
      expect(await labels(id)).toEqual({ [T(1)]: ['AWSPREVIOUS'], [T(3)]: ['AWSCURRENT'] });
      hold.open();
      expect(await sm.rotationSettled(id)).toMatchObject({
        ok: false,
        token: T(2),
        failedStep: 'testSecret',
        error: expect.stringContaining('abandoned') as string,
      });
      expect(steps(events)).toEqual(['createSecret', 'setSecret']);
      expect((await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString).toBe('manual');

      // Nothing is left unfinished, so the next rotation starts; it ends as [AWSCURRENT, AWSPENDING].
      holding = false;
      await client.send(new RotateSecretCommand({ SecretId: id, ClientRequestToken: T(4) }));
      expect(await sm.rotationSettled(id)).toMatchObject({ ok: true, token: T(4) });
      expect((await describe_(id)).NextRotationDate).toEqual(new Date(Date.UTC(2030, 0, 23)));
      // AWS-verified: a plain put onto [AWSCURRENT, AWSPENDING] leaves that version [AWSPREVIOUS] only.
      clock = start + 3 * 86_400_000;
      await client.send(new UpdateSecretCommand({ SecretId: id, ClientRequestToken: T(5), SecretString: 'manual 2' }));
      expect(await labels(id)).toEqual({ [T(4)]: ['AWSPREVIOUS'], [T(5)]: ['AWSCURRENT'] });
      // "Manually updating the secret value ... is considered a valid rotation": the schedule restarts.
      expect((await describe_(id)).NextRotationDate).toEqual(new Date(Date.UTC(2030, 0, 26)));
      // A put with explicit stages (what a rotation function's createSecret does) abandons nothing.
      await client.send(
        new PutSecretValueCommand({
          SecretId: id,
          ClientRequestToken: T(6),
          SecretString: 'staged',
          VersionStages: ['AWSPENDING'],
        }),
      );
      expect(await labels(id)).toEqual({ [T(4)]: ['AWSPREVIOUS'], [T(5)]: ['AWSCURRENT'], [T(6)]: ['AWSPENDING'] });
    } finally {
      sm.setClock(Date.now);
    }
  });

  it('logs RotateSecret and CancelRotateSecret as mutating; a fault on RotateSecret starts nothing', async () => {
    const { id, lambda, events } = await secretWithFunction();
    sm.controls.reset();
    sm.controls.setFaults({ operations: ['RotateSecret'], sequence: ['server-error'] });
    await expect(
      client.send(new RotateSecretCommand({ SecretId: id, ClientRequestToken: T(2), RotationLambdaARN: lambda })),
    ).rejects.toMatchObject({ name: 'InternalServiceError' });
    await expect(sm.rotationSettled(id)).rejects.toThrow();
    expect(sm.inspect(id)?.versions.map((v) => v.versionId)).toEqual([T(1)]);
    expect(events).toEqual([]);
    sm.controls.clearFaults();
    await client.send(new RotateSecretCommand({ SecretId: id, ClientRequestToken: T(2), RotationLambdaARN: lambda }));
    await sm.rotationSettled(id);
    await client.send(new CancelRotateSecretCommand({ SecretId: id }));
    const mine = sm.controls.log.filter((e) => e.operation.includes('Rotate'));
    expect(mine.map((e) => [e.operation, e.mutating, e.status])).toEqual([
      ['RotateSecret', true, 500],
      ['RotateSecret', true, 200],
      ['CancelRotateSecret', true, 200],
    ]);
  });
});
