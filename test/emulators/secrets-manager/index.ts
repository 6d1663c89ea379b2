import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { actOutFault, EmulatorControls, handleControlRoute, serve, untilAnswer } from '../common/index.js';
import { SmError } from './errors.js';
import { OPERATIONS } from './operations.js';
import type { RotationFunction, RotationOutcome, RotationRetryPolicy } from './rotation.js';
import type { RotationRules } from './schedule.js';
import { SmState, type SmSnapshot, type Version } from './state.js';

export { ROTATION_STEPS, DEFAULT_ROTATION_RETRY } from './rotation.js';
export type {
  RotationEvent,
  RotationFunction,
  RotationOutcome,
  RotationRetryPolicy,
  RotationStep,
} from './rotation.js';
export type { RotationRules } from './schedule.js';
export type { SmSnapshot } from './state.js';

/**
 * One GetSecretValue call as CloudTrail would record it (a management event): who asked (the SigV4
 * access key id), what they asked for (SecretId as given, VersionId/VersionStage if given), which
 * secret it resolved to, and the error code when it failed. Never the value.
 */
export interface SecretRead {
  atMs: number;
  accessKeyId?: string;
  region: string;
  accountId: string;
  requestParameters: { secretId: string; versionId?: string; versionStage?: string };
  secretArn?: string;
  errorCode?: string;
}

/**
 * AWS Secrets Manager over its real wire protocol (JSON 1.1: POST /, X-Amz-Target), per
 * ../shared/reference/secrets-manager.md §2-§3. Signatures are not checked; the access key id in
 * the SigV4 Authorization header is what the request log records.
 */

export const SECRETS_MANAGER_OPERATIONS = Object.keys(OPERATIONS);

export interface SecretsManagerEmulator {
  url: string;
  close(): Promise<void>;
  controls: EmulatorControls;
  region: string;
  accountId: string;
  /** The stored secret without HTTP, for assertions. */
  inspect(secretId: string):
    | {
        arn: string;
        name: string;
        versions: Version[];
        tags: Record<string, string>;
        deletedAt?: number;
        rotation?: { enabled: boolean; lambdaArn: string; rules?: RotationRules; lastRotatedAt?: number };
      }
    | undefined;
  setClock(fn: () => number): void;
  /**
   * What Secrets Manager does before it invokes a rotation function: a value-less version with
   * VersionId = token, labelled AWSPENDING. The function's createSecret step fills it in.
   * For driving the steps by hand; RotateSecret does this itself.
   */
  beginRotation(secretId: string, token: string): void;
  /**
   * Makes `arn` an invokable rotation Lambda. RotateSecret refuses an ARN with nothing registered
   * (AccessDeniedException, as AWS does for a function it cannot invoke). The emulator awaits
   * `invoke` once per step; a rejection is a function error, and the rotation is retried.
   */
  registerRotationFunction(arn: string, invoke: RotationFunction): void;
  unregisterRotationFunction(arn: string): void;
  /**
   * Resolves when the latest rotation of the secret (name or ARN) has finished: succeeded, failed
   * after its retries, or been cancelled/abandoned. RotateSecret itself returns before the steps run.
   * Rejects if no rotation was ever started for the secret.
   */
  rotationSettled(secretId: string): Promise<RotationOutcome>;
  /** How often a failed rotation is retried and how long apart (AWS: undocumented). */
  setRotationRetry(policy: Partial<RotationRetryPolicy>): void;
  /** Every secret with its versions and values, as JSON-ready data for `restore` (the sandbox keeps it). */
  snapshot(): SmSnapshot;
  /**
   * Calls `listener` for every GetSecretValue answered (a CloudTrail emulator records them); returns an
   * unsubscribe.
   */
  onRead(listener: (read: SecretRead) => void): () => void;
}

function accessKeyOf(req: IncomingMessage): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1];
}

