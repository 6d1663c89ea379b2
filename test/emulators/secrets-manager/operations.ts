import { SmError, invalidParameter, validation } from './errors.js';
import { CANNOT_INVOKE } from './rotation.js';
import { describeRules, nextRotationDate, parseRotationRules } from './schedule.js';
import { hasValue, type Secret, type SmState, type Version } from './state.js';

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

const seconds = (ms: number) => ms / 1000;

const DAY_MS = 86_400_000;
/**
 * LastAccessedDate: "The date that the secret was last accessed in the Region. This field is omitted
 * if the secret has never been retrieved in the Region." AWS keeps only the date ("date resolution",
 * AWS✓ per the reference notes §3.2): midnight UTC of the day of the last GetSecretValue.
 */
const dayOf = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
const lastAccessed = (at: number | undefined): Output => (at === undefined ? {} : { LastAccessedDate: seconds(at) });

/** ListSecrets filter keys: the FilterNameStringType enum of the service model. */
const FILTER_KEYS = ['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all'];

/**
 * An unknown key fails the model's enum constraint before the service runs: ValidationException
 * (moto test_with_invalid_filter_key; the enum listed here is the service model's full set).
 */
function unknownFilterKey(key: unknown, index: number): SmError {
  const where = `'filters.${index + 1}.member.key'`;
  const constraint = `Member must satisfy enum value set: [${FILTER_KEYS.join(', ')}]`;
  return validation(
    `1 validation error detected: Value '${String(key)}' at ${where} failed to satisfy constraint: ${constraint}`,
  );
}

function str(
  input: Input,
  field: string,
  opts: { required?: boolean; min?: number; max?: number } = {},
): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) {
    if (opts.required)
      throw validation(
        `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
      );
    return undefined;
  }
  if (typeof value !== 'string') throw new SmError('SerializationException', `${field} must be a string`);
  if ((opts.min !== undefined && value.length < opts.min) || (opts.max !== undefined && value.length > opts.max)) {
    throw validation(
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must ` +
        `have length between ${opts.min ?? 0} and ${opts.max ?? '∞'}`,
    );
  }
  return value;
}

const secretId = (input: Input) => str(input, 'SecretId', { required: true, min: 1, max: 2048 })!;
const token = (input: Input, field = 'ClientRequestToken') => str(input, field, { min: 32, max: 64 });

function tagsOf(input: Input): { Key: string; Value: string }[] {
  const tags = input.Tags;
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw new SmError('SerializationException', 'Tags must be a list');
  return tags.map((t: { Key?: unknown; Value?: unknown }) => {
    if (typeof t?.Key !== 'string' || t.Key.length < 1 || t.Key.length > 128)
      throw validation('Tag keys must be 1-128 characters');
    if (typeof t.Value !== 'string' || t.Value.length > 256) throw validation('Tag values must be 0-256 characters');
    return { Key: t.Key, Value: t.Value };
  });
}

/** A version's value as a request carries it: SecretString or SecretBinary (bytes), at most one. */
type SecretValue = { value?: string; binary?: Buffer };

const hasInputValue = (v: SecretValue) => v.value !== undefined || v.binary !== undefined;

/**
 * SecretString | SecretBinary. On the JSON wire a blob is a base64 string (the SDK takes and
 * returns a Uint8Array). "Either SecretString or SecretBinary must have a value, but not both"
 * (CreateSecret/PutSecretValue/UpdateSecret docs); SecretBinaryType is a blob of 1-65536 bytes
 * (botocore service-2.json). The both-given message is moto's and other mocks'; AWS's is UNCONFIRMED.
 */
function value(input: Input): SecretValue {
  const text = str(input, 'SecretString', { max: 65536 });
  const encoded = input.SecretBinary;
  if (encoded === undefined || encoded === null) return text === undefined ? {} : { value: text };
  if (typeof encoded !== 'string' || encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded))
    throw new SmError('SerializationException', 'SecretBinary must be a base64-encoded blob');
  const binary = Buffer.from(encoded, 'base64');
  if (binary.length < 1 || binary.length > 65536)
    throw validation(
      "1 validation error detected: Value at 'secretBinary' failed to satisfy " +
        'constraint: Member must have length between 1 and 65536',
    );
  if (text !== undefined)
    throw invalidParameter(
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
  return { binary };
}

