import type { RotatorConfig, TargetConfig } from '../config/types.js';
import { restsOnClaim } from '../core/claim.js';
import { parseHealth, PROBLEMS } from '../core/health.js';
import { labelled, CURRENT, TAG_CONFIRMED, TAG_CURRENT_SINCE } from '../core/labels.js';
import { readLastError } from '../core/last-error.js';
import { isOutcome, type DeferReason, type TargetResult } from '../core/outcome.js';
import type { RunOptions, Runtime } from '../core/runtime.js';
import { DAY_MS } from '../core/sids.js';
import { describePause, parsePause } from '../core/rollback.js';
import { describeWindow, isInsideWindow } from '../core/window.js';
import { kindOf } from '../credentials/registry.js';
import { errorMessage, UsageError } from '../errors.js';
import { redact } from '../redact.js';
import { reportRun } from './alerts.js';
import { describeOutcome } from './describe.js';
import { dryRun } from './dry-run.js';
import { reportUnresolved } from './fleets.js';
import { observeAndPlan, openRun, reconcileTarget, stepSpec } from './reconcile.js';
import { resolveOne, resolveTargets, runScope, type Targets } from './targets.js';
import { inPool } from '../util/pool.js';

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
  return rotateTargets(await resolveTargets(config, runtime, options.targets, options.scheduled), runtime, options);
}

export async function rotateTargets(resolved: Targets, runtime: Runtime, options: RunOptions): Promise<TargetResult[]> {
  const { config, chosen: targets, named } = resolved;
  if (!options.dryRun) await runtime.sweep?.(targets);
  const scope = runScope(resolved, runtime);
  const reconcileOne = (target: TargetConfig): Promise<TargetResult> => {
    const base = { target: target.name, credential: target.kind, steps: [] };
    const deferred = (reason: DeferReason, detail: string) =>
      Promise.resolve<TargetResult>({ ...base, kind: 'deferred', reason, detail });
    if (target.paused && !named.has(target.name)) {
      runtime.logger.info('paused: automatic rotation is off for this target', { target: target.name, step: 'paused' });
      return deferred('paused', 'paused (paused: true); nothing done');
    }
    if (options.stop?.aborted) return deferred('stopped', 'stopping; not started');
    if (options.signal?.aborted) {
      const detail = 'not started: the run was out of time';
      runtime.logger.child({ target: target.name }).warn(`${detail}; the next run takes it`, { step: 'deferred' });
      return deferred('out-of-time', detail);
    }
    const outsideWindow =
      target.window && !options.force && !options.emergency && !isInsideWindow(target.window, runtime.now())
        ? describeWindow(target.window)
        : undefined;
    // A rollback's pause (core/rollback.ts) is lifted only by a person forcing this very target.
    const resume = options.force === true && named.has(target.name);
    const run = { ...options, resume, ...(outsideWindow !== undefined ? { outsideWindow } : {}) };
    return options.dryRun ? dryRun(resolved, target, runtime, run) : reconcileTarget(target, runtime, scope, run);
  };
  // Kinds declared "first" (an Auth Token: its promotion replaces what other targets' admin secrets
  // hold, and refreshes them) run before the others, which then read the new credential.
  const first = (t: TargetConfig) => kindOf(t).order === 'first';
  const phases = [targets.filter(first), targets.filter((t) => !first(t))];
  const order = new Map(targets.map((t, i) => [t, i]));
  const results = new Array<TargetResult>(targets.length);
  for (const phase of phases) {
    const done = await scope.runTargets(phase, config.concurrency.targets, reconcileOne);
    phase.forEach((t, i) => (results[order.get(t)!] = done[i]!));
  }
  // Alerts, health state and metrics follow every real run, whichever entry started it; a dry run sends nothing.
  if (!options.dryRun) {
    await reportRun(config, runtime, targets, results);
    await reportUnresolved(config, runtime, resolved.unresolved);
  }
  return [...results, ...resolved.unresolved.map((u) => u.result)];
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
  /** Automatic rotation is off for this target (paused: true, or a rollback's rotator:paused tag). */
  paused?: true;
  /** The pause a rollback left, in words: when, which versions, how to resume. */
  pausedBy?: string;
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
  const resolved = await resolveTargets(config, runtime, names);
  const { chosen, unresolved } = resolved;
  const scope = runScope(resolved, runtime);
  const failed = (target: string, kind: string, error: string): TargetStatus => ({
    target,
    kind,
    step: 'error',
    waitingOn: [],
    attention: true,
    error,
  });
  const out = unresolved.map(({ result, why }) => failed(result.target, result.credential, why));
  // The same batched sweep and worker pool as rotate: one target after another, status took N round trips.
  await runtime.sweep?.(chosen);
  const statusOf = async (target: TargetConfig): Promise<TargetStatus> => {
    try {
      const run = await openRun(target, runtime, scope, {});
      let { obs, decision } = await observeAndPlan(run, runtime);
      // As rotate does: a step decided on the sweep's copy (maybe minutes old) is decided again on the secret.
      const fromSweep = runtime.confirmed?.(target) === false;
      // A claim (core/claim.ts) shows "nothing due" only: anything else is looked at on the secret.
      const onClaim = decision.kind !== 'done' && restsOnClaim(obs.secret);
      if (onClaim) await run.session.store.read(target.secret.secretId, { fresh: true });
      if (onClaim || (!isOutcome(decision) && fromSweep && runtime.fresh && !(await runtime.fresh(target))))
        ({ obs, decision } = await observeAndPlan(run, runtime));
      const tags = obs.secret?.tags ?? {};
      const current = run.kind.report.summary(obs, target);
      const lastError = readLastError(tags);
      const warnings = run.kind.report.warnings?.(obs, run.settings) ?? [];
      const outcome = isOutcome(decision) ? decision : undefined;
      // A rollback's pause: the next rotate does nothing; one left unfinished needs a person to rerun it.
      const pause = parsePause(tags);
      const rollback = pause !== undefined ? run.kind.capabilities.rollback?.plan(obs, run.settings) : undefined;
      const unfinished = rollback?.kind === 'steps' ? rollback.steps.find((s) => s.changes) : undefined;
      const pausedBy = pause !== undefined ? describePause(pause, target.name) : undefined;
      const { window } = target;
      const health = parseHealth(tags);
      const openProblems = PROBLEMS.flatMap((problem) => {
        const p = health[problem];
        if (!p) return [];
        const notifiedAt = p.notifiedAtMs !== undefined ? new Date(p.notifiedAtMs).toISOString() : undefined;
        return [{ problem, since: new Date(p.sinceMs).toISOString(), ...(notifiedAt ? { notifiedAt } : {}) }];
      });
      return {
        target: target.name,
        kind: target.kind,
        ...(current.ref !== undefined
          ? { current: current.ref, ...(run.kind.words.keyFields ? { currentKeySid: current.ref } : {}) }
          : {}),
        ...(current.versionId !== undefined ? { currentVersionId: current.versionId } : {}),
        ...(current.createdAtMs !== undefined
          ? { ageDays: Math.floor(((obs.nowMs - current.createdAtMs) / DAY_MS) * 10) / 10 }
          : {}),
        ...(current.nextDueAtMs !== undefined ? { nextDueAt: new Date(current.nextDueAtMs).toISOString() } : {}),
        step: decision.kind,
        next: unfinished
          ? `a rollback is unfinished: run "twilio-key-rotator rollback ${target.name}" to ${unfinished.plan}`
          : pausedBy !== undefined
            ? `nothing: ${pausedBy}`
            : outcome
              ? describeOutcome(outcome)
              : stepSpec(run, decision).describe(decision, obs, run.session),
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
        ...(target.paused || pausedBy !== undefined ? { paused: true as const } : {}),
        ...(pausedBy !== undefined ? { pausedBy } : {}),
        ...(window
          ? { window: { description: describeWindow(window), open: isInsideWindow(window, runtime.now()) } }
          : {}),
        attention: decision.kind === 'stuck' || lastError !== undefined || current.gone || unfinished !== undefined,
      };
    } catch (err) {
      return failed(target.name, target.kind, redact(errorMessage(err)));
    }
  };
  out.push(...(await inPool(chosen, resolved.config.concurrency.targets, statusOf)));
  return out;
}

