import type { RotatorConfig } from '../config/types.js';
import { rollbackAlert } from '../core/alert.js';
import { formatPause, parsePause, TAG_PAUSED, type RollbackPlan, type VersionRef } from '../core/rollback.js';
import type { Runtime } from '../core/runtime.js';
import { kindOf } from '../credentials/registry.js';
import { RotationError, UsageError } from '../errors.js';
import { channelsFor, deliver, newId } from './alerts.js';
import { openRun } from './reconcile.js';
import { resolveOne, runScope } from './targets.js';

/**
 * `rollback <target>`: one command for every kind, driven like a rotation (core/rollback.ts). Each
 * pass observes, asks the kind's pure rollback planner, and carries out the first step left. Before
 * the first step that changes anything the target is paused (rotator:paused, naming both versions):
 * that record is how a rerun after a kill tells its own half-done rollback from labels a person moved.
 */

/** verify, pause, restore, revoke, and a look after each, with room for a racing run's labels. */
const MAX_PASSES = 8;

/** "<versionId>": the rolled-back alert for the rollback from that version reached a channel. */
const TAG_ANNOUNCED = 'rotator:rollback-announced';

export interface RollbackReport {
  target: string;
  dryRun: boolean;
  /** rolled-back: nothing left to do; planned: what a real run would do (the dry run). */
  state: 'rolled-back' | 'planned';
  from: VersionRef;
  to: VersionRef;
  /** Steps carried out by this command (for a dry run: the steps it would take). */
  steps: { step: string; detail: string }[];
  /** The new credential stays, and why: a person retires it. */
  kept?: string;
  paused: string;
}

export async function rollback(
  config: RotatorConfig,
  runtime: Runtime,
  name: string,
  options: { dryRun?: boolean } = {},
): Promise<RollbackReport> {
  const resolved = await resolveOne(config, runtime, name, 'rolled back');
  const { target } = resolved;
  const capability = kindOf(target).capabilities.rollback;
  if (!capability) throw new UsageError(`target "${name}" (kind ${target.kind}) has no rollback; nothing was changed`);
  const run = await openRun(target, runtime, runScope(resolved, runtime), {});
  const log = runtime.logger.child({ target: name });
  const secretId = target.secret.secretId;
  const steps: RollbackReport['steps'] = [];
  let changes = 0;
  const changed = () => changes > 0;
  const ended = (why: string) => {
    const done = changed() ? ` Done before that: ${steps.map((s) => s.detail).join('; ')}.` : '';
    return new RotationError(name, 'rollback', `target "${name}": ${why}.${done}`);
  };
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const obs = await run.kind.observe(run.session, runtime);
    const plan: RollbackPlan = capability.plan(obs, run.settings);
    if (plan.kind === 'refused') {
      if (changed()) throw ended(plan.why);
      throw new UsageError(`target "${name}": ${plan.why}`);
    }
    if (plan.kind === 'stop') throw ended(plan.why);
    const pause = parsePause(obs.secret?.tags);
    const paused =
      pause !== undefined &&
      pause !== 'unreadable' &&
      pause.from === plan.from.versionId &&
      pause.to === plan.to.versionId;
    const pauseWords = `automatic rotation paused (tag ${TAG_PAUSED}); resume with rotate --force --target ${name}`;
    const report = { target: name, dryRun: options.dryRun === true, from: plan.from, to: plan.to, paused: pauseWords };
    if (plan.kind === 'rolled-back') {
      // Announced at least once: a rerun after a kill between the last change and the alert sends it.
      const announced = obs.secret?.tags[TAG_ANNOUNCED] === plan.from.versionId;
      if (!announced && !options.dryRun && (await announce(config, runtime, target, plan)))
        await run.session.store.setTags(secretId, { [TAG_ANNOUNCED]: plan.from.versionId });
      const kept = plan.kept ? { kept: `${plan.kept}; it stays, revoke it by hand once nothing uses it` } : {};
      if (plan.kept) log.warn(`the new credential ${plan.from.ref} was kept: ${plan.kept}`, { step: 'rollback' });
      if (!changed()) steps.push({ step: 'rolled-back', detail: 'already rolled back; nothing more to do' });
      return { ...report, state: 'rolled-back', steps, ...kept };
    }
    const [step] = plan.steps;
    if (!step) throw ended('the rollback planner gave no step; this is a bug');
    if (options.dryRun && step.changes) {
      const rest = plan.steps.map((s) => ({ step: s.kind, detail: s.plan }));
      const pauseStep = { step: 'pause', detail: `pause the target: ${pauseWords}` };
      const alert = { step: 'alert', detail: "send a rolled-back alert to the target's channels" };
      return { ...report, state: 'planned', steps: [...steps, ...(paused ? [] : [pauseStep]), ...rest, alert] };
    }
    if (step.changes && !paused) {
      // Leaves: the target paused, naming the pair; nothing else changed yet. A rerun finds it and goes on.
      await run.session.store.setTags(secretId, {
        [TAG_PAUSED]: formatPause(plan.from.versionId, plan.to.versionId, runtime.now()),
      });
      changes++;
      steps.push({ step: 'pause', detail: `paused automatic rotation (tag ${TAG_PAUSED})` });
      log.info(`paused automatic rotation for the rollback from ${plan.from.ref} to ${plan.to.ref}`, { step: 'pause' });
      continue;
    }
    if (!capability.act) throw ended(`kind ${target.kind} plans rollback steps it cannot carry out; this is a bug`);
    const result = await capability.act(step, obs, run.session, runtime);
    if (step.changes) changes++;
    if ('refused' in result) {
      if (changed()) throw ended(result.refused);
      throw new UsageError(`target "${name}": ${result.refused}`);
    }
    if ('stop' in result) throw ended(result.stop);
    steps.push({ step: step.kind, detail: result.detail });
    log.info(result.detail, { step: step.kind });
  }
  throw ended(`no end after ${MAX_PASSES} passes (the secret kept changing); run status and try again`);
}

/** True when a channel took the rolled-back alert (then it is recorded, and a rerun does not send it again). */
async function announce(
  config: RotatorConfig,
  runtime: Runtime,
  target: RotatorConfig['targets'][number],
  plan: Extract<RollbackPlan, { kind: 'rolled-back' }>,
): Promise<boolean> {
  const channels = channelsFor(target, runtime.alertChannels ?? []);
  if (!channels.some((c) => c.events.has('rolled-back'))) return false;
  const subject = { target: target.name, credential: target.kind, account: target.accountSid };
  const rolled = { from: plan.from.ref, to: plan.to.ref, ...(plan.kept ? { kept: plan.kept } : {}) };
  const alert = rollbackAlert(subject, rolled, newId(), runtime.now());
  const log = runtime.logger.child({ target: target.name });
  return (await deliver(alert, channels, AbortSignal.timeout(config.alerts.budgetMs), log)).delivered;
}
