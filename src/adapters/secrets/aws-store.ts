import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretVersionStageCommand,
  BatchGetSecretValueCommand,
  ListSecretsCommand,
  type ListSecretsResponse,
  type SecretListEntry,
  type SecretValueEntry,
  type GetSecretValueResponse,
  type ListSecretVersionIdsResponse,
} from '@aws-sdk/client-secrets-manager';
import { trustedClaim, type Claim } from '../../core/claim.js';
import { CURRENT, labelsStamp, PENDING } from '../../core/labels.js';
import type { PutResult, SecretStore, SeenLabels, StoredSecret, StoredVersion } from '../../core/ports.js';
import { RemoteError } from '../../errors.js';
import { registerSecretText } from '../../redact.js';
import { boundAnswers, MiB } from '../../util/bounded-body.js';
import {
  awsAnswer,
  awsClientOptions,
  awsRetryable,
  RetryBudgetError,
  withRetry,
  type AwsStaticCredentials,
  type RetryPolicy,
} from '../retry.js';

export interface AwsStoreOptions {
  region: string;
  endpoint?: string;
  /** Per request; the SDK's own default is to wait forever. */
  timeoutMs?: number;
  retry: RetryPolicy;
  signal?: AbortSignal;
  /** Offer `sweep` (ListSecrets + BatchGetSecretValue): needs those two actions on Resource "*". */
  batchedSweep?: boolean;
  credentials?: AwsStaticCredentials;
}

type ListedVersion = NonNullable<ListSecretVersionIdsResponse['Versions']>[number];

const REPEATED_TOKEN = 'returned a page token it had returned before; refusing to loop';

const tagsOf = (meta: { Tags?: { Key?: string; Value?: string }[] }): Record<string, string> =>
  Object.fromEntries((meta.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
const restoreCommand = (secretId: string) => `aws secretsmanager restore-secret --secret-id ${secretId}`;
const answered = (err: unknown, code: string) => err instanceof RemoteError && err.detail.code === code;
/** `undefined` when the secret does not exist. */
async function unlessNotFound<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (answered(err, 'ResourceNotFoundException')) return undefined;
    throw err;
  }
}
/** A GetSecretValue answer as a StoredVersion's date and value. */
const valueOf = (got: GetSecretValueResponse) => ({
  createdAtMs: got.CreatedDate?.getTime() ?? 0,
  ...(got.SecretString !== undefined ? { value: got.SecretString } : {}),
  ...(got.SecretBinary !== undefined ? { binary: true } : {}),
});
/** A refusal no retry can change (a page walk out of bounds, a label gone). */
const refusal = (operation: string, message: string, code?: string) =>
  new RemoteError('secrets-manager', operation, { retryable: false, ...(code ? { code } : {}) }, message);

function hintFor(name: string | undefined, secretId: string): string | undefined {
  switch (name) {
    case 'AccessDeniedException': {
      const actions =
        'secretsmanager:DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage, ' +
        'ListSecretVersionIds and TagResource';
      return `grant the rotator ${actions} on ${secretId} (and kms:Decrypt/GenerateDataKey for a customer key)`;
    }
    case 'InvalidRequestException':
      return `the secret ${secretId} may be scheduled for deletion; restore it with "${restoreCommand(secretId)}"`;
    case 'DecryptionFailure':
    case 'EncryptionFailure':
      return "the rotator cannot use the secret's KMS key; grant kms:Decrypt and kms:GenerateDataKey";
    case 'ThrottlingException':
      return 'Secrets Manager kept throttling through every retry; the next run resumes where this one stopped';
    default:
      return undefined;
  }
}

/** Larger answers are refused unread (util/bounded-body.ts). */
export const SECRETS_MANAGER_ANSWER_MAX_BYTES = 8 * MiB;

/**
 * AWS Secrets Manager with its own staging labels, so consumers that read AWSCURRENT (caching
 * clients, ECS and Lambda secret injection) keep working. ClientRequestToken is the version id,
 * which makes every write a conditional one: a second writer with the same token and another value
 * gets ResourceExistsException, reported as 'token-conflict'.
 */
