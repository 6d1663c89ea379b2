import type { RotatorConfig, TargetConfig } from '../config/types.js';
import { labelled, CURRENT, TAG_CONFIRMED, TAG_CURRENT_SINCE, TAG_LAST_ERROR } from '../core/labels.js';
import { isOutcome, type TargetResult } from '../core/outcome.js';
import type { RunOptions, Runtime } from '../core/runtime.js';
import { DAY_MS } from '../core/sids.js';
import { describeWindow, isInsideWindow } from '../core/window.js';
import { kindOf } from '../credentials/registry.js';
import { errorMessage, UsageError } from '../errors.js';
import { redact } from '../redact.js';
import { describeOutcome } from './describe.js';
import { dryRun } from './dry-run.js';
import { observeAndPlan, openRun, reconcileTarget } from './reconcile.js';
import { createRunScope } from './scope.js';

/** The named targets, each once, in configuration order; every unknown name is reported. */
export function selectTargets(config: RotatorConfig, names: readonly string[] | undefined): TargetConfig[] {
  if (!names || names.length === 0) return config.targets;
  const wanted = new Set(names);
  const known = new Set(config.targets.map((t) => t.name));
  const unknown = [...wanted].filter((n) => !known.has(n));
  if (unknown.length > 0)
    throw new UsageError(
      `unknown target${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}; configured: ${[...known].join(', ')}`,
    );
  return config.targets.filter((t) => wanted.has(t.name));
}

/**
 * Targets are independent; they run one after another so logs and Twilio load stay readable.
 * A paused target is left alone unless a person names it; a target with a maintenance window starts
 * a rotation only inside it, unless a person forces one (--force).
 */
export async function rotate(
  config: RotatorConfig,
  runtime: Runtime,
  options: RunOptions & { targets?: readonly string[] } = {},
): Promise<TargetResult[]> {
  const scope = createRunScope(config, runtime);
  const results: TargetResult[] = [];
  const named = new Set(options.scheduled ? [] : (options.targets ?? []));
  for (const target of selectTargets(config, options.targets)) {
    const base = { target: target.name, credential: target.kind, steps: [] };
    if (target.paused && !named.has(target.name)) {
      runtime.logger.info('paused: automatic rotation is off for this target', { target: target.name, step: 'paused' });
      results.push({ ...base, kind: 'deferred', reason: 'paused', detail: 'paused (paused: true); nothing done' });
      continue;
    }
    if (options.stop?.aborted) {
      results.push({ ...base, kind: 'deferred', reason: 'stopped', detail: 'stopping; not started' });
      continue;
    }
    const outsideWindow =
      target.window && !options.force && !options.emergency && !isInsideWindow(target.window, runtime.now())
        ? describeWindow(target.window)
        : undefined;
    const run = { ...options, ...(outsideWindow !== undefined ? { outsideWindow } : {}) };
    results.push(
      options.dryRun ? await dryRun(config, target, runtime, run) : await reconcileTarget(target, runtime, scope, run),
    );
  }
  return results;
}

export interface TargetStatus {
  target: string;
  kind: string;
  /** The current credential by reference: a key SID or a token fingerprint. */
  current?: string;
  /** Kept for scripts written against 0.1.0: the current key SID of an API-key target. */
  currentKeySid?: string;
  currentVersionId?: string;
  ageDays?: number;
  /** The next thing a rotate run would do, or the state it would report. */
  step: string;
  /** The same, in words: what the next `rotate` would create, delete or wait for. */
  next?: string;
  waitingOn: string[];
  nextDueAt?: string;
  currentSince?: string;
  lastError?: string;
  warnings?: string[];
  /** Automatic rotation is off for this target (paused: true). */
  paused?: true;
  /** Its maintenance window, and whether it is open now. */
  window?: { description: string; open: boolean };
  /** A person should look: stuck, the last run failed, the current credential is gone, or the state cannot be read. */
  attention: boolean;
  error?: string;
}

