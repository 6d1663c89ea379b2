import { CURRENT, PENDING, PREVIOUS, type StoredSecret } from '../core/ports.js';
import { plan } from '../core/planner.js';
import {
  TAG_CONFIRMED,
  TAG_CURRENT_SINCE,
  isOutcome,
  type Decision,
  type LabelledKey,
  type Observation,
  type PlannerSettings,
} from '../core/state.js';
import { describeVerifyMethod } from '../core/verify-method.js';
import type { Runtime, TargetResult } from './context.js';
import { observe } from './observe.js';
import { resolvePolicy } from './policy.js';
import type { TargetSession } from './reconcile.js';

const NEW_SID = 'SK(new)';

/**
 * `rotate --dry-run`: one real, read-only look (store read, key list, policy fetch, a GET with the
 * current key, consumer probes), then the planner runs against a simulated world in which every
 * step succeeds, so the plan shows the whole path this run would take and why. Nothing is written.
 */
export async function preview(
  session: TargetSession,
  runtime: Runtime,
  initial: PlannerSettings,
): Promise<TargetResult> {
  const { target, keys } = session;
  let settings = initial;
  const checks: string[] = [];
  const warnings: string[] = [];
  let obs = await observe(session.store, () => keys.list(), target, runtime.now(), new Set());
  checks.push(
    `admin credential (${session.admin.kind}, ${session.admin.username}) can list keys on ${target.accountSid}: ${obs.keys.length} key(s)`,
  );
  checks.push(
    obs.current
      ? `secret "${obs.secretId}" is readable: AWSCURRENT is version ${obs.current.versionId}, key ${obs.current.key.apiKeySid}`
      : `secret "${obs.secretId}" does not exist yet; the first run creates it`,
  );

  const resolved = await resolvePolicy(target, keys, obs.current?.key.apiKeySid);
  warnings.push(...resolved.warnings);
  checks.push(
    resolved.policy
      ? `new keys are Restricted with ${resolved.policy.allow.length} permission(s)`
      : 'new keys are Standard',
  );
  if (obs.current) {
    const v = await runtime
      .verifier(target)
      .verify(
        { accountSid: target.accountSid, sid: obs.current.key.apiKeySid, secret: obs.current.key.apiKeySecret },
        resolved.verifyMethod,
      );
    checks.push(
      v.ok
        ? `current key ${obs.current.key.apiKeySid} authenticates (${describeVerifyMethod(resolved.verifyMethod)})`
        : `current key ${obs.current.key.apiKeySid} does NOT authenticate: ${v.reason}`,
    );
    if (!v.ok) warnings.push(`the current key does not authenticate (${v.reason})`);
  }

  const lines: string[] = [];
  const verified = new Set<string>();
  for (let i = 0; i < 20; i++) {
    obs = { ...obs, verified };
    let decision: Decision = plan(obs, settings);
    if (decision.kind === 'check-gate' && obs.current) {
      const simulated = obs.current.key.apiKeySid === NEW_SID;
      obs.gate = {
        sinceMs: obs.nowMs,
        probes: simulated
          ? target.gate.probes.map((p) => ({
              url: p.url,
              ok: false,
              problem: 'will report the old key until the consumer reloads',
            }))
          : await runtime.probe(target, obs.current.key.apiKeySid),
        confirmed: obs.secret?.tags[TAG_CONFIRMED] === obs.current.versionId,
      };
      decision = plan(obs, settings);
    }
    if (isOutcome(decision)) {
      if (decision.kind === 'busy') lines.push(`then nothing: ${decision.reason}`);
      else if (decision.kind === 'done')
        lines.push(
          `then nothing: current key ${decision.currentKeySid} is fine until ${new Date(decision.nextDueAtMs).toISOString()}`,
        );
      else
        lines.push(
          `then ${decision.kind === 'stuck' ? 'STUCK' : 'wait'}: keep the previous key ${decision.previousKeySid} until ${decision.on.join('; ')}`,
        );
      break;
    }
    lines.push(
      describe(
        decision,
        obs,
        resolved.verifyMethod.kind === 'url' ? resolved.verifyMethod.url : describeVerifyMethod(resolved.verifyMethod),
      ),
    );
    obs = simulate(decision, obs);
    if (decision.kind === 'start-rotation') settings = { ...settings, force: false };
  }
  return { target: target.name, steps: [], kind: 'planned', plan: lines, checks, warnings };
}

