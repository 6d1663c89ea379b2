import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { awsStore } from '../adapters/secrets/aws-store.js';
import type { RotatorConfig } from '../config/types.js';
import { exitCodeFor, type TargetResult } from '../core/outcome.js';
import { isRotationEvent, rotationStep, type RotationEvent } from '../engine/protocol.js';
import { rotateTargets } from '../engine/commands.js';
import { resolveTargets } from '../engine/targets.js';
import type { Logger, Runtime } from '../core/runtime.js';
import { ConfigError, errorMessage } from '../errors.js';
import { createJsonLogger } from '../json-log.js';
import { redact } from '../redact.js';
import { createRuntime } from '../wiring.js';

/**
 * AWS Lambda entry points.
 *  - `handler` with an EventBridge scheduled event: the same reconcile as `rotate`, for every
 *    target. One AbortSignal per invocation, at the remaining time less the safety margin, cuts
 *    the requests in flight and stops new steps.
 *  - `handler` with {Step, SecretId, ClientRequestToken}: one step of Secrets Manager's rotation
 *    protocol (engine/protocol.ts hands it to the target's credential kind).
 *  - `handler` with a scheduled event and ROTATOR_SHARD_QUEUE_URL set: the scheduled targets' names
 *    go to that queue in messages (entry/shard.ts) instead of being reconciled here.
 *  - `shardHandler` (and `handler`) with an SQS event: the shard worker reconciles the messages'
 *    targets and returns the partial batch response for those it ran out of time for (entry/shard-worker.ts).
 * Configuration: the bundle carries config/rotator.yaml compiled to JSON at build time and, when the
 * build could validate it, validated and converted with the values of the variables it read there
 * (scripts/build-lambda.mjs). Where this environment holds the same, that is the configuration, and
 * zod is never loaded; otherwise it is validated here, with ${ENV} substituted, as the CLI would.
 * Run from source, it reads TWILIO_KEY_ROTATOR_CONFIG.
 * Failures throw, so Lambda's Errors metric, the failure destination and Secrets Manager's retries
 * all see them.
 */

/** Replaced by scripts/build-lambda.mjs with the configuration object. */
declare const __ROTATOR_CONFIG__: unknown;
/** Replaced by scripts/build-lambda.mjs with the configuration it validated, or undefined. */
declare const __ROTATOR_COMPILED__: CompiledConfig | undefined;

/**
 * The build's validated configuration: `env`, each ${NAME} variable it read and its value (null:
 * unset); `set`, the variables that hold secrets (probe headers, alert channels), which were set.
 */
export interface CompiledConfig {
  config: RotatorConfig;
  env: Record<string, string | null>;
  set: string[];
}

/** The variables whose values here differ from the build's, so that its validation does not hold. */
export function changedSinceBuild(compiled: CompiledConfig, env: NodeJS.ProcessEnv): string[] {
  return [
    ...Object.entries(compiled.env).flatMap(([name, value]) => ((env[name] || null) === value ? [] : [name])),
    ...compiled.set.filter((name) => !env[name]),
  ];
}

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
  awsRequestId?: string;
}

/** Lambda's longest timeout (15 minutes): a larger margin would never let a run start. */
const MAX_MARGIN_MS = 900_000;
const UNSET_IT = 'unset it for the default 20000';

/**
 * How long before the invocation's timeout the run's signal aborts: requests in flight (Twilio, AWS,
 * probes) are cut, nothing new starts, and the handler still has this long to log and return. An
 * invalid value is a start-up error, never a silently disabled deadline.
 */
export function safetyMarginMs(text: string | undefined): number {
  if (text === undefined || text === '') return 20_000;
  const ms = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(ms <= MAX_MARGIN_MS))
    throw new ConfigError(
      [
        {
          path: 'ROTATOR_SAFETY_MARGIN_MS',
          message: `must be a whole number of milliseconds from 0 to ${MAX_MARGIN_MS}, not "${text}"; ${UNSET_IT}`,
        },
      ],
      'the environment',
    );
  return ms;
}

const SAFETY_MARGIN_MS = safetyMarginMs(process.env.ROTATOR_SAFETY_MARGIN_MS);

/**
 * The shard code (entry/shard.ts, entry/shard-worker.ts, the SQS adapter). A function that shards
 * (ROTATOR_SHARD_QUEUE_URL set) or works shards (its handler is shardHandler: Lambda's _HANDLER) starts
 * loading it at init; the others, whose events never need it, do not read it at all. Not awaited here:
 * its chunks import this module (scripts/build-lambda.mjs), whose evaluation must end first.
 */
const loadShardCode = async () => ({ ...(await import('./shard.js')), ...(await import('./shard-worker.js')) });
let shardCode: ReturnType<typeof loadShardCode> | undefined;
const shards = () => (shardCode ??= loadShardCode());
const shardsSet = () => Boolean(process.env.ROTATOR_SHARD_QUEUE_URL?.trim());
// A failure here is the first event's, which awaits the same promise.
if (shardsSet() || /\.shardHandler$/.test(process.env._HANDLER ?? '')) shards().catch(() => undefined);
/** What an SQS event has; shard-worker.ts's isSqsEvent decides. */
const hasRecords = (event: unknown) => Array.isArray((event as { Records?: unknown } | null)?.Records);

let cached: { config: RotatorConfig; logger: Logger } | undefined;

/**
 * The configuration and logger live as long as the execution environment; the runtime is made per
 * invocation, because its adapters carry that invocation's deadline.
 */