/** Read-only: what `rotate` would find, per target. */
export async function status(
  config: RotatorConfig,
  runtime: Runtime,
  names?: readonly string[],
): Promise<TargetStatus[]> {
  const scope = createRunScope(config, runtime);
  const out: TargetStatus[] = [];
  for (const target of selectTargets(config, names)) {
    try {
      const run = await openRun(target, runtime, scope, {});
      const { obs, decision } = await observeAndPlan(run, runtime);
      const tags = obs.secret?.tags ?? {};
      const current = run.kind.summary(obs, target);
      const lastError = tags[TAG_LAST_ERROR] || undefined;
      const warnings = run.kind.warnings(obs, run.settings);
      const outcome = isOutcome(decision) ? decision : undefined;
      out.push({
        target: target.name,
        kind: target.kind,
        ...(current.ref !== undefined
          ? { current: current.ref, ...(target.kind === 'api-key' ? { currentKeySid: current.ref } : {}) }
          : {}),
        ...(current.versionId !== undefined ? { currentVersionId: current.versionId } : {}),
        ...(current.createdAtMs !== undefined
          ? { ageDays: Math.floor(((obs.nowMs - current.createdAtMs) / DAY_MS) * 10) / 10 }
          : {}),
        ...(current.nextDueAtMs !== undefined ? { nextDueAt: new Date(current.nextDueAtMs).toISOString() } : {}),
        step: decision.kind,
        next: outcome ? describeOutcome(outcome) : run.kind.describe(decision, obs, run.session),
        waitingOn:
          outcome?.kind === 'waiting' || outcome?.kind === 'stuck'
            ? outcome.on
            : outcome?.kind === 'busy'
              ? [outcome.reason]
              : [],
        ...(tags[TAG_CURRENT_SINCE] ? { currentSince: tags[TAG_CURRENT_SINCE].split(' ')[1] ?? '' } : {}),
        ...(lastError ? { lastError } : {}),
        ...(warnings.length > 0 ? { warnings } : {}),
        ...(target.paused ? { paused: true as const } : {}),
        ...(target.window
          ? {
              window: {
                description: describeWindow(target.window),
                open: isInsideWindow(target.window, runtime.now()),
              },
            }
          : {}),
        attention: decision.kind === 'stuck' || lastError !== undefined || current.gone,
      });
    } catch (err) {
      out.push({
        target: target.name,
        kind: target.kind,
        step: 'error',
        waitingOn: [],
        attention: true,
        error: redact(errorMessage(err)),
      });
    }
  }
  return out;
}

/** Backs out a rotation before its point of no return (an Auth Token's promotion). */
export async function abort(
  config: RotatorConfig,
  runtime: Runtime,
  name: string,
): Promise<{ target: string; detail: string }> {
  const [target] = selectTargets(config, [name]);
  const kind = kindOf(target!);
  if (!kind.abort) {
    throw new UsageError(
      `target "${name}" is a ${target!.kind} target: abort backs out an Auth Token rotation before its promotion; an API-key rotation never leaves the old key without its gate, so there is nothing to abort`,
    );
  }
  const session = await kind.open(target!, runtime, createRunScope(config, runtime));
  return { target: name, detail: await kind.abort(session, runtime) };
}

/** Records a person's confirmation that every consumer uses the credential the gate waits for. */
export async function confirm(
  config: RotatorConfig,
  runtime: Runtime,
  name: string,
): Promise<{ target: string; versionId: string; ref: string; keySid?: string }> {
  const [target] = selectTargets(config, [name]);
  const secretId = target!.secret.secretId;
  const store = runtime.store(target!.secret.store);
  const secret = await store.read(secretId);
  if (!secret || !labelled(secret, CURRENT))
    throw new UsageError(`target "${name}": secret "${secretId}" has no current version to confirm; run rotate first`);
  const { versionId, ref } = kindOf(target!).confirmable(secret, target!);
  await store.setTags(secretId, { [TAG_CONFIRMED]: versionId });
  return { target: name, versionId, ref, ...(target!.kind === 'api-key' ? { keySid: ref } : {}) };
}
