import { CURRENT, labelled, PREVIOUS, TAG_RETIRED } from '../../core/labels.js';
import type { RunOptions, Runtime, RunScope } from '../../core/runtime.js';
import { KEY_SID } from '../../core/sids.js';
import { SecretShapeError } from '../../errors.js';
import type { KindModule } from '../kind.js';
import { keyClaims } from './inventory.js';
import type { Observation, Settings, Step } from './observation.js';
import { observe } from './observe.js';
import { keysLeftAlone, observationWarnings, orphanKeys, plan, promotionRecorded, replaceBlocked } from './plan.js';
import type { NamedPort, NamedSession, NamedTarget } from './port.js';
import { namedRollback } from './rollback.js';
import { deleteNamed, namedSteps } from './steps.js';
import { directRotation } from './direct.js';

export type { Settings };
type Shared = 'observe' | 'plan' | 'steps' | 'rotation';
/** The parts of a named kind's table this folder supplies; the kind adds config, open, words, emergency. */
type NamedParts<T extends NamedTarget, S extends NamedSession<T>> = Pick<
  KindModule<T, S, Observation, Step, Settings>,
  Shared
> & {
  report: Required<Pick<KindModule<T, S, Observation, Step, Settings>['report'], 'summary' | 'confirmable'>> &
    Pick<KindModule<T, S, Observation, Step, Settings>['report'], 'describeValue' | 'warnings' | 'strays' | 'claims'>;
  capabilities: Pick<KindModule<T, S, Observation, Step, Settings>['capabilities'], 'replaceBlocked' | 'audit'> & {
    rollback: ReturnType<typeof namedRollback<S>>;
  };
};

/**
 * What every session of a named kind holds, and the planner's settings: read from the run's scope,
 * changing nothing. The kind adds its own client.
 */
export async function openNamed<T extends NamedTarget>(
  target: T,
  runtime: Runtime,
  scope: RunScope,
  options: RunOptions = {},
) {
  const admin = await scope.adminOf(target);
  const protectedSids = new Set(await scope.protectedSids());
  if (KEY_SID.test(admin.username)) protectedSids.add(admin.username);
  const session = {
    target,
    store: runtime.store(target.secret.store),
    admin,
    protectedSids,
    heldElsewhere: (options?: { fresh?: boolean }) =>
      scope.heldElsewhere?.(target, options) ?? Promise.resolve(new Map<string, string>()),
    facts: { verified: new Set<string>() },
    // A run told to rotate names a version: its first read lists every version id before the labels,
    // so the look it starts from needs no second check of the labels (engine/reconcile.ts lookIsCurrent).
    rotating: options.force === true || options.emergency !== undefined,
  };
  const { minOverlapMs, maxWaitMs, manualConfirm } = target.gate;
  const settings: Settings = {
    prefix: target.friendlyNamePrefix,
    target: target.name,
    maxAgeMs: target.maxAgeMs,
    orphanGraceMs: runtime.orphanGraceMs,
    gate: { minOverlapMs, maxWaitMs, manualConfirm },
  };
  return { session, settings };
}

/** The dry run's first two checks for every named kind: the admin credential lists, the secret reads. */
export function preflightHead(session: NamedSession, obs: Observation, noun: string, listed: string): string[] {
  const { admin, target } = session;
  const { secretId, current } = obs;
  return [
    `admin credential (${admin.kind}, ${admin.username}) can list ${listed} on ${target.accountSid}: ` +
      `${obs.keys.length} ${noun}(s)`,
    current
      ? `secret "${secretId}" is readable: AWSCURRENT is version ${current.versionId}, ${noun} ${current.key.apiKeySid}`
      : obs.secret
        ? `secret "${secretId}" exists without a current version; the first run fills it`
        : `secret "${secretId}" does not exist yet; the first run creates it`,
  ];
}

/**
 * The named-credential life cycle as a kind table's shared parts: the planner (./plan.ts), its steps
 * and Secrets Manager view, the reports, audit and rollback, all over the kind's `port`.
 */
export function namedKind<T extends NamedTarget, S extends NamedSession<T>>(port: NamedPort<S>): NamedParts<T, S> {
  const { noun } = port;
  return {
    observe: (session, runtime) => observe(port, session, runtime),
    plan,
    steps: namedSteps(port),
    rotation: directRotation(port),
    report: {
      claims: true,
      summary(obs, target) {
        const current = obs.current;
        if (!current) return { gone: false };
        return {
          ref: current.key.apiKeySid,
          versionId: current.versionId,
          createdAtMs: current.createdAtMs,
          nextDueAtMs: current.createdAtMs + target.maxAgeMs,
          gone: !obs.keys.some((k) => k.sid === current.key.apiKeySid),
        };
      },
      describeValue(value, source, target) {
        const { key } = port.parse(source, value);
        if (key.accountSid.toUpperCase() !== target.accountSid.toUpperCase()) {
          const problem = `is ${key.accountSid}, but target "${target.name}" rotates ${noun}s of ${target.accountSid}`;
          throw new SecretShapeError(source, 'accountSid', problem);
        }
        return `${port.title} ${key.apiKeySid} for target "${target.name}"`;
      },
      confirmable(secret, target) {
        const current = labelled(secret, CURRENT)!;
        const source = { secretId: secret.secretId, versionId: current.versionId, stage: CURRENT };
        const { key } = port.parse(source, current.value, current.binary);
        // The gate waits on the current credential while the previous one of the rotator's own promotion lives.
        const previous = labelled(secret, PREVIOUS);
        const waiting =
          previous !== undefined &&
          previous.versionId !== current.versionId &&
          secret.tags[TAG_RETIRED] !== previous.versionId &&
          promotionRecorded(target.secret.secretId, secret, previous.versionId, current.versionId);
        if (!waiting) return { nothing: `no old ${noun} is waiting to be retired` };
        return { versionId: current.versionId, ref: key.apiKeySid };
      },
      warnings: observationWarnings,
      strays: keysLeftAlone,
    },
    capabilities: {
      replaceBlocked,
      rollback: namedRollback(port),
      audit: {
        keys: (session, _runtime, obs) => (obs ? Promise.resolve(obs.keys) : port.list(session, [])),
        claims: keyClaims,
        orphans: orphanKeys,
        revoke: (session, obs, sid) => deleteNamed(port, session, obs, sid),
      },
    },
  };
}