async function setup(signal: AbortSignal): Promise<{ config: RotatorConfig; runtime: Runtime }> {
  if (!cached) {
    const logger = createJsonLogger({ stream: process.stdout });
    const compiled = typeof __ROTATOR_COMPILED__ !== 'undefined' ? __ROTATOR_COMPILED__ : undefined;
    const changed = compiled && changedSinceBuild(compiled, process.env);
    if (changed?.length)
      logger.info(`validating the configuration here: ${changed.join(', ')} differ from the build's`, {
        step: 'config',
      });
    const config =
      compiled && changed?.length === 0
        ? compiled.config
        : typeof __ROTATOR_CONFIG__ !== 'undefined'
          ? await validated(__ROTATOR_CONFIG__)
          : await configFromFile();
    cached = { config, logger };
  }
  // Metric lines (CloudWatch EMF) go to the function's log, where CloudWatch turns them into metrics.
  const writeMetrics = (line: string) => void process.stdout.write(line);
  return {
    config: cached.config,
    runtime: createRuntime(cached.config, { logger: cached.logger, signal, writeMetrics, awsStore }),
  };
}

/** The reason the deadline gives: what stopped, and which knob moves it. */
class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/** One signal per invocation: it aborts when the remaining time minus the safety margin has passed. */
function deadline(context: LambdaContext): { signal: AbortSignal; clear: () => void } {
  const inMs = Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
  const controller = new AbortController();
  const marginVar = `ROTATOR_SAFETY_MARGIN_MS=${SAFETY_MARGIN_MS}`;
  const reason = new DeadlineError(
    `out of time: the invocation's deadline (its timeout less ${marginVar}) was reached`,
  );
  const timer = setTimeout(() => controller.abort(reason), inMs);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** The bundled configuration, validated here: zod (deferred in the bundle) and the validator load now. */
async function validated(raw: unknown): Promise<RotatorConfig> {
  const zod = (await import('zod/mini')) as unknown as { loadZod?: () => Promise<void> };
  await zod.loadZod?.();
  const { parseConfigObject } = await import('../config/validate.js');
  const baseDir = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
  return parseConfigObject(raw, { source: 'bundled config/rotator.yaml', baseDir });
}

/** Outside the bundle only. The specifier is computed so the bundler leaves the YAML reader out. */
async function configFromFile(): Promise<RotatorConfig> {
  const loader = '../config/load.js';
  const { configPathFromEnv, loadConfig } = (await import(loader)) as typeof import('../config/load.js');
  const warn = (message: string) => void process.stderr.write(`twilio-key-rotator: warning: ${message}\n`);
  return loadConfig(configPathFromEnv(process.env, warn) ?? join(process.cwd(), 'config', 'rotator.yaml'));
}

function resultDetail(r: TargetResult): string {
  if (r.kind === 'failed') return ` at ${r.step}: ${r.error}`;
  if (r.kind === 'stuck' || r.kind === 'waiting') return ` (${r.on.join('; ')})`;
  return '';
}

function summary(results: readonly TargetResult[]): string {
  return results.map((r) => `${r.target}: ${r.kind}${resultDetail(r)}`).join(' | ');
}

export async function handler(event: unknown, context: LambdaContext): Promise<unknown> {
  const due = deadline(context);
  let runtime: Runtime | undefined;
  try {
    let config: RotatorConfig;
    ({ config, runtime } = await setup(due.signal));
    if (isRotationEvent(event)) return await rotationHandler(event, config, runtime);
    const until = { signal: due.signal };
    // Never mistaken for a schedule: a worker wired to the queue must not send the fleet to it again.
    if (hasRecords(event)) {
      const { isSqsEvent, runShards } = await shards();
      if (isSqsEvent(event)) return await runShards(event, config, runtime, until);
    }
    const sharding = shardsSet() ? (await shards()).shardSettings(process.env) : undefined;
    if (sharding) {
      const { sendShards, shardQueue } = await shards();
      const queue = shardQueue(config, sharding, due.signal);
      const sent = await sendShards(config, runtime, sharding, queue, context.awsRequestId ?? randomUUID());
      return { sharded: sent };
    }
    const results = await rotateTargets(await resolveTargets(config, runtime), runtime, until);
    runtime.logger.info(`scheduled run: ${summary(results)}`, { step: 'summary' });
    if (exitCodeFor(results) !== 0) throw new Error(redact(`rotation needs attention: ${summary(results)}`));
    return { targets: results.map((r) => ({ target: r.target, kind: r.kind })) };
  } finally {
    due.clear();
    // The runtime is per invocation: its connections would only sit in a frozen environment.
    runtime?.close?.();
  }
}

/** The shard worker's entry (serverless.yml `shard`): SQS events only, so a mis-wired trigger fails loudly. */
export async function shardHandler(event: unknown, context: LambdaContext): Promise<unknown> {
  if (!(await shards()).isSqsEvent(event))
    throw new Error('shardHandler takes the events of an SQS event source (Records from aws:sqs), nothing else');
  return handler(event, context);
}

async function rotationHandler(
  event: RotationEvent,
  config: RotatorConfig,
  runtime: Runtime,
): Promise<{ step: string; result: string }> {
  const log = runtime.logger.child({ step: event.Step, rotationId: event.ClientRequestToken });
  try {
    const result = await rotationStep(event, config, runtime);
    log.info(result);
    return { step: event.Step, result };
  } catch (err) {
    const message = redact(errorMessage(err));
    log.error(`rotation step ${event.Step} failed: ${message}`);
    // Only the redacted message leaves the process; an SDK error as `cause` could carry request details.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(message);
  }
}