function describe(
  d: Exclude<Decision, { kind: 'done' | 'waiting' | 'stuck' | 'busy' }>,
  obs: Observation,
  how: string,
): string {
  switch (d.kind) {
    case 'sweep-orphans':
      return `revoke ${d.keys.map((k) => k.sid).join(', ')}: made by this rotator, referenced by no version of the secret (a crashed or lost run)`;
    case 'create-secret':
      return `create key "${d.friendlyName}" and create the secret with it as AWSCURRENT (version ${d.versionId}), because the secret does not exist`;
    case 'start-rotation':
      return `create key "${d.friendlyName}" and store it as AWSPENDING (version ${d.versionId}), because ${d.reason}`;
    case 'drop-dead-pending':
      return `drop AWSPENDING from version ${d.versionId}: its key ${d.keySid} no longer exists`;
    case 'verify-pending':
      return `verify the pending key ${d.keySid}: ${how}`;
    case 'promote':
      return `promote version ${d.versionId} to AWSCURRENT; ${obs.current?.key.apiKeySid ?? 'the old key'} becomes AWSPREVIOUS`;
    case 'verify-current':
      return `verify the current key ${d.keySid}: ${how}`;
    case 'mark-current':
      return `tag the secret: version ${d.versionId} current since now (the consumer gate counts from here)`;
    case 'check-gate':
      return 'check the consumer gate';
    case 'retire-previous':
      return `delete the previous key ${d.keySid} on Twilio: the consumer gate has passed`;
  }
}

function withLabel(secret: StoredSecret, versionId: string, stage: string): StoredSecret {
  return {
    ...secret,
    versions: secret.versions.map((v) => ({
      ...v,
      stages:
        v.versionId === versionId
          ? [...v.stages.filter((s) => s !== stage), stage]
          : v.stages.filter((s) => s !== stage),
    })),
  };
}

/** The world as it would be after `d` succeeded. Only what the planner reads is modelled. */
function simulate(d: Decision, obs: Observation): Observation {
  const now = obs.nowMs;
  const newKey = (versionId: string): LabelledKey => ({
    versionId,
    createdAtMs: now,
    key: { accountSid: '', apiKeySid: NEW_SID, apiKeySecret: '' },
  });
  switch (d.kind) {
    case 'sweep-orphans':
      return { ...obs, keys: obs.keys.filter((k) => !d.keys.includes(k)) };
    case 'create-secret':
      return {
        ...obs,
        secret: {
          secretId: obs.secretId,
          versions: [{ versionId: d.versionId, stages: [CURRENT], createdAtMs: now }],
          allVersionIds: [d.versionId],
          tags: {},
        },
        current: newKey(d.versionId),
        keys: [...obs.keys, { sid: NEW_SID, friendlyName: d.friendlyName, createdAtMs: now }],
      };
    case 'start-rotation':
      return {
        ...obs,
        secret: {
          ...obs.secret!,
          versions: [...obs.secret!.versions, { versionId: d.versionId, stages: [PENDING], createdAtMs: now }],
          allVersionIds: [...obs.secret!.allVersionIds, d.versionId],
        },
        pending: newKey(d.versionId),
        keys: [...obs.keys, { sid: NEW_SID, friendlyName: d.friendlyName, createdAtMs: now }],
      };
    case 'drop-dead-pending': {
      const { pending: _dropped, ...rest } = obs;
      return rest;
    }
    case 'verify-pending':
    case 'verify-current':
      (obs.verified as Set<string>).add(d.keySid);
      return obs;
    case 'promote': {
      const { pending, ...rest } = obs;
      return {
        ...rest,
        secret: withLabel(withLabel(obs.secret!, obs.current!.versionId, PREVIOUS), d.versionId, CURRENT),
        ...(pending ? { current: pending } : {}),
        ...(obs.current ? { previous: obs.current } : {}),
      };
    }
    case 'mark-current':
      return {
        ...obs,
        secret: {
          ...obs.secret!,
          tags: { ...obs.secret!.tags, [TAG_CURRENT_SINCE]: `${d.versionId} ${new Date(now).toISOString()}` },
        },
      };
    case 'retire-previous':
      return { ...obs, keys: obs.keys.filter((k) => k.sid !== d.keySid) };
    default:
      return obs;
  }
}
