import type { RotatorConfig, TargetConfig } from '../config/types.js';
import type { StepRecord, TargetResult } from '../core/outcome.js';
import { kindOf } from '../credentials/registry.js';
import type { Emergency, Runtime } from '../core/runtime.js';
import { rotateTargets } from './commands.js';
import { resolveOne } from './targets.js';
import { errorMessage } from '../errors.js';
import { redact } from '../redact.js';

/**
 * `rotate --now <target> --overlap SECONDS`: the same reconcile with the gate cut to the overlap, window
 * and pause set aside, and a current credential this invocation did not create treated as leaked; pass
 * after pass, sleeping through the overlap and the kind's `settleMs`, until done, failed or stopped.
 */

export interface NowOptions {
  overlapMs: number;
  replaceSecondary?: boolean;
  /** Stops between steps and cuts a sleep short (the CLI's SIGINT/SIGTERM). */
  stop?: AbortSignal;
  /** The entry owns time: waits `ms`, or less when `stop` fires. */
  sleep(ms: number, stop?: AbortSignal): Promise<void>;
}

export interface NowResult {
  result: TargetResult;
  /** Every step of every pass, in order. */
  steps: StepRecord[];
  finished: boolean;
}

/** Between passes, sleep at least this and at most that: a poll, never a busy loop. */
const MIN_SLEEP_MS = 1000;
const MAX_SLEEP_MS = 30_000;
/** Beyond the overlap and the propagation delay, a few passes of slack; then the command gives up. */
const SLACK_MS = 10 * 60_000;

function describe(r: TargetResult): string {
  switch (r.kind) {
    case 'failed':
      return `failed at ${r.step}: ${r.error}`;
    case 'waiting':
    case 'stuck':
      return `${r.kind}: ${r.on.join('; ')}`;
    case 'busy':
      return `busy: ${r.reason}`;
    case 'deferred':
    case 'lost-race':
      return `${r.kind}: ${r.detail}`;
    default:
      return r.kind;
  }
}

/** The one place an emergency rotation is reported, loudly: every line is level error with an `alert`. */
function announce(runtime: Runtime, target: TargetConfig, event: 'started' | 'finished' | 'unfinished', text: string) {
  runtime.logger.error(`EMERGENCY ${text}`, { target: target.name, step: 'rotate-now', alert: `emergency-${event}` });
}

export async function rotateNow(
  config: RotatorConfig,
  runtime: Runtime,
  name: string,
  o: NowOptions,
): Promise<NowResult> {
  const resolved = await resolveOne(config, runtime, name, 'rotated');
  const { target } = resolved;
  const emergency: Emergency = { overlapMs: o.overlapMs, created: new Set() };
  const kind = kindOf(target);
  const what = kind.words.noun;
  const overlap = `${o.overlapMs / 1000} s`;
  const leaked = `rotation of ${name} (rotate --now): the current ${what} is treated as leaked`;
  const cut = `The consumer gate is cut to a ${overlap} overlap; probes and manual confirmation are skipped`;
  const window = target.window ? '; the maintenance window is ignored' : '';
  const ignored = `${window}${target.paused ? '; the pause is ignored' : ''}`;
  announce(runtime, target, 'started', `${leaked}. ${cut}${ignored}. ${kind.emergency.consequence(overlap)}`);
  const settleMs = kind.emergency.settleMs(target);
  const giveUpAt = runtime.now() + 2 * (o.overlapMs + settleMs) + SLACK_MS;
  const steps: StepRecord[] = [];
  let result: TargetResult | undefined;
  for (;;) {
    if (kind.emergency.beforePass) {
      // No promotion without the record first: a failure here ends the command unfinished.
      const failed = await kind.emergency.beforePass(runtime, target, emergency).then(
        () => undefined,
        (err: unknown) => redact(errorMessage(err)),
      );
      if (failed !== undefined) {
        const error = `could not record the leaked ${what} on "${target.secret.secretId}": ${failed}`;
        result = { target: name, credential: target.kind, steps: [], kind: 'failed', step: 'record-leaked', error };
        break;
      }
    }
    [result] = (await rotateTargets(resolved, runtime, {
      emergency,
      ...(o.replaceSecondary ? { replaceSecondary: true } : {}),
      ...(o.stop ? { stop: o.stop } : {}),
    })) as [TargetResult];
    steps.push(...result.steps);
    if (result.kind !== 'waiting' || o.stop?.aborted || runtime.now() >= giveUpAt) break;
    const wakeAt = result.sinceMs + Math.max(o.overlapMs, settleMs);
    await o.sleep(Math.min(MAX_SLEEP_MS, Math.max(MIN_SLEEP_MS, wakeAt - runtime.now())), o.stop);
  }
  const finished = result.kind === 'done' && emergency.created.size > 0;
  if (result.kind === 'done' && finished) {
    const gone = `current ${what} ${result.current}; the ${what}s it replaced are gone`;
    announce(runtime, target, 'finished', `rotation of ${name} finished: ${gone}`);
  } else {
    const again = `the leaked ${what} may still work. Run the same command again`;
    announce(runtime, target, 'unfinished', `rotation of ${name} did NOT finish (${describe(result)}); ${again}`);
  }
  return { result, steps, finished };
}
