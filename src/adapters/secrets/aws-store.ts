import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
  type ListSecretVersionIdsResponse,
} from '@aws-sdk/client-secrets-manager';
import {
  CURRENT,
  PENDING,
  type PutResult,
  type SecretStore,
  type StoredSecret,
  type StoredVersion,
} from '../../core/ports.js';
import { RemoteError } from '../../errors.js';
import { registerSecret } from '../../log.js';
import { isRetryable, withRetry, type RetryPolicy } from '../retry.js';

export interface AwsStoreOptions {
  region: string;
  endpoint?: string;
  retry: RetryPolicy;
  signal?: AbortSignal;
  /** Tests pass static credentials; production uses the default provider chain (the Lambda role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

interface AwsErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const statusOf = (err: unknown) => (err as AwsErrorShape | undefined)?.$metadata?.httpStatusCode;
const nameOf = (err: unknown) => (err as AwsErrorShape | undefined)?.name;

function awsRetryable(err: unknown): boolean {
  const name = nameOf(err);
  if (name === 'ThrottlingException' || name === 'InternalServiceError' || name === 'TooManyRequestsException')
    return true;
  return isRetryable(statusOf(err), err);
}

function hintFor(name: string | undefined, secretId: string): string | undefined {
  switch (name) {
    case 'AccessDeniedException':
      return `grant the rotator secretsmanager:DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage, ListSecretVersionIds and TagResource on ${secretId} (and kms:Decrypt/GenerateDataKey for a customer key)`;
    case 'InvalidRequestException':
      return `the secret ${secretId} may be scheduled for deletion; restore it with "aws secretsmanager restore-secret --secret-id ${secretId}"`;
    case 'DecryptionFailure':
    case 'EncryptionFailure':
      return "the rotator cannot use the secret's KMS key; grant kms:Decrypt and kms:GenerateDataKey";
    case 'ThrottlingException':
      return 'Secrets Manager kept throttling through every retry; the next run resumes where this one stopped';
    default:
      return undefined;
  }
}

/**
 * AWS Secrets Manager with its own staging labels, so consumers that read AWSCURRENT (caching
 * clients, ECS and Lambda secret injection) keep working. ClientRequestToken is the version id,
 * which makes every write a conditional one: a second writer with the same token and another value
 * gets ResourceExistsException, reported as 'token-conflict'.
 */
export function awsStore(options: AwsStoreOptions): SecretStore {
  const client = new SecretsManagerClient({
    region: options.region,
    maxAttempts: 1, // one retry policy: ours
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });

  const call = async <T>(operation: string, secretId: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await withRetry(fn, options.retry, awsRetryable, options.signal);
    } catch (err) {
      const name = nameOf(err);
      const hint =
        hintFor(name, secretId) ??
        (awsRetryable(err)
          ? `Secrets Manager kept failing (${name ?? 'network error'}) through every retry; the next run resumes where this one stopped`
          : undefined);
      throw new RemoteError(
        'secrets-manager',
        operation,
        {
          ...(statusOf(err) !== undefined ? { status: statusOf(err) } : {}),
          ...(name ? { code: name } : {}),
          retryable: awsRetryable(err),
          ...(hint ? { hint } : {}),
        },
        `Secrets Manager ${operation} on ${secretId} failed: ${name ?? 'error'}${(err as AwsErrorShape).message ? ` (${(err as AwsErrorShape).message})` : ''}${hint ? `. Fix: ${hint}` : ''}`,
        { cause: err },
      );
    }
  };

  /** Runs `fn`, turning ResourceExistsException into 'token-conflict'. */
  const put = async (operation: string, secretId: string, fn: () => Promise<unknown>): Promise<PutResult> => {
    try {
      await call(operation, secretId, fn);
      return 'stored';
    } catch (err) {
      if (err instanceof RemoteError && err.detail.code === 'ResourceExistsException') return 'token-conflict';
      throw err;
    }
  };

  const describe = (secretId: string) =>
    call('DescribeSecret', secretId, () => client.send(new DescribeSecretCommand({ SecretId: secretId })));