export async function startSecretsManagerEmulator(
  opts: {
    port?: number;
    region?: string;
    accountId?: string;
    now?: () => number;
    /** Default {maxAttempts: 3, delayMs: 10}: small, so failing rotations settle fast in tests. */
    rotationRetry?: Partial<RotationRetryPolicy>;
    /** Secrets to start with, a `snapshot()` of an earlier emulator. */
    restore?: SmSnapshot;
  } = {},
): Promise<SecretsManagerEmulator> {
  const region = opts.region ?? 'us-east-1';
  const accountId = opts.accountId ?? '123456789012';
  const state = new SmState(region, accountId, opts.now ?? Date.now, opts.rotationRetry);
  if (opts.restore) state.restore(opts.restore);
  const controls = new EmulatorControls('secrets-manager');
  const readers = new Set<(read: SecretRead) => void>();
  const announceRead = (input: unknown, accessKeyId: string | undefined, errorCode?: string) => {
    if (readers.size === 0) return;
    const i = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
    const secretId = typeof i.SecretId === 'string' ? i.SecretId : '';
    const read: SecretRead = {
      atMs: state.now(),
      region,
      accountId,
      ...(accessKeyId ? { accessKeyId } : {}),
      requestParameters: {
        secretId,
        ...(typeof i.VersionId === 'string' ? { versionId: i.VersionId } : {}),
        ...(typeof i.VersionStage === 'string' ? { versionStage: i.VersionStage } : {}),
      },
      ...(state.find(secretId) ? { secretArn: state.find(secretId)!.arn } : {}),
      ...(errorCode ? { errorCode } : {}),
    };
    for (const listener of readers) listener(read);
  };

  const handler = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    if (handleControlRoute(controls, req, res, body)) return;
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    };
    const target = String(req.headers['x-amz-target'] ?? '');
    const name = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : '';
    const op = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
    if (req.method !== 'POST' || !op) {
      reply(400, {
        __type: 'UnknownOperationException',
        Message: `Unknown operation ${target || '(no X-Amz-Target)'}`,
      });
      return;
    }
    // The work is done on arrival and the answer held until arrival + latency (controls.ts,
    // latencyIncludesWork): the emulator's own time is inside the latency, as a real service's is.
    const admission = await controls.admit(
      {
        operation: name,
        method: 'POST',
        path: '/',
        ...(accessKeyOf(req) ? { credential: accessKeyOf(req) } : {}),
        mutating: op.mutating,
      },
      { holdsAnswer: true },
    );
    res.on('close', () => {
      if (!res.writableFinished) admission.entry.abandoned = true;
    });
    const send = (status: number, payload: unknown) => {
      admission.entry.status = status;
      reply(status, payload);
    };
    // A fault's answer (or dropped connection) comes when any answer would; a slow one is acted out first.
    if (admission.fault !== undefined && admission.fault !== 'slow') await untilAnswer(admission);
    const faulted = await actOutFault(admission, req, {
      serverError: () =>
        send(500, { __type: 'InternalServiceError', Message: 'An error occurred on the server side.' }),
      throttle: () => send(400, { __type: 'ThrottlingException', Message: 'Rate exceeded' }),
    });
    if (faulted) return;
    const [status, payload] = answerTo(name, op, body, accessKeyOf(req));
    const text = JSON.stringify(payload); // a page of 100 secrets takes a while: inside the latency too
    await untilAnswer(admission);
    send(status, text);
  };

  /** The operation's effect and its answer (status, payload); an emulator bug throws. */
  const answerTo = (
    name: string,
    op: (typeof OPERATIONS)[string],
    body: Buffer,
    akid: string | undefined,
  ): [number, unknown] => {
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      return [
        400,
        { __type: 'SerializationException', Message: 'Start of structure or map found where not expected.' },
      ];
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      return [400, { __type: 'SerializationException', Message: 'Request body must be a JSON object.' }];
    try {
      const answer = op.run(state, input as Record<string, unknown>);
      if (name === 'GetSecretValue') announceRead(input, akid);
      return [200, answer];
    } catch (err) {
      if (!(err instanceof SmError)) throw err;
      if (name === 'GetSecretValue') announceRead(input, akid, err.type);
      return [err.status, { __type: err.type, Message: err.message }];
    }
  };

  const server = await serve(handler, opts.port ?? 0);
  return {
    url: server.url,
    close: () => {
      state.rotations.close();
      return server.close();
    },
    controls,
    region,
    accountId,
    inspect(secretId) {
      const s = state.find(secretId);
      if (!s) return undefined;
      return {
        arn: s.arn,
        name: s.name,
        // What a version holds; when it was last read is access metadata, not content (DescribeSecret shows it).
        versions: s.versions.map(({ lastAccessedAt: _read, ...v }) => ({ ...v, stages: [...v.stages] })),
        tags: Object.fromEntries((s.tags ?? []).map((t) => [t.Key, t.Value])),
        ...(s.deletedAt !== undefined ? { deletedAt: s.deletedAt } : {}),
        ...(s.rotation
          ? {
              rotation: {
                enabled: s.rotation.enabled,
                lambdaArn: s.rotation.lambdaArn,
                ...(s.rotation.rules ? { rules: { ...s.rotation.rules } } : {}),
                ...(s.lastRotatedAt !== undefined ? { lastRotatedAt: s.lastRotatedAt } : {}),
              },
            }
          : {}),
      };
    },
    setClock(fn) {
      state.now = fn;
    },
    beginRotation(secretId, token) {
      state.beginRotation(state.live(secretId), token);
    },
    registerRotationFunction(arn, invoke) {
      state.rotations.register(arn, invoke);
    },
    unregisterRotationFunction(arn) {
      state.rotations.unregister(arn);
    },
    rotationSettled(secretId) {
      return state.rotations.settled(secretId);
    },
    setRotationRetry(policy) {
      state.rotations.retry = { ...state.rotations.retry, ...policy };
    },
    snapshot() {
      return state.snapshot();
    },
    onRead(listener) {
      readers.add(listener);
      return () => readers.delete(listener);
    },
  };
}
