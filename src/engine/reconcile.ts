import type { TargetConfig } from '../config/types.js';
import type { SecretStore, TwilioKeys } from '../core/ports.js';
import { formatCurrentSince, observationWarnings, plan, retiringKey } from '../core/planner.js';
import { isOwnKeyName } from '../core/rotation-id.js';
import { nextApiKeyValue, type AdminCredential } from '../core/secret-shapes.js';
import {
  isOutcome,
  TAG_CONFIRMED,
  TAG_CURRENT_SINCE,
  TAG_LAST_ERROR,
  TAG_PROMOTED,
  type Decision,
  type Observation,
  type PlannerSettings,
  type Step,
} from '../core/state.js';
import { errorMessage, RotationError } from '../errors.js';
import { redact } from '../redact.js';
import type { Runtime, RunOptions, StepRecord, TargetResult } from './context.js';
import { observe } from './observe.js';
import { newKeyWouldDiffer, resolvePolicy, type ResolvedPolicy } from './policy.js';
import { preview } from './preview.js';
import type { RunScope } from './scope.js';

/** A full rotation takes about ten steps; anything far beyond that is a bug, not progress. */
const MAX_STEPS = 25;

export function plannerSettings(target: TargetConfig, runtime: Runtime, options: RunOptions): PlannerSettings {
  return {
    prefix: target.friendlyNamePrefix,
    target: target.name,
    maxAgeMs: target.maxAgeMs,
    orphanGraceMs: runtime.orphanGraceMs,
    force: options.force ?? false,
    gate: {
      minOverlapMs: target.gate.minOverlapMs,
      maxWaitMs: target.gate.maxWaitMs,
      manualConfirm: target.gate.manualConfirm,
    },
  };
}

/** Tag values allow only a small character set on AWS; errors are reduced to it. */
function tagValue(text: string): string {
  return redact(text)
    .replace(/[^A-Za-z0-9 _.:/=+@-]/g, ' ')
    .replace(/\s+/g, ' ')
    .slice(0, 256);
}

export interface TargetSession {
  target: TargetConfig;
  store: SecretStore;
  keys: TwilioKeys;
  admin: AdminCredential;
  protectedSids: ReadonlySet<string>;
}

export async function openSession(target: TargetConfig, runtime: Runtime, scope: RunScope): Promise<TargetSession> {
  const admin = await scope.admin(target.admin, target.name);
  const protectedSids = new Set(await scope.protectedSids());
  if (admin.username.startsWith('SK')) protectedSids.add(admin.username);
  return { target, store: runtime.store(target.secret.store), keys: runtime.keys(admin, target), admin, protectedSids };
}

/** What one run learns as it goes: keys it proved, and a current key that verification refused. */
export interface RunFacts {
  verified: Set<string>;
  currentRefused?: { keySid: string; reason: string };
}

/** Looks, then adds the gate results when the planner asks for them. */
export async function decide(
  session: TargetSession,
  runtime: Runtime,
  settings: PlannerSettings,
  facts: RunFacts,
): Promise<{ obs: Observation; decision: Decision }> {
  const obs = await observe(session.store, () => session.keys.list(), session.target, {
    nowMs: runtime.now(),
    verified: facts.verified,
    protectedSids: session.protectedSids,
    ...(facts.currentRefused !== undefined ? { currentRefused: facts.currentRefused } : {}),
  });
  let decision = plan(obs, settings);
  if (decision.kind === 'check-gate' && obs.current) {
    const tags = obs.secret?.tags ?? {};
    obs.gate = {
      probes: await runtime.probe(session.target, obs.current.key.apiKeySid),
      confirmed: tags[TAG_CONFIRMED] === obs.current.versionId,
    };
    decision = plan(obs, settings);
  }
  return { obs, decision };
}

