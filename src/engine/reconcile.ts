import type { TargetConfig } from '../config/types.js';
import { observeGate, type GateCheck } from '../core/gate.js';
import { claimTags, restsOnClaim } from '../core/claim.js';
import { TAG_LAST_ERROR } from '../core/labels.js';
import { clearedLastErrorTags, lastErrorTags } from '../core/last-error.js';
import {
  isOutcome,
  type Outcome,
  type RemoteFault,
  type Sighting,
  type StepRecord,
  type TargetResult,
} from '../core/outcome.js';
import { describePause, parsePause, TAG_PAUSED } from '../core/rollback.js';
import type { RunOptions, RunScope, Runtime } from '../core/runtime.js';
import {
  kindOf,
  type AnyKind,
  type ObservationBase,
  type RunFlags,
  type Session,
  type StepSpec,
} from '../credentials/registry.js';
import { errorMessage, RemoteError, RotationError } from '../errors.js';
import { redact } from '../redact.js';

/** A full rotation takes about ten steps; anything far beyond that is a bug, not progress. */
const MAX_STEPS = 25;

/** One target's run in progress: its kind, its session (with what the run has learnt) and its settings. */
export interface Run {
  kind: AnyKind;
  session: Session;
  /** The kind's settings and the engine's flags, as the planner and the steps read them. */
  settings: RunFlags;
}

export async function openRun(
  target: TargetConfig,
  runtime: Runtime,
  scope: RunScope,
  options: RunOptions,
): Promise<Run> {
  const kind = kindOf(target);
  const { session, settings } = await kind.open(target, runtime, scope, options);
  const flags: RunFlags = {
    force: options.force ?? false,
    ...(options.emergency ? { emergency: options.emergency } : {}),
  };
  return { kind, session, settings: { ...(settings as object), ...flags } };
}

/** The kind's declaration of one step the planner chose; a step without one is a bug in the kind. */
export function stepSpec(
  run: Run,
  step: { kind: string },
): StepSpec<{ kind: string }, ObservationBase, Session, unknown> {
  const spec = run.kind.steps[step.kind];
  if (!spec)
    throw new RotationError(run.session.target.name, step.kind, 'the kind declares no such step; this is a bug');
  return spec;
}

/**
 * Observes, asks the planner, and when the planner asks for the consumer gate, evaluates it (probes
 * and the confirmation tag) and asks again. Reads only.
 */
export async function observeAndPlan(
  run: Run,
  runtime: Runtime,
): Promise<{ obs: ObservationBase; decision: { kind: string } }> {
  const obs = await run.kind.observe(run.session, runtime);
  return { obs, decision: await planFor(run, obs, runtime) };
}

/** The planner's decision on one look, with the gate evaluated when it asks for it. Reads only. */
export async function planFor(run: Run, obs: ObservationBase, runtime: Runtime): Promise<{ kind: string }> {
  const { kind, session } = run;
  let decision = kind.plan(obs, run.settings);
  if (decision.kind === 'check-gate') {
    const check = decision as GateCheck;
    obs.gate = await observeGate(runtime, session.target, obs.secret, check, kind.words.ref);
    decision = kind.plan(obs, run.settings);
    if (decision.kind === 'check-gate')
      throw new RotationError(session.target.name, 'check-gate', 'the planner asked for the gate twice; this is a bug');
  }
  return decision;
}

function logOutcome(runtime: Runtime, target: string, o: Outcome): void {
  const log = runtime.logger.child({ target });
  switch (o.kind) {
    case 'busy':
      return void log.info(`busy: ${o.reason}`, { step: 'busy' });
    case 'done':
      return void log.info(`done: current ${o.current}, next rotation due ${new Date(o.nextDueAtMs).toISOString()}`, {
        step: 'done',
        ref: o.current,
      });
    case 'stuck':
      return void log.error(`stuck: ${o.on.join('; ')}`, { step: 'stuck', ...(o.kept ? { ref: o.kept } : {}) });
    case 'waiting':
      return void log.info(`waiting: ${o.kept} kept until ${o.on.join('; ')}`, { step: 'waiting', ref: o.kept });
  }
}

/**
 * Brings one target as far along as it can go in this run: observe, plan, act, observe again. Never
 * throws for a target's own failure. The dry run is this loop over fakes, with `quiet` set.
 */
