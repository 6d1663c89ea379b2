import { sqsQueue, type MessageQueue } from '../adapters/queue/sqs.js';
import type { RotatorConfig } from '../config/types.js';
import type { Runtime } from '../core/runtime.js';
import { MAX_TARGETS_PER_MESSAGE, planShards, shardBody } from '../engine/shards.js';
import { scheduledTargetNames } from '../engine/targets.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { redact } from '../redact.js';

/**
 * With ROTATOR_SHARD_QUEUE_URL set, the scheduled function sends the scheduled targets' names to that
 * queue instead of reconciling them (README "Sharding a large fleet across invocations"; ./shard-worker.ts).
 */

type ShardSettings = NonNullable<ReturnType<typeof shardSettings>>;
const DEFAULT_TARGETS_PER_MESSAGE = 20;

/** The scheduled function's sharding switch; undefined (no sharding) when ROTATOR_SHARD_QUEUE_URL is unset. */
export function shardSettings(env: NodeJS.ProcessEnv) {
  const text = env.ROTATOR_SHARD_QUEUE_URL?.trim();
  if (!text) return undefined;
  const problems: ConfigIssue[] = [];
  const url = URL.canParse(text) ? new URL(text) : undefined;
  const loopback = url !== undefined && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  const https = url?.protocol === 'https:' || (url?.protocol === 'http:' && loopback);
  if (!url || !https || !/^\/\d{12}\/[\w-]{1,80}$/.test(url.pathname))
    problems.push({
      path: 'ROTATOR_SHARD_QUEUE_URL',
      message:
        'must be the URL of a standard SQS queue, ' +
        'https://sqs.<region>.amazonaws.com/<account>/<queue> (serverless.yml sets it ' +
        'with --sharding on)',
    });
  const perText = env.ROTATOR_SHARD_TARGETS_PER_MESSAGE?.trim();
  const perMessage = !perText ? DEFAULT_TARGETS_PER_MESSAGE : /^\d+$/.test(perText) ? Number(perText) : NaN;
  if (!(perMessage >= 1 && perMessage <= MAX_TARGETS_PER_MESSAGE)) {
    const range = `must be a whole number from 1 to ${MAX_TARGETS_PER_MESSAGE}, not "${perText}"`;
    const fix = `unset it for the default ${DEFAULT_TARGETS_PER_MESSAGE}`;
    problems.push({ path: 'ROTATOR_SHARD_TARGETS_PER_MESSAGE', message: `${range}; ${fix}` });
  }
  const region = url?.hostname.match(/^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/)?.[1] ?? env.AWS_REGION;
  if (!region) problems.push({ path: 'AWS_REGION', message: 'must be set when the queue URL does not name a region' });
  if (problems.length > 0) throw new ConfigError(problems, 'the environment');
  return { queueUrl: url!.href, region: region!, targetsPerMessage: perMessage };
}

/** The SQS queue the settings name, with the configuration's timeout and retry policy and the run's deadline. */
export function shardQueue(config: RotatorConfig, settings: ShardSettings, signal: AbortSignal): MessageQueue {
  return sqsQueue({
    queueUrl: settings.queueUrl,
    region: settings.region,
    timeoutMs: config.stores.aws?.timeoutMs ?? 10_000,
    retry: config.retry,
    signal,
  });
}

/** A shard send that left messages behind; the message names what was not sent. */
export class ShardSendError extends Error {
  override name = 'ShardSendError';
}

const listed = (names: readonly string[], max = 20) =>
  names.slice(0, max).join(', ') + (names.length > max ? ` and ${names.length - max} more` : '');

/** The scheduled run, sharded: every scheduled target's name goes out in a message; nothing is reconciled here. */
export async function sendShards(
  config: RotatorConfig,
  runtime: Runtime,
  settings: ShardSettings,
  queue: MessageQueue,
  run: string,
): Promise<{ messages: number; targets: number }> {
  const log = runtime.logger.child({ step: 'shard', run });
  const names = await scheduledTargetNames(config, runtime);
  const plan = planShards(config, names, settings.targetsPerMessage);
  const bodies = plan.map((targets, i) => shardBody({ run, part: i + 1, parts: plan.length, targets }));
  const unsent = await queue.send(bodies);
  const queueName = settings.queueUrl.split('/').pop();
  if (unsent.length > 0) {
    for (const u of unsent)
      log.error(
        `message ${u.index + 1}/${plan.length} not sent (targets ${plan[u.index]!.join(', ')}): ${redact(u.why)}`,
      );
    const lost = unsent.flatMap((u) => plan[u.index]!);
    const what = `${unsent.length} of ${plan.length} shard messages were not sent to ${queueName}`;
    const then = `so ${lost.length} targets wait for the next scheduled run: ${listed(lost)}`;
    throw new ShardSendError(redact(`${what}, ${then}. First reason: ${unsent[0]!.why}`));
  }
  log.info(`sent ${names.length} targets in ${plan.length} messages to ${queueName}`);
  return { messages: plan.length, targets: names.length };
}