  return {
    kind: 'aws',

    async read(secretId): Promise<StoredSecret | undefined> {
      // Version ids first, labels second. Read the other way round, a version another rotator
      // puts in between would count as "used" without showing as AWSPENDING, and this rotator
      // would derive a different rotation id and start a second, competing rotation.
      const all: NonNullable<ListSecretVersionIdsResponse['Versions']> = [];
      let next: string | undefined;
      try {
        do {
          const page: ListSecretVersionIdsResponse = await call('ListSecretVersionIds', secretId, () =>
            client.send(
              new ListSecretVersionIdsCommand({
                SecretId: secretId,
                IncludeDeprecated: true,
                MaxResults: 100,
                ...(next ? { NextToken: next } : {}),
              }),
            ),
          );
          all.push(...(page.Versions ?? []));
          next = page.NextToken;
        } while (next);
      } catch (err) {
        if (err instanceof RemoteError && err.detail.code === 'ResourceNotFoundException') return undefined;
        throw err;
      }
      const meta = await describe(secretId);
      if (meta.DeletedDate) {
        throw new RemoteError(
          'secrets-manager',
          'DescribeSecret',
          { retryable: false, code: 'ScheduledForDeletion' },
          `secret ${secretId} is scheduled for deletion; restore it with "aws secretsmanager restore-secret --secret-id ${secretId}" (nothing was changed)`,
        );
      }

      const versions: StoredVersion[] = [];
      for (const [versionId, stages] of Object.entries(meta.VersionIdsToStages ?? {})) {
        if (stages.length === 0) continue;
        let got: { SecretString?: string; CreatedDate?: Date } = {};
        try {
          got = await call('GetSecretValue', secretId, () =>
            client.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId })),
          );
        } catch (err) {
          // A rotation Secrets Manager started labels a version before anything is stored in it.
          if (!(err instanceof RemoteError && err.detail.code === 'ResourceNotFoundException')) throw err;
        }
        registerSecret(got.SecretString);
        const listed = all.find((v) => v.VersionId === versionId);
        versions.push({
          versionId,
          stages: [...stages],
          createdAtMs: (got.CreatedDate ?? listed?.CreatedDate)?.getTime() ?? 0,
          ...(got.SecretString !== undefined ? { value: got.SecretString } : {}),
        });
      }
      const ids = new Set(all.map((v) => v.VersionId).filter((v): v is string => Boolean(v)));
      for (const v of versions) ids.add(v.versionId);
      return {
        secretId,
        versions,
        allVersionIds: [...ids],
        tags: Object.fromEntries((meta.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
      };
    },

    async create(secretId, token, value) {
      const created = await put('CreateSecret', secretId, () =>
        client.send(new CreateSecretCommand({ Name: secretId, ClientRequestToken: token, SecretString: value })),
      );
      if (created !== 'token-conflict') return created;
      // The name exists. A secret made without a value (Terraform, the console) gets its first
      // version as AWSCURRENT; one that already has a current version belongs to someone else's run.
      const stages = (await describe(secretId)).VersionIdsToStages ?? {};
      if (Object.values(stages).some((s) => s.includes(CURRENT))) return 'token-conflict';
      return put('PutSecretValue', secretId, () =>
        client.send(
          new PutSecretValueCommand({
            SecretId: secretId,
            ClientRequestToken: token,
            SecretString: value,
            VersionStages: [CURRENT],
          }),
        ),
      );
    },

    // Same token and same value is a success on AWS: a rerun after a crash lands here harmlessly.
    putPending: (secretId, token, value) =>
      put('PutSecretValue', secretId, () =>
        client.send(
          new PutSecretValueCommand({
            SecretId: secretId,
            ClientRequestToken: token,
            SecretString: value,
            VersionStages: [PENDING],
          }),
        ),
      ),

    async promote(secretId, token) {
      // Another rotator may move the label between our describe and our move; the move then fails
      // with InvalidParameterException and a fresh look shows the work already done.
      for (let attempt = 0; ; attempt++) {
        const stages = (await describe(secretId)).VersionIdsToStages ?? {};
        if (!(token in stages))
          throw new RemoteError(
            'secrets-manager',
            'UpdateSecretVersionStage',
            { retryable: false },
            `secret ${secretId} has no labelled version ${token} to promote`,
          );
        const holder = Object.entries(stages).find(([, s]) => s.includes(CURRENT))?.[0];
        try {
          if (holder !== token) {
            await call('UpdateSecretVersionStage', secretId, () =>
              client.send(
                new UpdateSecretVersionStageCommand({
                  SecretId: secretId,
                  VersionStage: CURRENT,
                  MoveToVersionId: token,
                  ...(holder ? { RemoveFromVersionId: holder } : {}),
                }),
              ),
            );
          }
          if (stages[token]?.includes(PENDING)) {
            await call('UpdateSecretVersionStage', secretId, () =>
              client.send(
                new UpdateSecretVersionStageCommand({
                  SecretId: secretId,
                  VersionStage: PENDING,
                  RemoveFromVersionId: token,
                }),
              ),
            );
          }
          return;
        } catch (err) {
          if (attempt < 2 && err instanceof RemoteError && err.detail.code === 'InvalidParameterException') continue;
          throw err;
        }
      }
    },

    async abandonPending(secretId, token) {
      const stages = (await describe(secretId)).VersionIdsToStages ?? {};
      if (!stages[token]?.includes(PENDING)) return;
      await call('UpdateSecretVersionStage', secretId, () =>
        client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretId,
            VersionStage: PENDING,
            RemoveFromVersionId: token,
          }),
        ),
      );
    },

    async setTags(secretId, tags) {
      await call('TagResource', secretId, () =>
        client.send(
          new TagResourceCommand({
            SecretId: secretId,
            Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
          }),
        ),
      );
    },
  };
}
