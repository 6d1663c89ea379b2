import { CURRENT, PENDING, PREVIOUS, type StoredSecret } from '../core/ports.js';
import { observationWarnings, plan } from '../core/planner.js';
import {
  TAG_CONFIRMED,
  TAG_CURRENT_SINCE,
  TAG_PROMOTED,
  isOutcome,
  type Decision,
  type LabelledKey,
  type Observation,
  type PlannerSettings,
  type Step,
} from '../core/state.js';
import { describeVerifyMethod } from '../core/verify-method.js';
import type { Runtime, TargetResult } from './context.js';
import { describeDecision } from './describe.js';
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
  const verified = new Set<string>();
  let obs = await observe(session.store, () => keys.list(), target, {
    nowMs: runtime.now(),
    verified,
    protectedSids: session.protectedSids,
  });
  checks.push(
    `admin credential (${session.admin.kind}, ${session.admin.username}) can list keys on ${target.accountSid}: ${obs.keys.length} key(s)`,
  );
  checks.push(
    obs.current
      ? `secret "${obs.secretId}" is readable: AWSCURRENT is version ${obs.current.versionId}, key ${obs.current.key.apiKeySid}`
      : obs.secret
        ? `secret "${obs.secretId}" exists without a current version; the first run fills it`
        : `secret "${obs.secretId}" does not exist yet; the first run creates it`,
  );
  warnings.push(...observationWarnings(obs, settings));

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
        : `current key ${obs.current.key.apiKeySid} does NOT authenticate: ${v.reason}${v.hint ? `. ${v.hint}` : ''}`,
    );
    if (!v.ok) warnings.push(`the current key does not authenticate (${v.reason})`);
  }

  const how =
    resolved.verifyMethod.kind === 'url'
      ? `GET ${resolved.verifyMethod.url} with the key`
      : describeVerifyMethod(resolved.verifyMethod);
  const lines: string[] = [];
  for (let i = 0; i < 20; i++) {
    obs = { ...obs, verified };
    let decision: Decision = plan(obs, settings);
    if (decision.kind === 'check-gate' && obs.current) {
      const simulated = obs.current.key.apiKeySid === NEW_SID;
      obs.gate = {
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
    lines.push(`${isOutcome(decision) ? 'then ' : ''}${describeDecision(decision, obs, how)}`);
    if (isOutcome(decision)) break;
    obs = simulate(decision, obs);
    if (decision.kind === 'start-rotation') settings = { ...settings, force: false };
  }
  return { target: target.name, steps: [], kind: 'planned', plan: lines, checks, warnings };
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
function simulate(d: Step, obs: Observation): Observation {
  const now = obs.nowMs;
  const newKey = (versionId: string): LabelledKey => ({
    versionId,
    createdAtMs: now,
    key: { accountSid: '', apiKeySid: NEW_SID, apiKeySecret: '' },
    document: {},
  });
  const tagged = (tags: Record<string, string>) => ({ ...obs.secret!, tags: { ...obs.secret!.tags, ...tags } });
  switch (d.kind) {
    case 'sweep-orphans':
      return { ...obs, keys: obs.keys.filter((k) => !d.keys.includes(k)) };
    case 'reserve-secret':
      return {
        ...obs,
        secret: { secretId: obs.secretId, identity: '(new)', versions: [], allVersionIds: [], tags: {} },
        fingerprint: '<fngrprt>',
      };
    case 'create-secret':
      return {
        ...obs,
        secret: {
          ...obs.secret!,
          versions: [{ versionId: d.versionId, stages: [CURRENT], createdAtMs: now }],
          allVersionIds: [...obs.secret!.allVersionIds, d.versionId],
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
      const secret = withLabel(
        withLabel(tagged({ [TAG_PROMOTED]: `${d.fromVersionId} ${d.versionId}` }), obs.current!.versionId, PREVIOUS),
        d.versionId,
        CURRENT,
      );
      return {
        ...rest,
        secret,
        ...(pending ? { current: pending } : {}),
        ...(obs.current ? { previous: obs.current } : {}),
      };
    }
    case 'mark-current':
      return { ...obs, secret: tagged({ [TAG_CURRENT_SINCE]: `${d.versionId} ${new Date(now).toISOString()}` }) };
    case 'retire-previous':
      return { ...obs, keys: obs.keys.filter((k) => k.sid !== d.keySid) };
    case 'check-gate':
      return obs;
  }
}