/** Brings one target as far along as it can go in this run. Never throws for a target's own failure. */
export async function reconcileTarget(
  target: TargetConfig,
  runtime: Runtime,
  scope: RunScope,
  options: RunOptions = {},
): Promise<TargetResult> {
  const steps: StepRecord[] = [];
  const log = runtime.logger.child({ target: target.name });
  let session: TargetSession | undefined;
  let current = 'read-state';
  try {
    session = await openSession(target, runtime, scope);
    if (options.dryRun) return await preview(session, runtime, plannerSettings(target, runtime, options));
    const settings = plannerSettings(target, runtime, options);
    const facts: RunFacts = { verified: new Set() };
    let resolved: ResolvedPolicy | undefined;
    const policyFor = async (obs: Observation) => {
      if (!resolved) {
        resolved = await resolvePolicy(target, session!.keys, obs.current?.key.apiKeySid);
        for (const warning of resolved.warnings) log.warn(warning, { step: 'resolve-policy' });
      }
      return resolved;
    };

    for (let i = 0; i < MAX_STEPS; i++) {
      current = 'observe';
      const { obs, decision } = await decide(session, runtime, settings, facts);
      if (i === 0) for (const warning of observationWarnings(obs, settings)) log.warn(warning, { step: 'observe' });
      if (isOutcome(decision)) {
        // A problem clears only when the target moves on; busy and stuck keep it for status to show.
        if (decision.kind === 'done' || decision.kind === 'waiting') await clearLastError(session, obs);
        if (decision.kind === 'busy') log.info(`busy: ${decision.reason}`, { step: 'busy' });
        else if (decision.kind === 'done')
          log.info(
            `done: current key ${decision.currentKeySid}, next rotation due ${new Date(decision.nextDueAtMs).toISOString()}`,
            { step: 'done', keySid: decision.currentKeySid },
          );
        else if (decision.kind === 'stuck')
          log.error(`stuck: ${decision.on.join('; ')}`, {
            step: 'stuck',
            ...(decision.previousKeySid ? { keySid: decision.previousKeySid } : {}),
          });
        else
          log.info(`waiting: old key ${decision.previousKeySid} kept until ${decision.on.join('; ')}`, {
            step: 'waiting',
            keySid: decision.previousKeySid,
          });
        return { target: target.name, steps, ...decision };
      }
      if (options.stopStartingAtMs !== undefined && runtime.now() >= options.stopStartingAtMs) {
        log.warn(`out of time before ${decision.kind}; the next run resumes here`, { step: decision.kind });
        return { target: target.name, steps, kind: 'deferred', detail: `stopped before ${decision.kind}: out of time` };
      }
      current = decision.kind;
      const result = await act(decision, obs, session, runtime, facts, settings, policyFor);
      steps.push({ step: decision.kind, detail: result.detail });
      // --force asks for one rotation, not one per loop.
      if (decision.kind === 'start-rotation') settings.force = false;
      const fields = {
        step: decision.kind,
        ...('versionId' in decision ? { rotationId: decision.versionId } : {}),
        ...('keySid' in decision ? { keySid: decision.keySid } : {}),
      };
      if (result.end?.kind === 'failed') log.error(result.detail, fields);
      else log.info(result.detail, fields);
      if (result.end) {
        if (result.end.kind === 'failed') await recordLastError(session, `${decision.kind}: ${result.end.error}`);
        return { target: target.name, steps, ...result.end };
      }
    }
    throw new RotationError(
      target.name,
      current,
      `no convergence after ${MAX_STEPS} steps; this is a bug, please report it with the log`,
    );
  } catch (err) {
    const message = redact(errorMessage(err));
    log.error(`failed at ${current}: ${message}`, { step: current });
    // A run that changed nothing writes nothing, not even the error: bad input must leave no trace.
    if (session && !options.dryRun && steps.length > 0) await recordLastError(session, `${current}: ${message}`);
    return { target: target.name, steps, kind: 'failed', step: current, error: message };
  }
}

async function recordLastError(session: TargetSession, message: string): Promise<void> {
  // Best effort: the store may be the very thing that is failing.
  await session.store
    .setTags(session.target.secret.secretId, { [TAG_LAST_ERROR]: tagValue(`${new Date().toISOString()} ${message}`) })
    .catch(() => undefined);
}

async function clearLastError(session: TargetSession, obs: Observation): Promise<void> {
  if (obs.secret?.tags[TAG_LAST_ERROR])
    await session.store.setTags(session.target.secret.secretId, { [TAG_LAST_ERROR]: '' });
}

type Ending =
  Extract<TargetResult, { kind: 'failed' | 'lost-race' }> extends infer T
    ? T extends unknown
      ? Omit<T, 'target' | 'steps'>
      : never
    : never;

interface ActResult {
  detail: string;
  end?: Ending;
}

/**
 * The only way the engine deletes a key. Refuses an admin credential and anything the secret still
 * labels current or pending, whatever the caller believed.
 */
async function deleteKey(session: TargetSession, obs: Observation, sid: string): Promise<string> {
  if (session.protectedSids.has(sid)) return 'kept: it is an admin credential';
  if (sid === obs.current?.key.apiKeySid || sid === obs.pending?.key.apiKeySid) return 'kept: the secret still uses it';
  return session.keys.remove(sid);
}