export async function reconcileTarget(
  target: TargetConfig,
  runtime: Runtime,
  scope: RunScope,
  options: RunOptions & { quiet?: boolean; outsideWindow?: string; resume?: boolean } = {},
): Promise<TargetResult> {
  const steps: StepRecord[] = [];
  const seen: Sighting = { rotationsStarted: 0, rotationsCompleted: 0 };
  let looked = false;
  // The dry run's fakes saw nothing real: its results carry no sighting.
  const base = () => ({
    target: target.name,
    credential: target.kind,
    ...(looked && !options.dryRun ? { seen } : {}),
  });
  const log = runtime.logger.child({ target: target.name });
  let run: Run | undefined;
  let inProgress = 'read-state';
  try {
    run = await openRun(target, runtime, scope, options);
    const { kind } = run;
    for (let i = 0; i < MAX_STEPS; i++) {
      inProgress = 'observe';
      const { obs, decision } = await observeAndPlan(run, runtime);
      // A claim (core/claim.ts) concludes "nothing due" only: anything else is decided on the secret.
      if (decision.kind !== 'done' && restsOnClaim(obs.secret)) {
        await run.session.store.read(target.secret.secretId, { fresh: true });
        continue;
      }
      look(seen, run, obs, i === 0);
      looked = true;
      if (i === 0 && !options.quiet)
        for (const warning of kind.report.warnings?.(obs, run.settings) ?? []) log.warn(warning, { step: 'observe' });
      // A rollback paused the target (core/rollback.ts): only a person's --force on it, or rotate --now, resumes.
      const pause = parsePause(obs.secret?.tags);
      if (pause !== undefined && !options.resume && !options.emergency) {
        const detail = describePause(pause, target.name);
        if (!options.quiet) log.info(detail, { step: 'paused' });
        return { ...base(), steps, kind: 'deferred', detail, reason: 'paused' };
      }
      if (pause !== undefined) {
        await run.session.store.setTags(target.secret.secretId, { [TAG_PAUSED]: '' });
        steps.push({
          step: 'resume',
          detail: 'lifted the pause a rollback left',
          plan: 'lift the pause a rollback left',
        });
        if (!options.quiet) log.info('lifted the pause a rollback left; rotating again', { step: 'resume' });
        continue;
      }
      if (isOutcome(decision)) {
        // A problem clears only when the target moves on; busy and stuck keep it for status to show.
        const cleared =
          (decision.kind === 'done' || decision.kind === 'waiting') && obs.secret?.tags[TAG_LAST_ERROR]
            ? clearedLastErrorTags()
            : {};
        // A secret a sweep can read gets the claim a later run's sweep may skip its value on.
        const claim =
          decision.kind === 'done' && kind.report.claims && run.session.store.sweep && !options.dryRun
            ? claimTags(kind.report.summary(obs, target), obs.secret?.tags ?? {})
            : {};
        const tags = { ...cleared, ...claim };
        if (Object.keys(tags).length > 0) await run.session.store.setTags(target.secret.secretId, tags);
        if (!options.quiet) logOutcome(runtime, target.name, decision);
        const createdAtMs = kind.report.summary(obs, target).createdAtMs;
        return {
          ...base(),
          steps,
          ...decision,
          ...(createdAtMs !== undefined ? { currentCreatedAtMs: createdAtMs } : {}),
        };
      }
      if (options.signal?.aborted)
        return interrupted(base(), steps, log, `stopped before ${decision.kind}`, options.signal);
      if (options.stop?.aborted) {
        log.warn(`stopping before ${decision.kind}; the next run resumes here`, { step: decision.kind });
        return {
          ...base(),
          steps,
          kind: 'deferred',
          detail: `stopped before ${decision.kind}: stopping`,
          reason: 'stopped',
        };
      }
      const spec = stepSpec(run, decision);
      if (options.outsideWindow !== undefined && spec.window) {
        const detail = `${decision.kind} waits for the maintenance window (${options.outsideWindow})`;
        if (!options.quiet) log.info(detail, { step: decision.kind });
        return { ...base(), steps, kind: 'deferred', detail, reason: 'window' };
      }
      if (!(await lookIsCurrent(run, decision.kind, obs, runtime))) continue;
      inProgress = decision.kind;
      const plan = spec.describe(decision, obs, run.session);
      const result = await spec.act(decision, obs, run.session, runtime, run.settings);
      steps.push({ step: decision.kind, detail: result.detail, plan });
      if (result.startedRotation) seen.rotationsStarted++;
      if (result.completedRotation) seen.rotationsCompleted++;
      // --force asks for one rotation, not one per loop.
      if (result.startedRotation) run.settings.force = false;
      if (result.createdVersion !== undefined) options.emergency?.created.add(result.createdVersion);
      const fields = {
        step: decision.kind,
        ...('versionId' in decision ? { rotationId: decision.versionId } : {}),
        ...('keySid' in decision ? { ref: decision.keySid } : {}),
      };
      if (options.quiet) {
        // The dry run says what it would do in its plan, not in the log.
      } else if (result.end?.kind === 'failed') log.error(result.detail, fields);
      else log.info(result.detail, fields);
      if (result.end) {
        if (result.end.kind === 'failed' && !options.dryRun)
          await recordLastError(run.session, `${decision.kind}: ${result.end.error}`);
        return { ...base(), steps, ...result.end };
      }
    }
    throw new RotationError(
      target.name,
      inProgress,
      `no convergence after ${MAX_STEPS} steps; this is a bug, please report it with the log`,
    );
  } catch (err) {
    if (options.signal?.aborted)
      return interrupted(base(), steps, log, `interrupted during ${inProgress}`, options.signal);
    const remote = remoteFault(err);
    if (run && !options.dryRun && remote?.service === 'twilio' && remote.status === 401) {
      // Another run may have replaced the admin credential since this one read it (an Auth Token
      // promotion, which refreshes the admin secrets that held the old token): not a failure.
      const replaced = await run.kind.capabilities.admin?.replaced(run.session, runtime).catch(() => false);
      if (replaced) {
        const refused = 'Twilio refused the admin credential this run read';
        const replaced = 'the admin secret holds another one now (another run promoted the Auth Token)';
        const detail = `stopped at ${inProgress}: ${refused}, and ${replaced}`;
        log.warn(`${detail}; the next run resumes here`, { step: inProgress });
        return { ...base(), steps, kind: 'deferred', detail };
      }
    }
    const message = redact(errorMessage(err));
    if (!options.quiet) log.error(`failed at ${inProgress}: ${message}`, { step: inProgress });
    // A run that changed nothing writes nothing, not even the error: bad input must leave no trace.
    if (run && !options.dryRun && steps.length > 0) await recordLastError(run.session, `${inProgress}: ${message}`);
    return { ...base(), steps, kind: 'failed', step: inProgress, error: message, ...(remote ? { remote } : {}) };
  }
}

