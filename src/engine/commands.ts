import type { RotatorConfig, TargetConfig } from '../config/types.js';
import { parseHealth, PROBLEMS } from '../core/health.js';
import { labelled, CURRENT, TAG_CONFIRMED, TAG_CURRENT_SINCE, TAG_LAST_ERROR } from '../core/labels.js';
import { isOutcome, type TargetResult } from '../core/outcome.js';
import type { RunOptions, Runtime } from '../core/runtime.js';
import { DAY_MS } from '../core/sids.js';
import { describeWindow, isInsideWindow } from '../core/window.js';
import { kindOf } from '../credentials/registry.js';
import { errorMessage, UsageError } from '../errors.js';
import { redact } from '../redact.js';
import { reportRun } from './alerts.js';
import { describeOutcome } from './describe.js';
import { dryRun } from './dry-run.js';
import { observeAndPlan, openRun, reconcileTarget } from './reconcile.js';
import { createRunScope } from './scope.js';

/** The names no configured target has, each once, in the order given. */
export function unknownTargetNames(config: RotatorConfig, names: readonly string[]): string[] {
  const known = new Set(config.targets.map((t) => t.name));
  return [...new Set(names)].filter((n) => !known.has(n));
}

/**
 * What an unattended run takes on: the names of the targets that are not paused, in configuration
 * order. The scheduled Lambda shards exactly these across SQS messages (entry/shard.ts), so whatever
 * decides which targets a fleet has decides it here, once. Names only: a message carries nothing else.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- awaits nothing until a fleet is found at run time
export async function scheduledTargetNames(config: RotatorConfig, _runtime: Runtime): Promise<string[]> {
  return config.targets.filter((t) => !t.paused).map((t) => t.name);
}

/** The named targets, each once, in configuration order; every unknown name is reported. */
export function selectTargets(config: RotatorConfig, names: readonly string[] | undefined): TargetConfig[] {
  if (!names || names.length === 0) return config.targets;
  const wanted = new Set(names);
  const known = new Set(config.targets.map((t) => t.name));
  const unknown = unknownTargetNames(config, names);
  if (unknown.length > 0)
    throw new UsageError(
      `unknown target${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}; configured: ${[...known].join(', ')}`,
    );
  return config.targets.filter((t) => wanted.has(t.name));
}

/**
 * Targets are independent: up to `concurrency.targets` are reconciled at once (each account's Twilio
 * requests held under `concurrency.perAccount` by the runtime). Results come back in configuration
 * order. A target not started when the run's time is up, or its signal aborts, is left for the next run.
 * A paused target is left alone unless a person names it; a target with a maintenance window starts
 * a rotation only inside it, unless a person forces one (--force).
 */
export async function rotate(
  config: RotatorConfig,
  runtime: Runtime,
  options: RunOptions & { targets?: readonly string[] } = {},
): Promise<TargetResult[]> {
  const scope = createRunScope(config, runtime);
  const targets = selectTargets(config, options.targets);
  if (!options.dryRun) await runtime.sweep?.(targets);
  const named = new Set(options.scheduled ? [] : (options.targets ?? []));
  const reconcileOne = (target: TargetConfig): Promise<TargetResult> => {
    const base = { target: target.name, credential: target.kind, steps: [] };
    if (target.paused && !named.has(target.name)) {
      runtime.logger.info('paused: automatic rotation is off for this target', { target: target.name, step: 'paused' });
      return Promise.resolve<TargetResult>({
        ...base,
        kind: 'deferred',
        reason: 'paused',
        detail: 'paused (paused: true); nothing done',
      });
    }
    if (options.stop?.aborted)
      return Promise.resolve<TargetResult>({
        ...base,
        kind: 'deferred',
        reason: 'stopped',
        detail: 'stopping; not started',
      });
    const late =
      options.signal?.aborted === true ||
      (options.stopStartingAtMs !== undefined && runtime.now() >= options.stopStartingAtMs);
    if (late) {
      const detail = 'not started: the run was out of time';
      runtime.logger.child({ target: target.name }).warn(`${detail}; the next run takes it`, { step: 'deferred' });
      return Promise.resolve<TargetResult>({ ...base, kind: 'deferred', reason: 'out-of-time', detail });
    }
    const outsideWindow =
      target.window && !options.force && !options.emergency && !isInsideWindow(target.window, runtime.now())
        ? describeWindow(target.window)
        : undefined;
    const run = { ...options, ...(outsideWindow !== undefined ? { outsideWindow } : {}) };
    return options.dryRun ? dryRun(config, target, runtime, run) : reconcileTarget(target, runtime, scope, run);
  };
  // Auth Tokens first: a promotion replaces the token other targets' admin secrets may hold (and
  // refreshes those secrets), so the targets that use them start after it and read the new one.
  const phases = [targets.filter((t) => t.kind === 'auth-token'), targets.filter((t) => t.kind !== 'auth-token')];
  const order = new Map(targets.map((t, i) => [t, i]));
  const results = new Array<TargetResult>(targets.length);
  for (const phase of phases) {
    const done = await inPool(phase, config.concurrency.targets, reconcileOne);
    phase.forEach((t, i) => (results[order.get(t)!] = done[i]!));
  }
  // Alerts, health state and metrics follow every real run, whichever entry started it; a dry run sends nothing.
  if (!options.dryRun) await reportRun(config, runtime, targets, results);
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
  /** Problems alerts are open for (the rotator:alert:* tags): since when, and when last notified. */
  openProblems?: { problem: string; since: string; notifiedAt?: string }[];
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
      const health = parseHealth(tags);
      const openProblems = PROBLEMS.flatMap((problem) => {
        const p = health[problem];
        if (!p) return [];
        const notifiedAt = p.notifiedAtMs !== undefined ? new Date(p.notifiedAtMs).toISOString() : undefined;
        return [{ problem, since: new Date(p.sinceMs).toISOString(), ...(notifiedAt ? { notifiedAt } : {}) }];
      });
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
        ...(openProblems.length > 0 ? { openProblems } : {}),
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

/** `fn` over `items`, at most `size` at once; results in the items' order. */
async function inPool<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(size, items.length)) }, worker));
  return results;
}