/** Backs out a rotation before its point of no return (an Auth Token's promotion). */
export async function abort(
  config: RotatorConfig,
  runtime: Runtime,
  name: string,
): Promise<{ target: string; detail: string }> {
  const resolved = await resolveOne(config, runtime, name, 'aborted');
  const { target } = resolved;
  const kind = kindOf(target);
  const { capabilities } = kind;
  if (!capabilities.abort) {
    const what = `target "${name}" (kind ${target.kind}) has nothing to abort`;
    const why = `abort backs out a rotation before its point of no return, and a ${kind.words.noun} rotation has none`;
    throw new UsageError(`${what}: ${why}; its old ${kind.words.noun} stays until the consumer gate retires it`);
  }
  const { session } = await kind.open(target, runtime, runScope(resolved, runtime), {});
  return { target: name, detail: await capabilities.abort(session, runtime) };
}

/**
 * Records a person's confirmation that every consumer uses the credential the gate waits for. With no
 * rotation waiting, there is nothing to confirm: it says so (a usage error, exit 2) and writes nothing,
 * since a confirmation names one version and would never count for the next rotation's.
 */
export async function confirm(
  config: RotatorConfig,
  runtime: Runtime,
  name: string,
): Promise<{ target: string; versionId: string; ref: string; keySid?: string }> {
  const { target } = await resolveOne(config, runtime, name, 'confirmed');
  const secretId = target.secret.secretId;
  const store = runtime.store(target.secret.store);
  const secret = await store.read(secretId);
  if (!secret || !labelled(secret, CURRENT))
    throw new UsageError(`target "${name}": secret "${secretId}" has no current version to confirm; run rotate first`);
  const waiting = kindOf(target).report.confirmable(secret, target);
  if ('nothing' in waiting) {
    const why = `nothing waits for a confirmation: ${waiting.nothing}`;
    const next = `run "twilio-key-rotator status --target ${name}" to see where it stands; nothing was written`;
    throw new UsageError(`target "${name}": ${why}; ${next}`);
  }
  const { versionId, ref } = waiting;
  await store.setTags(secretId, { [TAG_CONFIRMED]: versionId });
  return { target: name, versionId, ref, ...(kindOf(target).words.keyFields ? { keySid: ref } : {}) };
}