/**
 * Whether the look a step was decided on may be acted on; when not, the store has been read again and
 * the caller looks again. A copy from the batched sweep may be minutes old: the secret itself is read
 * before any step. Before anything irreversible, nobody may have changed it since this run looked.
 * Naming a new version needs every id the secret ever had.
 */
export async function lookIsCurrent(run: Run, step: string, obs: ObservationBase, runtime: Runtime): Promise<boolean> {
  const target = run.session.target;
  const spec = stepSpec(run, { kind: step });
  const fromSweep = runtime.confirmed?.(target) === false;
  if ((fromSweep || spec.irreversible) && runtime.fresh && !(await runtime.fresh(target))) {
    if (!fromSweep)
      runtime.logger
        .child({ target: target.name })
        .info(`the secret changed since this run looked; looking again before ${step}`, { step });
    return false;
  }
  if (spec.namesVersion && obs.secret?.versionIdsComplete === false) {
    await run.session.store.read(target.secret.secretId, { versionIds: true });
    return false;
  }
  return true;
}

/** Records what one look saw: the current credential, orphans and tags; whether it was gone, at the first. */
function look(seen: Sighting, run: Run, obs: ObservationBase, first: boolean): void {
  const current = run.kind.report.summary(obs, run.session.target);
  if (first && current.gone && current.ref !== undefined) seen.goneAtStart = current.ref;
  if (current.ref !== undefined && current.createdAtMs !== undefined)
    seen.current = { ref: current.ref, createdAtMs: current.createdAtMs };
  else delete seen.current;
  if (run.kind.report.strays) seen.orphans = run.kind.report.strays(obs, run.settings);
  if (obs.secret) seen.tags = obs.secret.tags;
  else delete seen.tags;
}

/** The service's own answer behind an error, when a remote call failed (found through `cause`, a few levels deep). */
function remoteFault(err: unknown): RemoteFault | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e; depth++) {
    if (e instanceof RemoteError)
      return {
        service: e.service,
        operation: e.operation,
        ...(e.detail.status !== undefined ? { status: e.detail.status } : {}),
        ...(e.detail.code !== undefined ? { code: e.detail.code } : {}),
      };
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The run's signal aborted: nothing more starts; what was cut short is the next run's to resume. */
function interrupted(
  base: { target: string; credential: string },
  steps: StepRecord[],
  log: ReturnType<Runtime['logger']['child']>,
  what: string,
  signal: AbortSignal,
): TargetResult {
  const why = redact(errorMessage(signal.reason));
  log.warn(`${what}: ${why}; the next run resumes here`, { step: 'deferred' });
  return { ...base, steps, kind: 'deferred', detail: `${what}: ${why}` };
}

async function recordLastError(session: Session, message: string): Promise<void> {
  // Best effort: the store may be the very thing that is failing.
  await session.store
    .setTags(session.target.secret.secretId, lastErrorTags(redact(`${new Date().toISOString()} ${message}`)))
    .catch(() => undefined);
}