export function awsStore(options: AwsStoreOptions): SecretStore {
  const sdk = new SecretsManagerClient(awsClientOptions({ ...options, timeoutMs: options.timeoutMs ?? 10_000 }));
  // A secret value is at most 64 KiB; a batch of 20 of them, escaped, stays well under this.
  const client = boundAnswers(sdk, SECRETS_MANAGER_ANSWER_MAX_BYTES, 'Secrets Manager');

  const call = async <T>(operation: string, secretId: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    try {
      return await withRetry(fn, options.retry, awsRetryable, options.signal);
    } catch (err) {
      const { name, message, $metadata } = awsAnswer(err) ?? {};
      const status = $metadata?.httpStatusCode;
      const spent = err instanceof RetryBudgetError ? ` ${err.message}` : '';
      const resumes = 'the next run resumes where this one stopped';
      const hint =
        hintFor(name, secretId) ??
        (awsRetryable(err) || spent
          ? `Secrets Manager kept failing (${name ?? 'no answer'}) through every retry; ${resumes}`
          : undefined);
      const detail = message ? ` (${message})` : '';
      const fix = hint ? `. Fix: ${hint}` : '';
      throw new RemoteError(
        'secrets-manager',
        operation,
        {
          ...(status !== undefined ? { status } : {}),
          ...(name ? { code: name } : {}),
          retryable: awsRetryable(err) || spent !== '',
          ...(hint ? { hint } : {}),
        },
        `Secrets Manager ${operation} on ${secretId} failed: ${name ?? 'error'}${detail}${spent}${fix}`,
        { cause: err },
      );
    }
  };

  /** `call` for a `client.send` that takes the per-attempt signal as its options. */
  const send = <T>(operation: string, secretId: string, fn: (options: { abortSignal: AbortSignal }) => Promise<T>) =>
    call(operation, secretId, (abortSignal) => fn({ abortSignal }));

  /** Runs `fn`, turning ResourceExistsException into 'token-conflict'. */
  const put = async (
    operation: string,
    secretId: string,
    fn: (o: { abortSignal: AbortSignal }) => Promise<unknown>,
  ): Promise<PutResult> => {
    try {
      await send(operation, secretId, fn);
      return 'stored';
    } catch (err) {
      if (answered(err, 'ResourceExistsException')) return 'token-conflict';
      throw err;
    }
  };
  const putValue = (secretId: string, token: string, value: string, stage: string): Promise<PutResult> => {
    const input = { SecretId: secretId, ClientRequestToken: token, SecretString: value, VersionStages: [stage] };
    return put('PutSecretValue', secretId, (o) => client.send(new PutSecretValueCommand(input), o));
  };

  const describe = (secretId: string) =>
    send('DescribeSecret', secretId, (o) => client.send(new DescribeSecretCommand({ SecretId: secretId }), o));

  /** Takes AWSPENDING off version `token`. */
  const dropPending = (secretId: string, token: string) => {
    const input = { SecretId: secretId, VersionStage: PENDING, RemoveFromVersionId: token };
    return send('UpdateSecretVersionStage', secretId, (o) =>
      client.send(new UpdateSecretVersionStageCommand(input), o),
    );
  };

  /** One version's value (registered for redaction); `undefined` when the secret does not exist. */
  const getValue = async (secretId: string, which: { VersionId: string } | { VersionStage: string }) => {
    const input = { SecretId: secretId, ...which };
    const got = await unlessNotFound(
      send('GetSecretValue', secretId, (o) => client.send(new GetSecretValueCommand(input), o)),
    );
    registerSecretText(got?.SecretString);
    return got;
  };

  const SWEEP_CALLS_AT_ONCE = 8;
  /**
   * Secrets a sweep tells of per turn of the event loop. What a reader does with one (when nothing is due,
   * a target's whole look) runs as soon as it is told; a page's hundred in one go held the event loop for
   * tens of milliseconds on a busy machine, and the next page's answer, arrived meanwhile, waited unread:
   * the walk is the run's critical path. A turn between every few lets that answer be read first.
   */
  const TOLD_PER_TURN = 4;
  /** What a sweep tells of one listed secret, from its listing entry and its current value (if read). */
  const sweptSecret = (
    id: string,
    entry: SecretListEntry,
    claim: Claim | undefined,
    current: SecretValueEntry | undefined,
  ): StoredSecret | undefined => {
    // No readable current value (an error entry, a binary secret): that secret is read on its own.
    if (!claim && (current?.SecretString === undefined || current.VersionId === undefined)) return undefined;
    if (current?.SecretString !== undefined) registerSecretText(current.SecretString);
    const versions: StoredVersion[] = Object.entries(entry.SecretVersionsToStages ?? {})
      .filter(([, stages]) => stages.length > 0)
      .map(([versionId, stages]): StoredVersion => {
        const version = { versionId, stages: [...stages] };
        if (claim?.versionId === versionId) {
          const { ref, createdAtMs } = claim;
          return { ...version, createdAtMs, skipped: true, claim: { ref, createdAtMs } };
        }
        if (versionId !== current?.VersionId) return { ...version, createdAtMs: 0, skipped: true };
        return { ...version, createdAtMs: current.CreatedDate?.getTime() ?? 0, value: current.SecretString! };
      });
    const known = (v: StoredVersion) => v.value !== undefined || v.claim !== undefined;
    if (!versions.some((v) => known(v) && v.stages.includes(CURRENT))) return undefined;
    return {
      secretId: id,
      identity: entry.ARN!,
      versions,
      allVersionIds: versions.map((v) => v.versionId),
      versionIdsComplete: false,
      tags: tagsOf(entry),
    };
  };
  /**
   * The secrets of `secretIds` that carry a rotator tag: ListSecrets pages (filtered to tag keys that
   * begin "rotator:"), then the current values of those without a trusted claim (core/claim.ts), 20
   * at a time. Bounded: 1,000 pages of 100. `settled` hears of each listed secret as soon as what the
   * sweep says of it is known (undefined: left out), so a reader of it need not wait for the walk.
   */
  const sweep = async (
    secretIds: readonly string[],
    settled?: (secretId: string, secret: StoredSecret | undefined) => void,
  ): Promise<Map<string, StoredSecret>> => {
    const wanted = new Set(secretIds);
    const out = new Map<string, StoredSecret>();
    let failure: unknown;
    const toTell: [string, StoredSecret | undefined][] = [];
    let telling: Promise<void> | undefined;
    const drip = async () => {
      while (toTell.length > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        try {
          for (const [id, secret] of toTell.splice(0, TOLD_PER_TURN)) settled!(id, secret);
        } catch (err) {
          failure ??= err;
        }
      }
      telling = undefined;
    };
    const tell = (id: string, secret: StoredSecret | undefined) => {
      if (secret) out.set(id, secret);
      if (!settled) return;
      toTell.push([id, secret]);
      telling ??= drip();
    };
    // Values are read while the listing goes on: every 20 secrets listed (the API's limit per call)
    // start a BatchGetSecretValue at once, up to SWEEP_CALLS_AT_ONCE in flight, so the sweep takes
    // about as long as its sequential pages, not pages plus batches.
    const queued: { id: string; entry: SecretListEntry }[][] = [];
    let inFlight = 0;
    let drained: () => void = () => undefined;
    const pump = () => {
      while (inFlight < SWEEP_CALLS_AT_ONCE && queued.length > 0 && failure === undefined) {
        const batch = queued.shift()!;
        inFlight++;
        call('BatchGetSecretValue', '(sweep)', (signal) =>
          client.send(new BatchGetSecretValueCommand({ SecretIdList: batch.map((b) => b.entry.ARN!) }), {
            abortSignal: signal,
          }),
        )
          .then(
            (result) => {
              const values = new Map((result.SecretValues ?? []).map((v) => [v.ARN, v]));
              for (const { id, entry } of batch) tell(id, sweptSecret(id, entry, undefined, values.get(entry.ARN)));
            },
            (err: unknown) => void (failure ??= err),
          )
          .finally(() => {
            inFlight--;
            pump();
            if (inFlight === 0) drained();
          });
      }
    };
    const unbatched: { id: string; entry: SecretListEntry }[] = [];
    const batch = (all: boolean) => {
      while (unbatched.length >= 20 || (all && unbatched.length > 0)) queued.push(unbatched.splice(0, 20));
      pump();
    };
    const listed = new Set<string>();
    const seen = new Set<string>();
    const listPage = (token: string | undefined) =>
      call('ListSecrets', '(sweep)', (signal) =>
        client.send(
          new ListSecretsCommand({
            Filters: [{ Key: 'tag-key', Values: ['rotator:'] }],
            MaxResults: 100,
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal: signal },
        ),
      );
    let result: ListSecretsResponse = await listPage(undefined);
    for (let page = 1; ; page++) {
      const next = result.NextToken;
      if (next !== undefined && seen.has(next))
        throw new RemoteError(
          'secrets-manager',
          'ListSecrets',
          { retryable: false },
          'ListSecrets returned a page token it had returned before; refusing to loop',
        );
      if (next !== undefined && page === 1000)
        throw new RemoteError(
          'secrets-manager',
          'ListSecrets',
          { retryable: false },
          'ListSecrets returned more than 1,000 pages; refusing to go on',
        );
      if (next !== undefined) seen.add(next);
      // The next page is asked for before this one is looked through, and its secrets are told of once
      // that request is on its way (setImmediate: after the SDK's chain of promises has sent it): the
      // walk is the sweep's critical path, and what their readers do would otherwise hold it up.
      const following = next !== undefined && failure === undefined ? listPage(next) : undefined;
      following?.catch(() => undefined); // awaited below
      if (following) await new Promise((resolve) => setImmediate(resolve));
      for (const entry of result.SecretList ?? []) {
        const id =
          entry.Name !== undefined && wanted.has(entry.Name)
            ? entry.Name
            : entry.ARN !== undefined && wanted.has(entry.ARN)
              ? entry.ARN
              : undefined;
        if (id === undefined || !entry.ARN || entry.DeletedDate || listed.has(id)) continue;
        listed.add(id);
        // A trusted claim says what "nothing due" needs: that secret's value is not read.
        const claim = trustedClaim(entry.SecretVersionsToStages ?? {}, tagsOf(entry));
        if (claim) tell(id, sweptSecret(id, entry, claim, undefined));
        else unbatched.push({ id, entry });
      }
      batch(!following);
      if (!following) break;
      result = await following;
    }
    if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
    await telling;
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error('a value batch failed');
    return out;
  };

  /**
   * The AWSCURRENT version alone, in one GetSecretValue (ReadOptions.currentOnly): no tags, and the
   * other versions left out. GetSecretValue is Secrets Manager's consistent read.
   */
  const readCurrent = async (secretId: string): Promise<StoredSecret | undefined> => {
    const got = await getValue(secretId, { VersionStage: CURRENT });
    if (got?.VersionId === undefined) return undefined;
    const version: StoredVersion = {
      versionId: got.VersionId,
      stages: [...(got.VersionStages ?? [CURRENT])],
      ...valueOf(got),
    };
    const only = { versions: [version], allVersionIds: [version.versionId], versionIdsComplete: false };
    return { secretId, identity: got.ARN ?? secretId, ...only, tags: {} };
  };

  /** Every version id, deprecated ones included; bounded (Secrets Manager keeps about 100 deprecated ones). */
  const listAll = async (secretId: string): Promise<ListedVersion[]> => {
    const all: ListedVersion[] = [];
    const tokens = new Set<string>();
    const operation = 'ListSecretVersionIds';
    let next: string | undefined;
    for (let page = 0; page < 50; page++) {
      const input = {
        SecretId: secretId,
        IncludeDeprecated: true,
        MaxResults: 100,
        ...(next ? { NextToken: next } : {}),
      };
      const result: ListSecretVersionIdsResponse = await send(operation, secretId, (o) =>
        client.send(new ListSecretVersionIdsCommand(input), o),
      );
      all.push(...(result.Versions ?? []));
      next = result.NextToken;
      if (!next) return all;
      if (tokens.has(next)) throw refusal(operation, `Secrets Manager ${operation} on ${secretId} ${REPEATED_TOKEN}`);
      tokens.add(next);
    }
    const tooMany = 'returned more than 50 pages; refusing to go on';
    throw refusal(operation, `Secrets Manager ${operation} on ${secretId} ${tooMany}`);
  };
  const idsOf = (versions: readonly ListedVersion[]) =>
    versions.map((v) => v.VersionId).filter((v): v is string => Boolean(v));

  return {
    async read(secretId, options = {}): Promise<StoredSecret | undefined> {
      if (options.currentOnly && !options.versionIds) return readCurrent(secretId);
      // Version ids first, labels second. Read the other way round, a version another rotator
      // puts in between would count as "used" without showing as AWSPENDING, and this rotator
      // would derive a different rotation id and start a second, competing rotation.
      const listed = options.versionIds ? await unlessNotFound(listAll(secretId)) : [];
      if (!listed) return undefined;
      let all = listed;
      const meta = await unlessNotFound(describe(secretId));
      if (!meta) return undefined;
      if (meta.DeletedDate) {
        const restore = `restore it with "${restoreCommand(secretId)}"`;
        const message = `secret ${secretId} is scheduled for deletion; ${restore} (nothing was changed)`;
        throw refusal('DescribeSecret', message, 'ScheduledForDeletion');
      }
      const tags = tagsOf(meta);

      const versions: StoredVersion[] = [];
      for (const [versionId, stages] of Object.entries(meta.VersionIdsToStages ?? {})) {
        if (stages.length === 0) continue;
        const listedAtMs = all.find((v) => v.VersionId === versionId)?.CreatedDate?.getTime() ?? 0;
        const version = { versionId, stages: [...stages] };
        if (options.wantValue && !options.wantValue({ versionId, stages }, tags)) {
          versions.push({ ...version, createdAtMs: listedAtMs, skipped: true });
          continue;
        }
        // A rotation Secrets Manager started labels a version before anything is stored in it.
        const got = await getValue(secretId, { VersionId: versionId });
        const { createdAtMs, ...value } = valueOf(got ?? {});
        versions.push({ ...version, createdAtMs: createdAtMs || listedAtMs, ...value });
      }
      // A placeholder Secrets Manager labelled has no value to date it: its creation time is in the list.
      const undated = versions.filter((v) => v.createdAtMs === 0 && !v.skipped);
      if (undated.length > 0 && !options.versionIds) {
        all = await listAll(secretId);
        for (const v of undated)
          v.createdAtMs = all.find((x) => x.VersionId === v.versionId)?.CreatedDate?.getTime() ?? 0;
      }
      const ids = new Set([...idsOf(all), ...versions.map((v) => v.versionId)]);
      return {
        secretId,
        identity: meta.ARN ?? secretId,
        versions,
        allVersionIds: [...ids],
        versionIdsComplete: options.versionIds === true || undated.length > 0,
        tags,
      };
    },

    async labels(secretId) {
      const meta = await unlessNotFound(describe(secretId));
      const entries = Object.entries(meta?.VersionIdsToStages ?? {});
      return labelsStamp(
        meta && { versions: entries.map(([versionId, stages]) => ({ versionId, stages })), tags: tagsOf(meta) },
      );
    },

    ...(options.batchedSweep ? { sweep } : {}),

    close: () => client.destroy(),

    listVersionIds: async (secretId) => idsOf(await listAll(secretId)),

    async reserve(secretId) {
      // No value: the secret gets its ARN (its identity) before the first key is named after it.
      // 'token-conflict' means the name exists already: reserved either way.
      const input = { Name: secretId, Description: 'Twilio API key managed by twilio-key-rotator' };
      await put('CreateSecret', secretId, (o) => client.send(new CreateSecretCommand(input), o));
    },

    async create(secretId, token, value) {
      const created = await put('CreateSecret', secretId, (o) =>
        client.send(new CreateSecretCommand({ Name: secretId, ClientRequestToken: token, SecretString: value }), o),
      );
      if (created !== 'token-conflict') return created;
      // The name exists. A secret made without a value (Terraform, the console, `reserve`) gets its
      // first version as AWSCURRENT; one that already has a current version belongs to someone else's run.
      const stages = (await describe(secretId)).VersionIdsToStages ?? {};
      if (Object.values(stages).some((s) => s.includes(CURRENT))) return 'token-conflict';
      return putValue(secretId, token, value, CURRENT);
    },

    // Secrets Manager moves AWSPREVIOUS to the version that loses AWSCURRENT by itself.
    putCurrent: (secretId, token, value) => putValue(secretId, token, value, CURRENT),
    // Same token and same value is a success on AWS: a rerun after a crash lands here harmlessly.
    putPending: (secretId, token, value) => putValue(secretId, token, value, PENDING),

    async promote(secretId, token, seen) {
      // Another rotator may move the label between our look and our move; the move then fails
      // with InvalidParameterException and a fresh look shows the work already done. The first try
      // may act on the labels the caller saw (no look of its own).
      for (let attempt = 0; ; attempt++) {
        const stages: SeenLabels = attempt === 0 && seen ? seen : ((await describe(secretId)).VersionIdsToStages ?? {});
        if (!(token in stages))
          throw refusal('UpdateSecretVersionStage', `secret ${secretId} has no labelled version ${token} to promote`);
        const holder = Object.entries(stages).find(([, s]) => s.includes(CURRENT))?.[0];
        const move = { SecretId: secretId, VersionStage: CURRENT, MoveToVersionId: token };
        try {
          if (holder !== token) {
            const from = holder ? { RemoveFromVersionId: holder } : {};
            await send('UpdateSecretVersionStage', secretId, (o) =>
              client.send(new UpdateSecretVersionStageCommand({ ...move, ...from }), o),
            );
          }
          if (stages[token]?.includes(PENDING)) await dropPending(secretId, token);
          return;
        } catch (err) {
          if (attempt < 2 && answered(err, 'InvalidParameterException')) continue;
          throw err;
        }
      }
    },

    async abandonPending(secretId, token, seen) {
      const remove = async (stages: SeenLabels) => {
        if (stages[token]?.includes(PENDING)) await dropPending(secretId, token);
      };
      if (seen) {
        try {
          return await remove(seen);
        } catch (err) {
          // The labels moved since the caller looked: look, and act on what is there now.
          if (!answered(err, 'InvalidParameterException')) throw err;
        }
      }
      await remove((await describe(secretId)).VersionIdsToStages ?? {});
    },

    async setTags(secretId, tags) {
      const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
      await send('TagResource', secretId, (o) => client.send(new TagResourceCommand({ SecretId: secretId, Tags }), o));
    },
  };
}
