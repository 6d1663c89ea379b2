import type { SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../errors.js';
import {
  awsAnswer,
  awsClientOptions,
  awsRetryable,
  RetryBudgetError,
  withRetry,
  type AwsStaticCredentials,
  type RetryPolicy,
} from '../retry.js';
import { boundAnswers, MiB } from '../../util/bounded-body.js';

/**
 * SQS SendMessageBatch (10 entries, 256 KiB a call). Our retries apply per call (throttling, 5xx, network)
 * and per entry (one SQS failed on its side goes again, `retry.attempts` in all; a sender's fault does not).
 * The SDK is loaded on first use, so an invocation that sends nothing never reads it.
 */

export interface SqsQueueOptions {
  queueUrl: string;
  region: string;
  /** Per request; the SDK's own default is to wait forever. */
  timeoutMs: number;
  retry: RetryPolicy;
  signal?: AbortSignal;
  credentials?: AwsStaticCredentials;
}

/** What could not be sent: the body's index in the call, and why (an SQS code and message, never the body). */
export interface Unsent {
  index: number;
  why: string;
}

export interface MessageQueue {
  /** Sends every body, in order; resolves with those that were not sent. Throws only for a bad body. */
  send(bodies: readonly string[]): Promise<Unsent[]>;
}

const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 262_144;

function describe(err: unknown, queueUrl: string): string {
  const e = awsAnswer(err);
  const status = e?.$metadata?.httpStatusCode;
  const spent = err instanceof RetryBudgetError ? `; ${err.message}` : '';
  const hint =
    e?.name === 'AccessDenied' || e?.name === 'AccessDeniedException'
      ? `; grant sqs:SendMessage on ${queueUrl}`
      : e?.name === 'QueueDoesNotExist'
        ? '; ROTATOR_SHARD_QUEUE_URL names no queue'
        : '';
  const http = status !== undefined ? ` (HTTP ${status})` : '';
  const message = e?.message ? `: ${e.message}` : '';
  return `SQS SendMessageBatch failed: ${e?.name ?? 'error'}${http}${message}${spent}${hint}`;
}

/** The bodies' indexes in consecutive runs of at most 10 bodies and 256 KiB, the limits of one SendMessageBatch. */
export function batchesOf(bodies: readonly string[]): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  let used = 0;
  bodies.forEach((body, i) => {
    const size = Buffer.byteLength(body);
    if (size > MAX_BATCH_BYTES) throw new Error(`message ${i} has ${size} bytes, more than SQS takes (262144)`);
    if (current.length === MAX_ENTRIES || used + size > MAX_BATCH_BYTES) {
      out.push(current);
      current = [];
      used = 0;
    }
    current.push(i);
    used += size;
  });
  if (current.length > 0) out.push(current);
  return out;
}

export function sqsQueue(options: SqsQueueOptions): MessageQueue {
  let client: Promise<{ sqs: SQSClient; Send: typeof SendMessageBatchCommand }> | undefined;
  const connect = () =>
    (client ??= import('@aws-sdk/client-sqs').then((sdk) => ({
      // Requests go to the queue URL's own host, never one the SDK derives elsewhere. A batch's answer
      // lists ten entries at most: anything past 1 MiB is refused unread (util/bounded-body.ts).
      sqs: boundAnswers(
        new sdk.SQSClient(awsClientOptions({ ...options, endpoint: new URL(options.queueUrl).origin })),
        MiB,
        'SQS',
      ),
      Send: sdk.SendMessageBatchCommand,
    })));

  /** One batch: entries SQS failed on its side go again, each round after a backoff; the rest are final. */
  async function sendBatch(bodies: readonly string[], indexes: readonly number[]): Promise<Unsent[]> {
    const { sqs, Send } = await connect();
    let pending = [...indexes];
    const unsent: Unsent[] = [];
    for (let round = 1; pending.length > 0; round++) {
      const Entries = pending.map((i) => ({ Id: `m${i}`, MessageBody: bodies[i]! }));
      const out = await withRetry(
        (signal) => sqs.send(new Send({ QueueUrl: options.queueUrl, Entries }), { abortSignal: signal }),
        options.retry,
        awsRetryable,
        options.signal,
      );
      const again: number[] = [];
      for (const f of out.Failed ?? []) {
        const index = Number(f.Id?.slice(1));
        const why = `SQS refused the message: ${f.Code ?? 'error'}${f.Message ? ` (${f.Message})` : ''}`;
        if (!f.SenderFault && round < options.retry.attempts) again.push(index);
        else unsent.push({ index, why });
      }
      pending = again;
      if (pending.length > 0) await sleep(options.retry.minDelayMs * 2 ** round, undefined, { signal: options.signal });
    }
    return unsent;
  }

  return {
    async send(bodies) {
      const unsent: Unsent[] = [];
      const all = batchesOf(bodies);
      for (const [n, batch] of all.entries()) {
        try {
          unsent.push(...(await sendBatch(bodies, batch)));
        } catch (err) {
          // The queue is not taking messages: the batches after this one would fare no better.
          const why = options.signal?.aborted ? errorMessage(options.signal.reason) : describe(err, options.queueUrl);
          for (const index of batch) unsent.push({ index, why });
          for (const index of all.slice(n + 1).flat()) unsent.push({ index, why: `not tried after: ${why}` });
          break;
        }
      }
      return unsent.sort((a, b) => a.index - b.index);
    },
  };
}
