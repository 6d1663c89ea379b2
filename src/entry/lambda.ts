import { join } from 'node:path';
import { parseConfigObject } from '../config/validate.js';
import type { RotatorConfig } from '../config/types.js';
import { exitCodeFor, type TargetResult } from '../core/outcome.js';
import { isRotationEvent, rotationStep, type RotationEvent } from '../engine/protocol.js';
import { rotate } from '../engine/commands.js';
import { type Runtime } from '../core/runtime.js';
import { errorMessage } from '../errors.js';
import { createLogger } from '../log.js';
import { redact } from '../redact.js';
import { createRuntime } from '../wiring.js';

/**
 * AWS Lambda entry points.
 *  - `handler` with an EventBridge scheduled event: the same reconcile as `rotate`, for every
 *    target, stopping new steps a safety margin before the invocation's deadline.
 *  - `handler` with {Step, SecretId, ClientRequestToken}: one step of Secrets Manager's rotation
 *    protocol (engine/protocol.ts hands it to the target's credential kind).
 * Configuration: the bundle carries config/rotator.yaml compiled to JSON at build time (still
 * validated, and ${ENV} substituted, at start-up); run from source, it reads ROTATOR_CONFIG.
 * Failures throw, so Lambda's Errors metric, the failure destination and Secrets Manager's retries
 * all see them.
 */

/** Replaced by scripts/build-lambda.mjs with the configuration object. */
declare const __ROTATOR_CONFIG__: unknown;

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
  awsRequestId?: string;
}

/** No step starts later than this before the timeout; one step plus its retries fits in it. */
const SAFETY_MARGIN_MS = Number(process.env.ROTATOR_SAFETY_MARGIN_MS ?? 20_000);

let cached: { config: RotatorConfig; runtime: Runtime } | undefined;

async function setup(): Promise<{ config: RotatorConfig; runtime: Runtime }> {
  if (!cached) {
    const config =
      typeof __ROTATOR_CONFIG__ !== 'undefined'
        ? parseConfigObject(__ROTATOR_CONFIG__, {
            source: 'bundled config/rotator.yaml',
            baseDir: process.env.LAMBDA_TASK_ROOT ?? process.cwd(),
          })
        : await configFromFile();
    const logger = createLogger({ stream: process.stdout, json: true });
    // Metric lines (CloudWatch EMF) go to the function's log, where CloudWatch turns them into metrics.
    const writeMetrics = (line: string) => void process.stdout.write(line);
    cached = { config, runtime: createRuntime(config, { logger, writeMetrics }) };
  }
  return cached;
}

/** Outside the bundle only. The specifier is computed so the bundler leaves the YAML reader out. */
async function configFromFile(): Promise<RotatorConfig> {
  const loader = '../config/load.js';
  const { loadConfig } = (await import(loader)) as typeof import('../config/load.js');
  return loadConfig(process.env.ROTATOR_CONFIG ?? join(process.cwd(), 'config', 'rotator.yaml'));
}

/** For tests: forget the cached configuration. */
export function resetForTests(): void {
  cached = undefined;
}

function summary(results: readonly TargetResult[]): string {
  return results
    .map(
      (r) =>
        `${r.target}: ${r.kind}${r.kind === 'failed' ? ` at ${r.step}: ${r.error}` : r.kind === 'stuck' || r.kind === 'waiting' ? ` (${r.on.join('; ')})` : ''}`,
    )
    .join(' | ');
}

export async function handler(event: unknown, context: LambdaContext): Promise<unknown> {
  const { config, runtime } = await setup();
  if (isRotationEvent(event)) return rotationHandler(event, config, runtime);
  const stopStartingAtMs = runtime.now() + Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
  const results = await rotate(config, runtime, { stopStartingAtMs });
  runtime.logger.info(`scheduled run: ${summary(results)}`, { step: 'summary' });
  if (exitCodeFor(results) !== 0) throw new Error(redact(`rotation needs attention: ${summary(results)}`));
  return { targets: results.map((r) => ({ target: r.target, kind: r.kind })) };
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
