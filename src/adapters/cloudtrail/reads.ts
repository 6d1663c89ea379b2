import { CloudTrailClient, LookupEventsCommand, type LookupEventsCommandOutput } from '@aws-sdk/client-cloudtrail';
import type { StoredSecret } from '../../core/ports.js';
import type { ReadLog } from '../../core/reads.js';
import { errorMessage } from '../../errors.js';
import { redact } from '../../redact.js';
import {
  awsClientOptions,
  awsRetryable,
  RetryBudgetError,
  withRetry,
  type AwsErrorShape,
  type AwsStaticCredentials,
  type RetryPolicy,
} from '../retry.js';
import { isAbout, parseRead, type ParsedRead } from './events.js';

/**
 * GetSecretValue events for the CloudTrail gate. LookupEvents takes one attribute per call, 50 events a
 * page, newest first, two calls per second per account and Region: so a run walks
 * EventName=GetSecretValue once over the widest window any target asks for (extended backwards when a
 * later target needs more) and each target filters by its secret. One instance per run (src/wiring.ts).
 */

export interface CloudTrailReadsOptions {
  region: string;
  endpoint?: string;
  timeoutMs: number;
  /** Pages one run reads in all; beyond it the evidence is incomplete and the gate waits. */
  maxPages: number;
  requestsPerSecond: number;
  retry: RetryPolicy;
  now: () => number;
  signal?: AbortSignal;
  credentials?: AwsStaticCredentials;
}

export interface CloudTrailReads {
  reads(secret: StoredSecret, fromMs: number): Promise<ReadLog>;
  close(): void;
}

/** The run's page budget is spent: the evidence would be incomplete. */
class PageBudgetError extends Error {
  override name = 'PageBudgetError';
}

/** Event history keeps 90 days; a start before that is refused, so the walk starts a little after. */
const RETENTION_MS = 90 * 86_400_000 - 60_000;

function problemOf(err: unknown): string {
  if (err instanceof PageBudgetError) return err.message;
  // A spent budget without any answer names none.
  const { name, $metadata } = ((err instanceof RetryBudgetError ? err.cause : err) ?? {}) as AwsErrorShape;
  if (name === 'AccessDeniedException' || $metadata?.httpStatusCode === 403)
    return 'LookupEvents was refused: grant the rotator cloudtrail:LookupEvents on Resource "*"';
  const what = redact(errorMessage(err));
  return `LookupEvents failed (${name ?? 'no answer'}: ${what}); the gate waits and the next run looks again`;
}

/**
 * When this process may next call LookupEvents, per Region. Process-wide: the quota is the account's,
 * and a daemon's runs (each with its own instance) follow each other closely.
 */
const nextCallAt = new Map<string, number>();

export function cloudTrailReads(options: CloudTrailReadsOptions): CloudTrailReads {
  const client = new CloudTrailClient(awsClientOptions(options));
  const spacingMs = 1000 / options.requestsPerSecond;
  let pagesRead = 0;
  /** The walk so far: events from `fromMs` to `toMs` (fixed by the first lookup of the run). */
  let covered: { fromMs: number; toMs: number; reads: Map<string, ParsedRead> } | undefined;
  let failed: string | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  /** Keeps this process under the account's quota; the SDK's own retries are off, ours back off on throttling. */
  const paced = async () => {
    const at = Math.max(performance.now(), nextCallAt.get(options.region) ?? 0);
    nextCallAt.set(options.region, at + spacingMs);
    const wait = at - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  };

  const page = (startMs: number, endMs: number, token: string | undefined) =>
    withRetry(
      async (signal): Promise<LookupEventsCommandOutput> => {
        await paced();
        return client.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'GetSecretValue' }],
            StartTime: new Date(startMs),
            EndTime: new Date(endMs),
            MaxResults: 50,
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal: signal },
        );
      },
      options.retry,
      awsRetryable,
      options.signal,
    );

  /** Reads [startMs, endMs] into `into`; throws past the run's page budget. */
  async function walk(startMs: number, endMs: number, into: Map<string, ParsedRead>): Promise<void> {
    let token: string | undefined;
    do {
      if (pagesRead >= options.maxPages) {
        const why = `more than cloudtrail.maxPages (${options.maxPages}) pages of GetSecretValue events in this run`;
        throw new PageBudgetError(`${why}; raise it or shorten gate.cloudtrail.lookbackDays`);
      }
      pagesRead++;
      const answer = await page(startMs, endMs, token);
      for (const e of answer.Events ?? []) {
        const read = e.EventId ? parseRead(e.EventId, e.CloudTrailEvent, e.EventTime?.getTime() ?? 0) : undefined;
        if (read) into.set(read.eventId, read);
      }
      token = answer.NextToken;
    } while (token);
  }

  async function extend(fromMs: number): Promise<void> {
    if (failed) return;
    try {
      if (!covered) {
        const toMs = options.now();
        const reads = new Map<string, ParsedRead>();
        await walk(fromMs, toMs, reads);
        covered = { fromMs, toMs, reads };
      } else if (fromMs < covered.fromMs) {
        // EndTime is inclusive: the second at the seam is read twice and deduplicated by EventId.
        await walk(fromMs, covered.fromMs, covered.reads);
        covered.fromMs = fromMs;
      }
    } catch (err) {
      failed = problemOf(err);
    }
  }

  return {
    async reads(secret, wantedFromMs) {
      const fromMs = Math.max(wantedFromMs, options.now() - RETENTION_MS);
      const done = queue.then(() => extend(fromMs));
      queue = done;
      await done;
      if (failed) return { problem: failed };
      if (!covered) return { problem: 'LookupEvents was not run' };
      const arn = secret.identity;
      const reads = [...covered.reads.values()].filter((r) => isAbout(r, { arn, name: secret.secretId }));
      return { reads, fromMs: covered.fromMs };
    },
    close: () => client.destroy(),
  };
}