const sameValue = (version: Version, v: SecretValue) =>
  version.value === v.value &&
  (version.binary === undefined || v.binary === undefined
    ? version.binary === v.binary
    : version.binary.equals(v.binary));

/** Same token: same value is an idempotent success, another value is ResourceExistsException. */
function existingVersion(secret: Secret, versionId: string, v: SecretValue): Version | undefined {
  const found = secret.versions.find((x) => x.versionId === versionId);
  // The value-less AWSPENDING version a rotation starts with is filled in by the first put.
  if (found && !hasValue(found) && hasInputValue(v)) {
    Object.assign(found, v);
    return found;
  }
  if (found && !sameValue(found, v)) {
    throw new SmError(
      'ResourceExistsException',
      `You can't use ClientRequestToken ${versionId} because that value is already in use for a ` +
        `version of secret ${secret.arn}.`,
    );
  }
  return found;
}

/**
 * A new version from PutSecretValue or UpdateSecret. Without `stages` it takes AWSCURRENT (and the
 * old holder gets AWSPREVIOUS); with them, each listed label moves to it. The first version of a
 * secret always gets AWSCURRENT. §3.4 of the notes.
 *
 * A new value made AWSCURRENT without explicit stages abandons any rotation: "Secrets Manager
 * abandons rotation when you create a new version of a secret during rotation" and "removes the
 * AWSPENDING label from an existing version" (CloudTrail RotationAbandoned, retrieve-ct-entries.md).
 * AWS✓: v2=[AWSCURRENT,AWSPENDING] + PutSecretValue -> v2=[AWSPREVIOUS] (LocalStack
 * test_update_secret_version_stages_current_pending); terraform-provider-aws's acceptance tests put
 * a value "to clear in-rotation state". UNCONFIRMED: explicit VersionStages only move what they list.
 */
function addVersion(state: SmState, s: Secret, versionId: string, v: SecretValue, stages?: string[]): Version {
  const labels = stages ?? ['AWSCURRENT'];
  const first = !s.versions.some((x) => x.stages.includes('AWSCURRENT'));
  const version: Version = { versionId, stages: [], ...v, createdAt: state.now() };
  s.versions.push(version);
  for (const stage of labels) state.moveStage(s, stage, versionId);
  if (first && !labels.includes('AWSCURRENT')) state.moveStage(s, 'AWSCURRENT', versionId);
  if (stages === undefined) {
    for (const other of s.versions)
      if (other !== version) other.stages = other.stages.filter((x) => x !== 'AWSPENDING');
    state.rotations.stop(s.arn, 'rotation was abandoned: a new version of the secret was created during rotation');
  }
  if (version.stages.includes('AWSCURRENT')) s.lastValueChangeAt = state.now();
  state.trim(s);
  return version;
}

const NO_TOKEN = 'You must provide a ClientRequestToken value. We recommend a UUID-type value.';

function bool(input: Input, field: string): boolean | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new SmError('SerializationException', `${field} must be a boolean`);
  return v;
}

/** The version AWSPENDING sits on when it is not also AWSCURRENT: a rotation that has not finished. */
const unfinishedRotation = (s: Secret) =>
  s.versions.find((v) => v.stages.includes('AWSPENDING') && !v.stages.includes('AWSCURRENT'));

/**
 * DescribeSecret/ListSecrets rotation fields (DescribeSecret doc): RotationEnabled is omitted until
 * rotation has been configured (AWS✓, LocalStack test_rotate_secret_invalid_lambda_arn);
 * RotationLambdaARN and RotationRules stay after CancelRotateSecret ("If the secret previously had
 * rotation turned on, but it is now turned off, this field shows the previous rotation schedule and
 * rotation function"); LastRotatedDate and NextRotationDate are null "if the secret isn't configured
 * for rotation or rotation has been disabled". NextRotationDate counts from the last rotation, and
 * "manually updating the secret value by calling PutSecretValue or UpdateSecret is considered a
 * valid rotation" (RotationRulesType).
 */
function rotationFields(s: Secret): Output {
  const r = s.rotation;
  if (!r) return {};
  const base = Math.max(r.configuredAt, s.lastRotatedAt ?? 0, s.lastValueChangeAt ?? 0);
  const next = r.enabled && r.rules ? nextRotationDate(r.rules, base) : undefined;
  return {
    RotationEnabled: r.enabled,
    RotationLambdaARN: r.lambdaArn,
    ...(r.rules ? { RotationRules: describeRules(r.rules) } : {}),
    ...(r.enabled && s.lastRotatedAt !== undefined ? { LastRotatedDate: seconds(s.lastRotatedAt) } : {}),
    ...(next !== undefined ? { NextRotationDate: seconds(next) } : {}),
  };
}

