import { CURRENT, labelled, PREVIOUS, TAG_RETIRED } from '../../core/labels.js';
import { KEY_SID } from '../../core/sids.js';
import { SecretShapeError } from '../../errors.js';
import { readAdmin } from '../admin.js';

import type { KindModule, StepSpec } from '../kind.js';
import { apiKeyConfig, type ApiKeyTargetConfig } from './config.js';
import { describeStep } from './describe.js';
import { observe, type ApiKeySession } from './observe.js';
import type { Observation, PlannerSettings, Step } from './observation.js';
import { keyClaims } from './inventory.js';
import { keysLeftAlone, observationWarnings, orphanKeys, plan, promotionRecorded, replaceBlocked } from './plan.js';
import { resolvePolicy } from './policy.js';
import { apiKeyRollback } from './rollback.js';
import { parseApiKeySecret } from './shape.js';
import { plannerRotation, plannerSteps } from './table.js';
import { act, deleteKey } from './steps.js';
import { describeVerifyMethod } from './verify-method.js';

/**
 * How long a run that Twilio refused its admin Auth Token looks for the new one: a run that promotes
 * the token refreshes every admin secret holding it a few store writes after the promotion.
 */
const ADMIN_SETTLE_LOOKS = 4;
const ADMIN_SETTLE_PAUSE_MS = 500;

/**
 * API keys (Standard or Restricted) through Twilio's IAM v1 Keys API: create a key, store it as
 * AWSPENDING, verify it, make it current, wait for the consumer gate, delete the old key.
 * The state machine is ./plan.ts; docs/rotation-flow.md walks through it.
 */
type Settings = Omit<PlannerSettings, 'force' | 'emergency'>;
type Spec = StepSpec<Step, Observation, ApiKeySession, Settings>;
/** Every step acts through ./steps.ts and reads through ./describe.ts. */
const stepOf = (props: Partial<Spec> = {}): Spec => ({
  act: (step, obs, session, runtime, settings) => act(step, obs, session, runtime, session.facts, settings),
  describe: (step, obs, session) => describeStep(step, obs, session.target),
  ...props,
});

export const apiKey: KindModule<ApiKeyTargetConfig, ApiKeySession, Observation, Step, Settings> = {
  config: apiKeyConfig,

  async open(target, runtime, scope) {
    const admin = await scope.adminOf(target);
    const protectedSids = new Set(await scope.protectedSids());
    if (KEY_SID.test(admin.username)) protectedSids.add(admin.username);
    const session: ApiKeySession = {
      target,
      store: runtime.store(target.secret.store),
      keys: runtime.keys(admin, target),
      admin,
      protectedSids,
      heldElsewhere: (options) => scope.heldElsewhere?.(target, options) ?? Promise.resolve(new Map()),
      facts: { verified: new Set() },
    };
    const settings: Settings = {
      prefix: target.friendlyNamePrefix,
      target: target.name,
      maxAgeMs: target.maxAgeMs,
      orphanGraceMs: runtime.orphanGraceMs,
      gate: {
        minOverlapMs: target.gate.minOverlapMs,
        maxWaitMs: target.gate.maxWaitMs,
        manualConfirm: target.gate.manualConfirm,
      },
    };
    return { session, settings };
  },

  observe: (session, runtime) => observe(session, runtime, session.facts),
  plan,
  steps: plannerSteps(stepOf),
  rotation: plannerRotation,
  words: { noun: 'key', ref: KEY_SID, keyFields: true },
  emergency: {
    settleMs: () => 0,
    consequence: (overlap) =>
      `Every consumer still on the old key ${overlap} after the new key becomes current loses access.`,
  },

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

    async preflight(session, obs, runtime) {
      const { target } = session;
      const checks = [
        `admin credential (${session.admin.kind}, ${session.admin.username}) ` +
          `can list keys on ${target.accountSid}: ${obs.keys.length} key(s)`,
        obs.current
          ? `secret "${obs.secretId}" is readable: ` +
            `AWSCURRENT is version ${obs.current.versionId}, key ${obs.current.key.apiKeySid}`
          : obs.secret
            ? `secret "${obs.secretId}" exists without a current version; the first run fills it`
            : `secret "${obs.secretId}" does not exist yet; the first run creates it`,
      ];
      const resolved = await resolvePolicy(target, session.keys, obs.current?.key.apiKeySid);
      const warnings = [...resolved.warnings];
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
        const sid = obs.current.key.apiKeySid;
        checks.push(
          v.ok
            ? `current key ${sid} authenticates (${describeVerifyMethod(resolved.verifyMethod)})`
            : `current key ${sid} does NOT authenticate: ${v.reason}${v.hint ? `. ${v.hint}` : ''}`,
        );
        if (!v.ok) warnings.push(`the current key does not authenticate (${v.reason})`);
      }
      return { checks, warnings };
    },

    describeValue(value, source, target) {
      const key = parseApiKeySecret(source, value);
      if (key.accountSid.toUpperCase() !== target.accountSid.toUpperCase()) {
        throw new SecretShapeError(
          source,
          'accountSid',
          `is ${key.accountSid}, but target "${target.name}" rotates keys of ${target.accountSid}`,
        );
      }
      return `API key ${key.apiKeySid} for target "${target.name}"`;
    },

    confirmable(secret, target) {
      const current = labelled(secret, CURRENT)!;
      const source = { secretId: secret.secretId, versionId: current.versionId, stage: CURRENT };
      const { apiKeySid } = parseApiKeySecret(source, current.value, current.binary);
      // The gate waits on the current key while the previous key of the rotator's own promotion lives.
      const previous = labelled(secret, PREVIOUS);
      const waiting =
        previous !== undefined &&
        previous.versionId !== current.versionId &&
        secret.tags[TAG_RETIRED] !== previous.versionId &&
        promotionRecorded(target.secret.secretId, secret, previous.versionId, current.versionId);
      if (!waiting) return { nothing: 'no old key is waiting to be retired' };
      return { versionId: current.versionId, ref: apiKeySid };
    },
    holds(value, target) {
      try {
        const key = parseApiKeySecret({ secretId: target.secret.secretId }, value);
        return { ref: key.apiKeySid, keySid: key.apiKeySid, credential: key.apiKeySecret };
      } catch {
        return undefined; // not a key this target could have made: never a match
      }
    },
    warnings: observationWarnings,
    strays: keysLeftAlone,
  },

  capabilities: {
    replaceBlocked,
    rollback: apiKeyRollback,
    audit: {
      keys: (session, _runtime, obs) => (obs ? Promise.resolve(obs.keys) : session.keys.list()),
      claims: keyClaims,
      orphans: orphanKeys,
      revoke: deleteKey,
    },
    admin: {
      async replaced(session, runtime) {
        const { target, admin } = session;
        const store = runtime.store(target.admin.store);
        // Only an Auth Token is replaced by a rotator (another run's promotion); give its refresh a moment.
        const looks = admin.kind === 'auth-token' ? ADMIN_SETTLE_LOOKS : 1;
        for (let look = 0; look < looks; look++) {
          if (look > 0) await new Promise((resolve) => setTimeout(resolve, ADMIN_SETTLE_PAUSE_MS));
          await store.read(target.admin.secretId, { fresh: true });
          const now = await readAdmin(store, target.name, target.admin);
          if (now.username !== admin.username || now.password !== admin.password) return true;
        }
        return false;
      },
    },
  },
};
