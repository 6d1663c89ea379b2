import type { Alert } from '../../core/alert.js';
import type { AlertChannel } from '../../core/runtime.js';
import { RemoteError } from '../../errors.js';
import { redact } from '../../redact.js';
import { isRetryable, lastAnswer, RetryBudgetError, withRetry } from '../retry.js';
import { timeoutSignal } from '../../util/abort.js';
import { KiB, textUpTo } from '../../util/bounded-body.js';

/**
 * One delivery, retried (429, 5xx, network; a 4xx or redirect is final) within the channel's attempts,
 * each within its timeout, all within the run's alert budget. Failures name the channel, never its URL or key.
 */

export interface DeliveryPolicy {
  /** Per attempt. */
  timeoutMs: number;
  attempts: number;
  minDelayMs: number;
}

/** An HTTP answer that is not 2xx; `body` is the first few hundred characters of what came back. */
export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}`);
  }
}

/** What a channel's factory gets from the configuration. */
export interface ChannelBase {
  name: string;
  events: ReadonlySet<string>;
  policy: DeliveryPolicy;
}

type Classify = (err: unknown) => { retryable: boolean; code?: string | number; status?: number; why: string };

/** A channel whose every send is one delivery of `attempt` (see `deliver`). */
export function deliveringChannel(
  type: AlertChannel['type'],
  { name, events, policy }: ChannelBase,
  attempt: (alert: Alert, signal: AbortSignal) => Promise<unknown>,
  classify: Classify,
): AlertChannel {
  const channel = { name, type };
  return {
    ...channel,
    events,
    async send(alert, signal) {
      await deliver(channel, policy, signal, (s) => attempt(alert, s), classify);
    },
  };
}

/** Runs one delivery with the channel's retries, turning whatever stopped it into a RemoteError. */
export async function deliver<T>(
  channel: { name: string; type: string },
  policy: DeliveryPolicy,
  signal: AbortSignal,
  attempt: (signal: AbortSignal) => Promise<T>,
  classify: Classify,
): Promise<T> {
  const what = `alert channel "${channel.name}" (${channel.type})`;
  const budget = 'the alert budget (alerts.budgetSeconds)';
  const over = (how: string, options?: { cause: unknown }) =>
    new RemoteError('alert', channel.type, { retryable: true }, `${what}: ${how}`, options);
  if (signal.aborted) throw over(`not sent: ${budget} was spent`);
  try {
    return await withRetry(
      async (s) => {
        const timeout = timeoutSignal(policy.timeoutMs, s);
        try {
          return await attempt(timeout.signal);
        } finally {
          timeout.release();
        }
      },
      // The budget of one delivery: every attempt at its timeout plus backoff; the run's budget bounds it too.
      {
        attempts: policy.attempts,
        budgetMs: policy.attempts * (policy.timeoutMs + 5_000),
        minDelayMs: policy.minDelayMs,
      },
      (err) => classify(err).retryable,
      signal,
    );
  } catch (err) {
    if (signal.aborted) throw over(`not delivered: ${budget} ran out`, { cause: err });
    const c = classify(lastAnswer(err));
    const spent = err instanceof RetryBudgetError ? ` (${err.message})` : '';
    throw new RemoteError(
      'alert',
      channel.type,
      {
        retryable: c.retryable,
        ...(c.status !== undefined ? { status: c.status } : {}),
        ...(c.code !== undefined ? { code: c.code } : {}),
      },
      redact(`${what}: not delivered: ${c.why}${spent}`),
      { cause: err },
    );
  }
}

/** Of a receiver's answer, only this much is read (the first 300 characters are kept); the rest is cancelled. */
export const ANSWER_READ_BYTES = 4 * KiB;

/** POSTs `body`; `headers` are made for each attempt (a signature carries the attempt's time). */
export async function post(
  url: string,
  body: string,
  headers: () => Record<string, string>,
  signal: AbortSignal,
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'twilio-key-rotator', ...headers() },
    body,
    signal,
    // A redirect is a failure (Standard Webhooks): update the URL instead of sending alerts elsewhere.
    redirect: 'manual',
  });
  // A receiver answering gigabytes costs 4 KiB: the answer is read that far, then cancelled.
  const text = (await textUpTo(res, ANSWER_READ_BYTES)).text.slice(0, 300);
  if (res.status < 200 || res.status > 299) throw new HttpStatusError(res.status, text);
  return { status: res.status, text };
}

/** The rule for HTTP channels: 429, 5xx and network errors are retried; any other answer is final. */
export function classifyHttp(
  err: unknown,
  explain: (e: HttpStatusError) => string = () => '',
): { retryable: boolean; status?: number; why: string } {
  if (err instanceof HttpStatusError) {
    const extra = explain(err);
    const redirect = err.status >= 300 && err.status < 400 ? ': a redirect; configure the final URL' : '';
    return {
      retryable: isRetryable(err.status, err),
      status: err.status,
      why: `HTTP ${err.status}${extra ? ` ${extra}` : ''}${redirect}`,
    };
  }
  const e = err as { name?: string; cause?: { code?: string }; code?: string };
  if (e?.name === 'TimeoutError') return { retryable: true, why: 'no answer within timeoutSeconds' };
  const code = e?.cause?.code ?? e?.code;
  return {
    retryable: isRetryable(undefined, err) || code !== undefined,
    why: `unreachable (${code ?? e?.name ?? 'error'})`,
  };
}