function stagesMap(secret: Secret): Record<string, string[]> {
  return Object.fromEntries(
    secret.versions.filter((v) => v.stages.length > 0).map((v) => [v.versionId, [...v.stages]]),
  );
}

export const OPERATIONS: Record<string, { mutating: boolean; run: (state: SmState, input: Input) => Output }> = {
  CreateSecret: {
    mutating: true,
    run(state, input) {
      const name = str(input, 'Name', { required: true, min: 1, max: 512 })!;
      if (!/^[A-Za-z0-9/_+=.@-]+$/.test(name))
        throw validation(
          'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
        );
      const t = token(input);
      const v = value(input);
      // AWS✓ (LocalStack test_no_client_request_token[CreateSecret]): a raw request with a value and no
      // token is refused; the SDK always sends one. UNCONFIRMED without a value (no version is made).
      if (hasInputValue(v) && t === undefined) throw new SmError('InvalidRequestException', NO_TOKEN);
      const tags = tagsOf(input);
      const existing = state.secrets.get(name);
      if (existing) {
        if (existing.deletedAt !== undefined)
          throw new SmError(
            'InvalidRequestException',
            "You can't create this secret because a secret with this name is already scheduled for deletion.",
          );
        if (t && existingVersion(existing, t, v)) return { ARN: existing.arn, Name: existing.name, VersionId: t };
        throw new SmError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
      }
      const now = state.now();
      const secret: Secret = {
        arn: state.arnFor(name),
        name,
        createdAt: now,
        lastChangedAt: now,
        versions: [],
        ...(tags.length ? { tags } : {}),
      };
      const description = str(input, 'Description', { max: 2048 });
      if (description !== undefined) secret.description = description;
      if (hasInputValue(v) && t !== undefined)
        secret.versions.push({ versionId: t, stages: ['AWSCURRENT'], ...v, createdAt: now });
      state.secrets.set(name, secret);
      return { ARN: secret.arn, Name: name, ...(hasInputValue(v) ? { VersionId: t } : {}) };
    },
  },

  DescribeSecret: {
    mutating: false,
    run(state, input) {
      const s = state.get(secretId(input));
      return {
        ARN: s.arn,
        Name: s.name,
        ...(s.description !== undefined ? { Description: s.description } : {}),
        CreatedDate: seconds(s.createdAt),
        LastChangedDate: seconds(s.lastChangedAt),
        ...lastAccessed(s.lastAccessedAt),
        ...(s.deletedAt !== undefined ? { DeletedDate: seconds(s.deletedAt) } : {}),
        ...rotationFields(s),
        ...(s.tags ? { Tags: s.tags } : {}),
        ...(s.versions.some((v) => v.stages.length) ? { VersionIdsToStages: stagesMap(s) } : {}),
      };
    },
  },

  GetSecretValue: {
    mutating: false,
    run(state, input) {
      const s = state.live(secretId(input));
      const versionId = str(input, 'VersionId', { min: 32, max: 64 });
      const stage = str(input, 'VersionStage', { min: 1, max: 256 });
      let v: Version | undefined;
      if (versionId !== undefined) {
        v = s.versions.find((x) => x.versionId === versionId);
        if (!v)
          throw new SmError(
            'ResourceNotFoundException',
            `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
          );
        if (stage !== undefined && !v.stages.includes(stage))
          throw new SmError(
            'InvalidRequestException',
            'You provided a VersionStage that is not associated to the provided VersionId.',
          );
      } else {
        const wanted = stage ?? 'AWSCURRENT';
        v = s.versions.find((x) => x.stages.includes(wanted));
        if (!v)
          throw new SmError(
            'ResourceNotFoundException',
            `Secrets Manager can't find the specified secret value for staging label: ${wanted}`,
          );
      }
      if (!hasValue(v))
        throw new SmError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value.");
      s.lastAccessedAt = v.lastAccessedAt = dayOf(state.now());
      return {
        ARN: s.arn,
        Name: s.name,
        VersionId: v.versionId,
        ...(v.binary !== undefined ? { SecretBinary: v.binary.toString('base64') } : { SecretString: v.value }),
        VersionStages: [...v.stages],
        CreatedDate: seconds(v.createdAt),
      };
    },
  },

  PutSecretValue: {
    mutating: true,
    run(state, input) {
      const id = secretId(input);
      // AWS✓ (LocalStack test_no_client_request_token[PutSecretValue]), checked before the secret is
      // looked up. The SDK always sends a token.
      const t = token(input);
      if (t === undefined) throw new SmError('InvalidRequestException', NO_TOKEN);
      const v = value(input);
      const s = state.live(id);
      if (!hasInputValue(v))
        throw new SmError('InvalidRequestException', 'You must provide either SecretString or SecretBinary.');
      const stagesIn = input.VersionStages;
      if (
        stagesIn !== undefined &&
        (!Array.isArray(stagesIn) ||
          stagesIn.length < 1 ||
          stagesIn.length > 20 ||
          stagesIn.some((x) => typeof x !== 'string' || x.length < 1 || x.length > 256))
      ) {
        throw validation('VersionStages must hold 1-20 labels of 1-256 characters');
      }
      const existing = existingVersion(s, t, v);
      if (existing) return { ARN: s.arn, Name: s.name, VersionId: t, VersionStages: [...existing.stages] };
      const version = addVersion(state, s, t, v, stagesIn as string[] | undefined);
      return { ARN: s.arn, Name: s.name, VersionId: t, VersionStages: [...version.stages] };
    },
  },

  /**
   * Metadata and/or a new value. "If you include SecretString or SecretBinary ... Secrets Manager
   * automatically moves the staging label AWSCURRENT to the new version" (UpdateSecret doc). A raw
   * request with a value but no ClientRequestToken fails (AWS✓, LocalStack
   * test_no_client_request_token[UpdateSecret]); the SDK always sends one.
   */
  UpdateSecret: {
    mutating: true,
    run(state, input) {
      const id = secretId(input);
      const v = value(input);
      const t = token(input);
      if (hasInputValue(v) && t === undefined) throw new SmError('InvalidRequestException', NO_TOKEN);
      const description = str(input, 'Description', { max: 2048 });
      str(input, 'KmsKeyId', { max: 2048 });
      const s = state.live(id);
      if (description !== undefined) s.description = description;
      s.lastChangedAt = state.now();
      if (!hasInputValue(v) || t === undefined) return { ARN: s.arn, Name: s.name };
      // UNCONFIRMED: the same token with the same value is an idempotent success, as for
      // PutSecretValue (the UpdateSecret overview only says a reused token "results in an error").
      if (!existingVersion(s, t, v)) addVersion(state, s, t, v);
      return { ARN: s.arn, Name: s.name, VersionId: t };
    },
  },

  UpdateSecretVersionStage: {
    mutating: true,
    run(state, input) {
      const s = state.live(secretId(input));
      const stage = str(input, 'VersionStage', { required: true, min: 1, max: 256 })!;
      const moveTo = str(input, 'MoveToVersionId', { min: 32, max: 64 });
      const removeFrom = str(input, 'RemoveFromVersionId', { min: 32, max: 64 });
      for (const id of [moveTo, removeFrom])
        if (id !== undefined && !s.versions.some((v) => v.versionId === id))
          throw invalidParameter(`Not a valid version: ${id}`);
      const holder = s.versions.find((v) => v.stages.includes(stage));
      if (removeFrom !== undefined && holder?.versionId !== removeFrom) {
        throw invalidParameter(
          `The parameter RemoveFromVersionId doesn't match. Staging label ${stage} is currently attached to version ' +
'${holder?.versionId ?? '(none)'}.`,
        );
      }
      if (moveTo !== undefined) {
        if (holder && holder.versionId !== moveTo && removeFrom === undefined) {
          throw invalidParameter(
            `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently ` +
              `attached to version ${holder.versionId}, so you must explicitly reference that version in ` +
              `RemoveFromVersionId.`,
          );
        }
        state.moveStage(s, stage, moveTo);
      } else if (removeFrom !== undefined) {
        state.moveStage(s, stage, undefined);
      } else {
        throw invalidParameter('You must specify MoveToVersionId or RemoveFromVersionId.');
      }
      state.trim(s);
      return { ARN: s.arn, Name: s.name };
    },
  },

  ListSecretVersionIds: {
    mutating: false,
    run(state, input) {
      const s = state.get(secretId(input));
      const includeDeprecated = input.IncludeDeprecated === true;
      const max = typeof input.MaxResults === 'number' ? input.MaxResults : 100;
      if (!Number.isInteger(max) || max < 1 || max > 100) throw validation('MaxResults must be between 1 and 100');
      const all = s.versions.filter((v) => includeDeprecated || v.stages.length > 0);
      const start =
        input.NextToken === undefined
          ? 0
          : Number.parseInt(typeof input.NextToken === 'string' ? input.NextToken : '-1', 10);
      if (!Number.isInteger(start) || start < 0 || start > all.length)
        throw new SmError('InvalidNextTokenException', 'The NextToken value is invalid.');
      const page = all.slice(start, start + max);
      return {
        ARN: s.arn,
        Name: s.name,
        Versions: page.map((v) => ({
          VersionId: v.versionId,
          ...(v.stages.length ? { VersionStages: [...v.stages] } : {}),
          CreatedDate: seconds(v.createdAt),
          ...lastAccessed(v.lastAccessedAt),
          KmsKeyIds: ['DefaultEncryptionKey'],
        })),
        ...(start + max < all.length ? { NextToken: String(start + max) } : {}),
      };
    },
  },

  /**
   * AWS docs (API_BatchGetSecretValue): up to 20 secrets' current values by SecretIdList, or by
   * Filters (as ListSecrets) with MaxResults/NextToken; "You must include Filters or SecretIdList, but
   * not both" (the error's type and wording are UNCONFIRMED: InvalidParameterException chosen); a
   * secret that cannot be read is an entry of Errors (ErrorCode, Message, SecretId), not a failure of
   * the call. Entries are shaped like GetSecretValue's answer.
   */
  BatchGetSecretValue: {
    mutating: false,
    run(state, input) {
      const ids = Array.isArray(input.SecretIdList) ? (input.SecretIdList as unknown[]) : undefined;
      const hasFilters = Array.isArray(input.Filters);
      if ((ids === undefined) === !hasFilters)
        throw invalidParameter('You must include Filters or SecretIdList, but not both.');
      if (ids !== undefined && input.MaxResults !== undefined)
        throw invalidParameter('MaxResults can only be used with Filters.');
      let names: string[];
      let next: string | undefined;
      if (ids !== undefined) {
        if (ids.length < 1 || ids.length > 20) throw validation('SecretIdList must hold 1 to 20 secret ids');
        names = ids.map((id) => (typeof id === 'string' ? id : ''));
      } else {
        const max = typeof input.MaxResults === 'number' ? input.MaxResults : 20;
        if (!Number.isInteger(max) || max < 1 || max > 20) throw validation('MaxResults must be between 1 and 20');
        const listed = OPERATIONS.ListSecrets!.run(state, {
          Filters: input.Filters,
          MaxResults: max,
          ...(input.NextToken !== undefined ? { NextToken: input.NextToken } : {}),
        }) as { SecretList: { ARN: string }[]; NextToken?: string };
        names = listed.SecretList.map((e) => e.ARN);
        next = listed.NextToken;
      }
      const SecretValues: unknown[] = [];
      const Errors: unknown[] = [];
      for (const name of names) {
        try {
          SecretValues.push(OPERATIONS.GetSecretValue!.run(state, { SecretId: name }));
        } catch (err) {
          if (!(err instanceof SmError)) throw err;
          Errors.push({ SecretId: name, ErrorCode: err.type, Message: err.message });
        }
      }
      return { SecretValues, Errors, ...(next !== undefined ? { NextToken: next } : {}) };
    },
  },

  ListSecrets: {
    mutating: false,
    run(state, input) {
      const max = typeof input.MaxResults === 'number' ? input.MaxResults : 100;
      if (!Number.isInteger(max) || max < 1 || max > 100) throw validation('MaxResults must be between 1 and 100');
      const filters = Array.isArray(input.Filters) ? (input.Filters as { Key?: string; Values?: string[] }[]) : [];
      filters.forEach((f, i) => {
        if (f.Key === undefined) throw invalidParameter('Invalid filter key');
        if (!FILTER_KEYS.includes(f.Key)) throw unknownFilterKey(f.Key, i);
        if (!Array.isArray(f.Values) || f.Values.length === 0)
          throw invalidParameter(`Invalid filter values for key: ${f.Key}`);
      });
      const matches = (s: Secret) =>
        filters.every((f) => {
          const values = f.Values ?? [];
          const hit = (text: string | undefined) =>
            text !== undefined &&
            values.some((v) => (v.startsWith('!') ? !text.startsWith(v.slice(1)) : text.startsWith(v)));
          switch (f.Key) {
            case 'name':
              return hit(s.name);
            case 'description':
              return hit(s.description);
            case 'tag-key':
              return (s.tags ?? []).some((t) => hit(t.Key));
            case 'tag-value':
              return (s.tags ?? []).some((t) => hit(t.Value));
            case 'all':
              return hit(s.name) || hit(s.description) || (s.tags ?? []).some((t) => hit(t.Key) || hit(t.Value));
            default:
              // primary-region, owning-service: no emulated secret is a replica or service-owned.
              return false;
          }
        });
      const all = [...state.secrets.values()]
        .filter((s) => s.deletedAt === undefined || input.IncludePlannedDeletion === true)
        .filter(matches);
      const start =
        input.NextToken === undefined
          ? 0
          : Number.parseInt(typeof input.NextToken === 'string' ? input.NextToken : '-1', 10);
      if (!Number.isInteger(start) || start < 0 || start > all.length)
        throw new SmError('InvalidNextTokenException', 'The NextToken value is invalid.');
      return {
        SecretList: all.slice(start, start + max).map((s) => ({
          ARN: s.arn,
          Name: s.name,
          CreatedDate: seconds(s.createdAt),
          LastChangedDate: seconds(s.lastChangedAt),
          ...lastAccessed(s.lastAccessedAt),
          ...rotationFields(s),
          ...(s.tags ? { Tags: s.tags } : {}),
          SecretVersionsToStages: stagesMap(s),
        })),
        ...(start + max < all.length ? { NextToken: String(start + max) } : {}),
      };
    },
  },

  /**
   * Stores the rotation configuration and starts the asynchronous rotation (rotation.ts). Order of
   * checks: the request itself; the secret; a Lambda ARN given or stored (InvalidRequestException
   * "No Lambda rotation function ARN is associated with this secret.", AWS✓); the function invokable
   * (AccessDeniedException, nothing stored, AWS✓); no unfinished rotation. Then the configuration is
   * stored, the value-less AWSPENDING version is created, and the steps start after the response.
   */
  RotateSecret: {
    mutating: true,
    run(state, input) {
      const id = secretId(input);
      // AWS✓ (LocalStack test_no_client_request_token[RotateSecret]): a raw request without a token is
      // InvalidParameterException, checked before the secret is looked up. The SDK generates one.
      const t = token(input);
      if (t === undefined) throw invalidParameter(NO_TOKEN);
      const lambdaIn = str(input, 'RotationLambdaARN', { max: 2048 }) || undefined;
      const rules = parseRotationRules(input.RotationRules);
      const immediately = bool(input, 'RotateImmediately') ?? true;
      const s = state.live(id);
      const lambdaArn = lambdaIn ?? s.rotation?.lambdaArn;
      if (!lambdaArn)
        throw new SmError('InvalidRequestException', 'No Lambda rotation function ARN is associated with this secret.');
      if (!state.rotations.canInvoke(lambdaArn)) throw new SmError('AccessDeniedException', CANNOT_INVOKE);
      const reply = { ARN: s.arn, Name: s.name, VersionId: t };

      const unfinished = unfinishedRotation(s);
      if (unfinished) {
        // "If the AWSPENDING staging label is present but not attached to the same version as
        // AWSCURRENT, then any later invocation of RotateSecret assumes that a previous rotation
        // request is still in progress and returns an error." (RotateSecret doc). The message is the
        // one AWS users report (aws/aws-cdk#28539, hashicorp/terraform-provider-aws tests, the AWS PCS
        // user guide). It says the previous rotation "will be reattempted"; UNCONFIRMED how: we rerun
        // it with its own token at once, unless it is still running or rotation was cancelled, and
        // store none of this request's configuration.
        if (s.rotation?.enabled && !state.rotations.active(s.arn))
          state.rotations.start(s, unfinished.versionId, 'rotation');
        // UNCONFIRMED: the same request retried (same token) is answered as the first time.
        if (unfinished.versionId === t) return reply;
        throw new SmError(
          'InvalidRequestException',
          "A previous rotation isn't complete. That rotation will be reattempted.",
        );
      }
      // UNCONFIRMED: a token that already names a finished version starts nothing and succeeds, as an
      // idempotency token should (RotateSecret models no ResourceExistsException).
      if (s.versions.some((v) => v.versionId === t)) return reply;

      const kept = rules ?? s.rotation?.rules;
      s.rotation = { enabled: true, lambdaArn, configuredAt: state.now(), ...(kept ? { rules: kept } : {}) };
      s.lastChangedAt = state.now();
      state.beginRotation(s, t);
      state.rotations.start(s, t, immediately ? 'rotation' : 'test');
      return reply;
    },
  },

  /**
   * "Turns off automatic rotation, and if a rotation is currently in progress, cancels the rotation."
   * Labels are left as they are ("You might need to remove the staging label AWSPENDING from the
   * partially created version"); VersionId is "the version of the secret created during the
   * rotation" (CancelRotateSecret doc). A step already running finishes; no later step or retry runs.
   */
  CancelRotateSecret: {
    mutating: true,
    run(state, input) {
      const s = state.live(secretId(input));
      // UNCONFIRMED: cancelling on a secret never configured for rotation. The docs list this cause for
      // InvalidRequestException; moto answers it so.
      if (!s.rotation)
        throw new SmError(
          'InvalidRequestException',
          "You tried to enable rotation on a secret that doesn't already have a Lambda " +
            "function ARN configured and you didn't include such an ARN as a parameter in " +
            'this call.',
        );
      s.rotation.enabled = false;
      s.lastChangedAt = state.now();
      state.rotations.stop(s.arn, 'rotation was cancelled by CancelRotateSecret');
      const unfinished = unfinishedRotation(s);
      return { ARN: s.arn, Name: s.name, ...(unfinished ? { VersionId: unfinished.versionId } : {}) };
    },
  },

  TagResource: {
    mutating: true,
    run(state, input) {
      const s = state.live(secretId(input));
      const tags = tagsOf(input);
      const merged = [...(s.tags ?? [])];
      for (const t of tags) {
        const at = merged.findIndex((m) => m.Key === t.Key);
        if (at >= 0) merged[at] = t;
        else merged.push(t);
      }
      s.tags = merged;
      return {};
    },
  },

  UntagResource: {
    mutating: true,
    run(state, input) {
      const s = state.live(secretId(input));
      if (!Array.isArray(input.TagKeys))
        throw validation(
          "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
        );
      const drop = new Set(input.TagKeys as string[]);
      s.tags = (s.tags ?? []).filter((t) => !drop.has(t.Key));
      return {};
    },
  },

  /**
   * "If you forcibly delete an already deleted or nonexistent secret, the operation does not return
   * ResourceNotFoundException" (DeleteSecret doc). The answer then names what was asked for, with an ARN
   * made for that name and DeletionDate now, as moto does (test_delete_secret_force_no_such_secret).
   */
  DeleteSecret: {
    mutating: true,
    run(state, input) {
      const id = secretId(input);
      const force = input.ForceDeleteWithoutRecovery === true;
      const days = input.RecoveryWindowInDays;
      if (force && days !== undefined)
        throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
      if (days !== undefined && (typeof days !== 'number' || days < 7 || days > 30))
        throw invalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
      const found = state.find(id);
      if (!found && force) {
        const arn = id.startsWith('arn:') ? id : state.arnFor(id);
        const name = id.startsWith('arn:') ? (/:secret:(.+?)(-[A-Za-z0-9]{6})?$/.exec(id)?.[1] ?? id) : id;
        return { ARN: arn, Name: name, DeletionDate: seconds(state.now()) };
      }
      const s = state.get(id);
      if (s.deletedAt !== undefined && !force) throw markedForDeletionError();
      const now = state.now();
      if (force) state.secrets.delete(s.name);
      else s.deletedAt = now;
      return { ARN: s.arn, Name: s.name, DeletionDate: seconds(force ? now : now + (days ?? 30) * 86_400_000) };
    },
  },

  RestoreSecret: {
    mutating: true,
    run(state, input) {
      const s = state.get(secretId(input));
      delete s.deletedAt;
      return { ARN: s.arn, Name: s.name };
    },
  },
};

function markedForDeletionError(): SmError {
  return new SmError(
    'InvalidRequestException',
    "You can't perform this operation on the secret because it was marked for deletion.",
  );
}