async function act(
  step: Step,
  obs: Observation,
  session: TargetSession,
  runtime: Runtime,
  facts: RunFacts,
  settings: PlannerSettings,
  policyFor: (obs: Observation) => Promise<ResolvedPolicy>,
): Promise<ActResult> {
  const { target, store, keys } = session;
  const secretId = target.secret.secretId;
  switch (step.kind) {
    case 'sweep-orphans': {
      const outcomes = [];
      for (const key of step.keys) outcomes.push(`${key.sid} (${await deleteKey(session, obs, key.sid)})`);
      return {
        detail: `revoked ${step.keys.length} orphan key(s) this rotator made for this target but never published: ${outcomes.join(', ')}`,
      };
    }
    case 'reserve-secret':
      await store.reserve(secretId);
      return { detail: `created secret "${secretId}" without a value; its first key is named after it` };
    case 'create-secret':
    case 'start-rotation': {
      const { policy } = await policyFor(obs);
      const created = await keys.create({ friendlyName: step.friendlyName, ...(policy ? { policy } : {}) });
      // Twilio will never show this secret again: store it before anything else can fail.
      const value = nextApiKeyValue(obs.current?.document, {
        accountSid: target.accountSid,
        apiKeySid: created.sid,
        apiKeySecret: created.secret,
        ...(target.validationUrl ? { validationUrl: target.validationUrl } : {}),
      });
      const put =
        step.kind === 'create-secret'
          ? await store.create(secretId, step.versionId, value)
          : await store.putPending(secretId, step.versionId, value);
      if (put === 'token-conflict') {
        const removed = await keys.remove(created.sid);
        return {
          detail: `another rotator stored rotation ${step.versionId} first; revoked our key ${created.sid} (${removed})`,
          end: { kind: 'lost-race', detail: `another rotator is handling rotation ${step.versionId}` },
        };
      }
      const where = step.kind === 'create-secret' ? 'stored it as AWSCURRENT' : 'stored it as AWSPENDING';
      return {
        detail: `created key ${created.sid} "${step.friendlyName}"${step.kind === 'start-rotation' ? ` because ${step.reason}` : ''}; ${where} (version ${step.versionId})`,
      };
    }
    case 'drop-dead-pending':
      await store.abandonPending(secretId, step.versionId);
      return {
        detail: `pending version ${step.versionId} names key ${step.keySid}, which no longer exists on Twilio; dropped the AWSPENDING label`,
      };
    case 'verify-pending':
    case 'verify-current': {
      const version = step.kind === 'verify-pending' ? obs.pending! : obs.current!;
      const resolved = await policyFor(obs);
      const result = await runtime
        .verifier(target)
        .verify(
          { accountSid: target.accountSid, sid: version.key.apiKeySid, secret: version.key.apiKeySecret },
          resolved.verifyMethod,
        );
      if (result.ok) {
        facts.verified.add(version.key.apiKeySid);
        return { detail: `key ${version.key.apiKeySid} authenticates against Twilio` };
      }
      const refused = `${result.reason}${result.hint ? `. ${result.hint}` : ''}`;
      if (step.kind === 'verify-pending' && result.definitive) {
        // Never published as current: take it back so no consumer ever picks up a key that does not work.
        await store.abandonPending(secretId, step.versionId);
        const ours = obs.keys.some(
          (k) => k.sid === step.keySid && isOwnKeyName(k.friendlyName, settings.prefix, obs.fingerprint ?? ''),
        );
        // AWSPENDING was just taken off it: the observation's pending no longer holds it.
        const removed = ours
          ? await deleteKey(session, { ...obs, pending: undefined }, step.keySid)
          : 'left alone: not provably made for this target';
        return {
          detail: `new key ${step.keySid} failed verification (${refused}); dropped AWSPENDING and revoked it (${removed})`,
          end: {
            kind: 'failed',
            step: step.kind,
            error: `new key ${step.keySid} failed verification (${refused}); it was revoked and the current key keeps serving`,
          },
        };
      }
      const unproven = obs.secret && obs.secret.tags[TAG_CURRENT_SINCE]?.split(' ')[0] !== version.versionId;
      if (step.kind === 'verify-current' && result.definitive && unproven && !retiringKey(obs, settings)) {
        // A current key that never proved itself. A key made from the configuration replaces it when
        // it would get other permissions; otherwise it would be refused too, and the config must change.
        if (await newKeyWouldDiffer(keys, version.key.apiKeySid, resolved)) {
          facts.currentRefused = { keySid: version.key.apiKeySid, reason: result.reason };
          return {
            detail: `current key ${version.key.apiKeySid} is refused (${refused}); a key with the configured policy replaces it`,
          };
        }
      }
      const why = result.definitive ? 'the key was refused' : 'Twilio could not be asked; the next run retries';
      return {
        detail: `could not verify key ${version.key.apiKeySid}: ${refused}`,
        end: {
          kind: 'failed',
          step: step.kind,
          error: `key ${version.key.apiKeySid} did not verify (${refused}): ${why}; nothing was deleted`,
        },
      };
    }
    case 'promote':
      // Recorded first: the previous key is retired later only after a promotion this record names.
      await store.setTags(secretId, { [TAG_PROMOTED]: `${step.fromVersionId} ${step.versionId}` });
      await store.promote(secretId, step.versionId);
      return {
        detail: `promoted version ${step.versionId} (key ${step.keySid}) to AWSCURRENT; the old current is AWSPREVIOUS`,
      };
    case 'mark-current':
      await store.setTags(secretId, { [TAG_CURRENT_SINCE]: formatCurrentSince(step.versionId, runtime.now()) });
      return { detail: `recorded version ${step.versionId} as current since now; the consumer gate counts from here` };
    case 'check-gate':
      throw new RotationError(target.name, step.kind, 'the gate was not evaluated; this is a bug');
    case 'retire-previous': {
      const removed = await deleteKey(session, obs, step.keySid);
      return { detail: `consumer gate passed; deleted the previous key ${step.keySid} on Twilio (${removed})` };
    }
  }
}
