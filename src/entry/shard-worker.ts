import type { RotatorConfig } from '../config/types.js';
import type { TargetResult } from '../core/outcome.js';
import type { Runtime } from '../core/runtime.js';
import { rotateTargets } from '../engine/commands.js';
import { parseShardBody } from '../engine/shards.js';
import { resolveTargets, unknownTargetNames } from '../engine/targets.js';
import { redact } from '../redact.js';

/**
 * The shard worker: a batch of SQS messages from the scheduled function (entry/shard.ts), their targets
 * reconciled in one run with the invocation's deadline. It answers with a partial batch response:
 * which message is delivered again, dropped or done is README "Sharding a large fleet across
 * invocations" (a failed target waits for the next schedule; a redelivery would only repeat it).
 */

/** One record of what Lambda's SQS event source delivers (Lambda Developer Guide, "Using Lambda with Amazon SQS"). */
export interface SqsRecord {
  messageId: string;
  receiptHandle?: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string; SentTimestamp?: string };
  eventSource: 'aws:sqs';
  eventSourceARN?: string;
}

export interface SqsEvent {
  Records: SqsRecord[];
}

export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** Any event from SQS. A record in it that lacks a field is the worker's to report, never a scheduled event. */
export function isSqsEvent(event: unknown): event is SqsEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return (
    Array.isArray(records) &&
    records.some(
      (r) => typeof r === 'object' && r !== null && (r as { eventSource?: unknown }).eventSource === 'aws:sqs',
    )
  );
}

/** Deferred for want of time (not for a window or a pause, which a new delivery would not change). */
const unfinished = (r: TargetResult) =>
  r.kind === 'deferred' && (r.reason === 'out-of-time' || r.reason === 'stopped' || r.reason === undefined);

export async function runShards(
  event: SqsEvent,
  config: RotatorConfig,
  runtime: Runtime,
  options: { signal: AbortSignal },
): Promise<BatchResponse> {
  const jobs: { messageId: string; targets: string[] }[] = [];
  for (const [i, record] of event.Records.entries()) {
    if (typeof record?.messageId !== 'string' || typeof record.body !== 'string') {
      runtime.logger.error(`dropped record ${i} of the SQS event: it has no messageId or no body`, { step: 'shard' });
      continue;
    }
    const log = runtime.logger.child({
      step: 'shard',
      messageId: record.messageId,
      receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 0),
    });
    const parsed = parseShardBody(record.body);
    if (!parsed.ok) {
      const size = `${Buffer.byteLength(record.body)} bytes`;
      const what = `dropped a message that is not a shard message (${parsed.problem}; ${size})`;
      log.error(`${what}; only the scheduled function should send to this queue`);
      continue;
    }
    const unknown = unknownTargetNames(config, parsed.targets);
    if (unknown.length > 0) {
      const dropped = `dropped ${unknown.length} name${unknown.length > 1 ? 's' : ''} no configured target has`;
      const why = '(the configuration changed after the message was sent)';
      log.warn(`${dropped}: ${redact(unknown.join(', '))} ${why}`, { ...(parsed.run ? { run: parsed.run } : {}) });
    }
    const targets = parsed.targets.filter((n) => !unknown.includes(n));
    if (targets.length > 0) jobs.push({ messageId: record.messageId, targets });
  }
  // Never rotate() with no names: that would mean every target.
  const names = [...new Set(jobs.flatMap((j) => j.targets))];
  if (names.length === 0) return { batchItemFailures: [] };

  const resolved = await resolveTargets(config, runtime, names, true);
  const results = await rotateTargets(resolved, runtime, { ...options, scheduled: true });
  const byName = new Map(results.map((r) => [r.target, r]));
  // A name that stands for several targets (sent when its fleet could not be listed) is finished
  // when they are, or when its own result (the listing failed again) is in.
  const again = jobs.filter((j) =>
    j.targets.some((n) => {
      const rs = (resolved.covers.get(n) ?? [n]).flatMap((t) => byName.get(t) ?? []);
      return rs.length === 0 ? !resolved.covers.has(n) : rs.some(unfinished);
    }),
  );
  const summary = results.map((r) => `${r.target}: ${r.kind}`).join(' | ');
  const attention = results.filter((r) => r.kind === 'failed' || r.kind === 'stuck').map((r) => r.target);
  const late = again.length > 0 ? `; out of time for ${again.length} message(s), which SQS delivers again` : '';
  const line = `shard run of ${names.length} targets from ${jobs.length} messages: ${summary}${late}`;
  const then = 'alerted; the next schedule retries them, the messages are not delivered again';
  if (attention.length > 0)
    runtime.logger.error(`${line}; needs attention: ${attention.join(', ')} (${then})`, { step: 'summary' });
  else runtime.logger.info(line, { step: 'summary' });
  return { batchItemFailures: again.map((j) => ({ itemIdentifier: j.messageId })) };
}
