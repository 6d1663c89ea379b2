import type { RotatorConfig, TargetConfig } from '../config/types.js';
import { notRetired } from '../core/labels.js';
import { isOutcome } from '../core/outcome.js';
import { describePause, parsePause } from '../core/rollback.js';
import type { Runtime } from '../core/runtime.js';
import { kindOf, type RotationEvent } from '../credentials/registry.js';
import { RotationError } from '../errors.js';
import { describeOutcome } from './describe.js';
import { lookIsCurrent, openRun, planFor, stepSpec, type Run } from './reconcile.js';
import { resolveBySecret } from './targets.js';

export type { RotationEvent };

/**
 * Secrets Manager's rotation protocol (rotate-secret, rotation schedules, "Rotate now"): find the
 * target whose secret is being rotated and drive the event through its kind's table. The driver is the
 * reconcile loop told the event's token: it observes, plans (the gate evaluated as in every run), and
 * acts only on the steps the kind lets that event take; the event succeeds once the kind's
 * postcondition for the token holds. Anything else fails the event, and Secrets Manager retries it.
 * Before the run opens, and after each step on the run's copy, the kind's `settled` tests that
 * postcondition on the secret alone: a settled event reads no admin secret, no key list, no Twilio.
 */

/** createSecret to finishSecret take a handful of steps; more is a bug, not progress. */
const MAX_STEPS = 12;

export function isRotationEvent(event: unknown): event is RotationEvent {
  const e = event as Partial<RotationEvent> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.Step === 'string' &&
    typeof e.SecretId === 'string' &&
    typeof e.ClientRequestToken === 'string'
  );
}

/** The configured target whose secret is `secretId` (a name, a full ARN or a partial ARN). */
export function targetForSecret(config: RotatorConfig, secretId: string): TargetConfig {
  const name = /:secret:(.+?)(-[A-Za-z0-9]{6})?$/.exec(secretId)?.[1];
  const found = config.targets.find(
    (t) =>
      t.secret.store === 'aws' &&
      (t.secret.secretId === secretId ||
        t.secret.secretId === name ||
        secretId.endsWith(`:secret:${t.secret.secretId}`)),
  );
  if (!found) {
    const what = `secret ${secretId} is not the secret of any configured target with store "aws"`;
    throw new RotationError(
      '(none)',
      'rotation-event',
      `${what}; add it to the configuration or remove its rotation schedule`,
    );
  }
  return found;
}

export async function rotationStep(event: RotationEvent, config: RotatorConfig, runtime: Runtime): Promise<string> {
  const { target, scope } = await resolveBySecret(config, runtime, (c) => targetForSecret(c, event.SecretId));
  const token = event.ClientRequestToken;
  const view = kindOf(target).rotation;
  const entry = Object.hasOwn(view, event.Step) ? view[event.Step] : undefined;
  if (entry?.settled) {
    // The secret first, before the admin secret, Twilio or the key list (the kind's `settled`): a
    // repeated event, or setSecret after createSecret, ends here. The run's look below reads the same
    // copy again at no cost, except after a narrower read: setSecret's labels alone, the token's value
    // alone for an event the kind carries out directly. Those nearly always end on it.
    const only = (v: { versionId: string }) => v.versionId === token;
    const direct = entry.direct?.(target);
    const wantValue = event.Step === 'setSecret' ? () => false : direct ? only : notRetired;
    const secret = await runtime.store(target.secret.store).read(target.secret.secretId, { wantValue });
    if (entry.settled(secret, token))
      return `version ${token} already holds what ${event.Step} leaves behind; nothing to do`;
    // The plain case without a look (`direct`); a paused target (core/rollback.ts) goes to the look, which refuses.
    if (secret && direct && parsePause(secret.tags) === undefined) {
      const did = await direct(secret, token, runtime);
      if (did !== undefined) return did;
    }
  }
  return driveEvent(await openRun(target, runtime, scope, {}), event, runtime);
}

async function driveEvent(run: Run, event: RotationEvent, runtime: Runtime): Promise<string> {
  const token = event.ClientRequestToken;
  const did: string[] = [];
  // What this event did before it failed stays in the message: Secrets Manager shows only the error.
  const fail = (message: string) =>
    new RotationError(run.session.target.name, event.Step, [...did, message].join('; then '));
  const view = run.kind.rotation;
  const allowed = Object.hasOwn(view, event.Step) ? view[event.Step] : undefined;
  if (!allowed) throw fail(`unknown rotation step "${String(event.Step)}"`);
  run.settings.token = token;
  for (let i = 0; i < MAX_STEPS; i++) {
    // The postcondition first: a repeated event, or one a scheduled run completed, asks no gate.
    const obs = await run.kind.observe(run.session, runtime);
    if (allowed.done(obs, token)) {
      if (did.length > 0) return `version ${token}: ${did.join('; ')}`;
      return `version ${token} already holds what ${event.Step} leaves behind; nothing to do`;
    }
    const decision = await planFor(run, obs, runtime);
    const retry = 'Secrets Manager will retry';
    // A rollback paused the target (core/rollback.ts): Secrets Manager's schedule must not rotate it either.
    const pause = parsePause(obs.secret?.tags);
    if (pause !== undefined) throw fail(`${describePause(pause, run.session.target.name)}; nothing was done`);
    if (isOutcome(decision)) throw fail(`version ${token} cannot go on now: ${describeOutcome(decision)}; ${retry}`);
    const spec = stepSpec(run, decision);
    if (!allowed.steps.includes(decision.kind)) {
      const next = `the next step is ${decision.kind} (${spec.describe(decision, obs, run.session)})`;
      throw fail(`${next}, which ${event.Step} does not take; ${retry}, and the scheduled run takes it`);
    }
    if (!(await lookIsCurrent(run, decision.kind, obs, runtime))) continue;
    const result = await spec.act(decision, obs, run.session, runtime, run.settings);
    if (result.end?.kind === 'failed') throw fail(`${decision.kind}: ${result.end.error}`);
    if (result.end) throw fail(`${result.detail}; ${retry}`);
    did.push(result.detail);
    // The step's own writes are in the run's copy of the secret: when they settle the event, no look again.
    if (allowed.settled) {
      const after = await run.session.store.read(run.session.target.secret.secretId, { wantValue: notRetired });
      if (allowed.settled(after, token)) return `version ${token}: ${did.join('; ')}`;
    }
  }
  throw fail(`no convergence after ${MAX_STEPS} steps; this is a bug, please report it with the log`);
}
