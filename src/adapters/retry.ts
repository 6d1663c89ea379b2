import pRetry, { AbortError } from 'p-retry';

import { timeoutSignal } from '../util/abort.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Wall time for all attempts together, the call in flight included. */
  budgetMs: number;
  minDelayMs: number;
}

/** Network-level failures worth another attempt: the request may not have reached the server. */
const NETWORK_CODES = new Set([
  ...['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'],
  ...['ERR_SOCKET_CONNECTION_TIMEOUT', 'UND_ERR_SOCKET', 'ERR_BAD_RESPONSE'],
]);

/**
 * The one retry rule: 429 and 5xx and network errors are retried, everything else is final.
 * `status` is undefined for errors that never got an HTTP answer.
 */
export function isRetryable(status: number | undefined, err: unknown): boolean {
  if (status !== undefined) return status === 429 || status >= 500;
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e?.name === 'TimeoutError') return true;
  return typeof e?.message === 'string' && /socket hang up|timeout|ECONNRESET|network/i.test(e.message);
}

/** What an AWS SDK v3 error carries. */
export interface AwsErrorShape {
  name?: string;
  message?: string;
  /** The awsQuery error code (SNS: "AuthorizationError", "InvalidParameter"). */
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The AWS error behind `err`: for a spent retry budget, the last answer before it. */
export const awsAnswer = (err: unknown) => lastAnswer(err) as AwsErrorShape | undefined;

/** Throttling and internal-error names of the AWS services the rotator calls (answered 400 by some). */
const AWS_RETRIED = new Set([
  ...['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestThrottled'],
  ...['KMSThrottlingException', 'KmsThrottled', 'InternalServiceError', 'InternalError'],
]);

/** The one retry rule for an AWS SDK error: those names, then the HTTP and network rule. */
export function awsRetryable(err: unknown): boolean {
  const e = awsAnswer(err);
  return AWS_RETRIED.has(e?.name ?? '') || isRetryable(e?.$metadata?.httpStatusCode, err);
}

/** Keys an AWS client is handed instead of the SDK's provider chain; a session token goes with them. */
export interface AwsStaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * The environment's keys, for a client pointed at its own `endpoint` (a VPC endpoint, the emulators);
 * without an endpoint, the SDK's default chain reads the same variables. Temporary credentials (a
 * Lambda's role, an assumed role) are refused without their AWS_SESSION_TOKEN, so it goes along.
 */
export function endpointCredentials(
  env: Readonly<Record<string, string | undefined>>,
  endpoint: string | undefined,
): { credentials?: AwsStaticCredentials } {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: token } = env;
  if (!accessKeyId || !secretAccessKey || !endpoint) return {};
  return { credentials: { accessKeyId, secretAccessKey, ...(token ? { sessionToken: token } : {}) } };
}

/**
 * An AWS SDK v3 client's options: the SDK's retries off (one retry policy: ours) and a per-request
 * timeout, which without throwOnRequestTimeout the SDK only logs while it keeps waiting.
 */
export function awsClientOptions(options: {
  region: string;
  timeoutMs: number;
  endpoint?: string | undefined;
  /** Tests pass static credentials; production uses the default provider chain (the Lambda role). */
  credentials?: AwsStaticCredentials | undefined;
}) {
  const { region, timeoutMs, endpoint, credentials } = options;
  return {
    region,
    maxAttempts: 1,
    requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs, throwOnRequestTimeout: true },
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  };
}

/** The error that tells what happened: for a spent retry budget, the last answer before it. */
export const lastAnswer = (err: unknown): unknown => (err instanceof RetryBudgetError && err.cause ? err.cause : err);

/** The retry budget ran out, possibly with a call still in flight (which was abandoned). */
export class RetryBudgetError extends Error {
  override name = 'RetryBudgetError';
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly budgetMs: number,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
    super(`no answer within the retry budget of ${budgetMs / 1000} s (${tries}; retry.budgetSeconds)`, options);
  }
}

/** Rejects when `signal` aborts, whether or not `promise` ever settles. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * Runs `fn` with backoff and jitter until it succeeds, `retryable` says stop, the attempts run out or
 * the time budget is spent. The budget bounds wall time including a call in flight: `fn` gets a signal
 * that aborts at the budget (or when `signal` aborts), and the wait for it ends then even if `fn`
 * ignores the signal. The last error is rethrown unchanged for the caller to translate; a spent budget
 * throws RetryBudgetError, an outer abort throws the abort's reason.
 */
export async function withRetry<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  policy: RetryPolicy,
  retryable: (err: unknown) => boolean,
  signal?: AbortSignal,
): Promise<T> {
  const budget = timeoutSignal(policy.budgetMs, signal);
  const combined = budget.signal;
  let attempts = 0;
  let last: unknown;
  try {
    return await pRetry(
      async () => {
        attempts++;
        try {
          return await untilAborted(fn(combined), combined);
        } catch (err) {
          if (combined.aborted) throw err;
          last = err;
          if (!retryable(err)) throw new AbortError(err instanceof Error ? err : new Error(String(err)));
          throw err;
        }
      },
      {
        retries: Math.max(0, policy.attempts - 1),
        minTimeout: policy.minDelayMs,
        maxTimeout: Math.max(policy.minDelayMs, 5_000),
        factor: 2,
        randomize: true,
        maxRetryTime: policy.budgetMs,
        signal: combined,
      },
    );
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (budget.timedOut) throw new RetryBudgetError(policy.budgetMs, attempts, { cause: last });
    // p-retry wraps the original in AbortError; hand back what the SDK threw.
    throw err instanceof AbortError ? err.originalError : err;
  } finally {
    budget.release();
  }
}
