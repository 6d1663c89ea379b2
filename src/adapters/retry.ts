import pRetry, { AbortError } from 'p-retry';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** No new attempt starts after this much time since the first. */
  budgetMs: number;
  minDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, budgetMs: 30_000, minDelayMs: 200 };

/** Network-level failures worth another attempt: the request may not have reached the server. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  'ERR_BAD_RESPONSE',
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

/**
 * Runs `fn` with backoff and jitter until it succeeds, `isFinal` says stop, the attempts run out or
 * the time budget is spent. The last error is rethrown unchanged for the caller to translate.
 */
export async function withRetry<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  retryable: (err: unknown) => boolean,
  signal?: AbortSignal,
): Promise<T> {
  return pRetry(
    async () => {
      try {
        return await fn();
      } catch (err) {
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
      ...(signal ? { signal } : {}),
    },
  ).catch((err: unknown) => {
    // p-retry wraps the original in AbortError; hand back what the SDK threw.
    throw err instanceof AbortError ? err.originalError : err;
  });
}
