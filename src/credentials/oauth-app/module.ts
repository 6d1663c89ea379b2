import { CURRENT, labelled, PREVIOUS, TAG_RETIRED } from '../../core/labels.js';
import { KEY_SID } from '../../core/sids.js';
import { RotationError, SecretShapeError } from '../../errors.js';
import { keyClaims } from '../api-key/inventory.js';
import type { Observation, PlannerSettings, Step } from '../api-key/observation.js';
import {
  keysLeftAlone,
  observationWarnings,
  orphanKeys,
  plan,
  promotionRecorded,
  replaceBlocked,
} from '../api-key/plan.js';
import { rollbackWith } from '../api-key/rollback.js';
import { plannerRotation, plannerSteps } from '../api-key/table.js';
import type { KindModule, StepSpec } from '../kind.js';
import { oauthAppConfig, type OAuthAppTargetConfig } from './config.js';
import { observe, type OAuthAppSession } from './observe.js';
import { appsOf, dryPort, type OAuthAppsPort } from './port.js';
import { CLIENT_ID, parseOAuthAppSecret } from './shape.js';
import { act, deleteApp, driftWarning, verifyApp, verifyMethodOf } from './steps.js';

/**
 * Account OAuth apps: a new app per rotation, with the configured policy and token TTL, stored as
 * AWSPENDING, verified (a token and one Bearer read), made current, and the old app deleted once the
 * consumer gate passes (docs/oauth-apps.md says why not the secret-rotation grace period). The
 * planner, the ownership rules (an app's name carries this target's fingerprint and rotation id) and
 * the audit's classification are the API-key kind's, unchanged; this folder holds what differs.
 */
type Settings = Omit<PlannerSettings, 'force' | 'emergency'>;
type Spec = StepSpec<Step, Observation, OAuthAppSession, Settings>;

/** The event's version holds an app (or is already current). */

const ORPHANS = 'made for this target, held by no version of the secret';
const TOKENS_TOO = 'and so do the access tokens it holds';

function words(step: Step, obs: Observation, target: OAuthAppTargetConfig): string {
  const old = obs.current?.key.apiKeySid ?? 'the old app';
  const verify = `a token for it, then ${verifyMethodOf(target).kind} with the token`;
  switch (step.kind) {
    case 'sweep-orphans':
      return `delete apps ${step.keys.map((k) => k.sid).join(', ')}: ${ORPHANS}`;
    case 'reserve-secret':
      return `create the secret "${obs.secretId}" without a value (its new apps are named after it)`;
    case 'create-secret':
      return `create app "${step.friendlyName}" and store it as AWSCURRENT (version ${step.versionId})`;
    case 'start-rotation':
      return `create app "${step.friendlyName}" and store it as AWSPENDING (version ${step.versionId}), because ${
        step.reason
      }`;
    case 'drop-dead-pending':
      return `drop AWSPENDING from version ${step.versionId}: its app ${step.keySid} no longer exists`;
    case 'clear-pending-label':
      return `take AWSPENDING off version ${step.versionId}, which is already AWSCURRENT`;
    case 'verify-pending':
    case 'verify-current':
      return `verify the ${step.kind === 'verify-pending' ? 'pending' : 'current'} app ${step.keySid}: ${verify}`;
    case 'promote':
      return `promote version ${step.versionId} to AWSCURRENT; ${old} becomes AWSPREVIOUS`;
    case 'mark-current':
      return `tag the secret: version ${step.versionId} current since now (the consumer gate counts from here)`;
    case 'retire-previous':
      return `delete the previous app ${step.keySid} on Twilio: the consumer gate has passed`;
  }
}

const stepOf = (props: Partial<Spec> = {}): Spec => ({
  act: (step, obs, session, runtime, settings) => act(step, obs, session, runtime, session.facts, settings),
  describe: (step, obs, session) => words(step, obs, session.target),
  ...props,
});

export const oauthApp: KindModule<OAuthAppTargetConfig, OAuthAppSession, Observation, Step, Settings> = {
  config: oauthAppConfig,

  async open(target, runtime, scope) {
    const port = runtime.ports?.['oauth-app'] as OAuthAppsPort | undefined;
    if (!port)
      throw new RotationError(target.name, 'open', 'this run cannot reach OAuth apps (no port); this is a bug');
    const admin = await scope.adminOf(target);
    const protectedSids = new Set(await scope.protectedSids());
    if (KEY_SID.test(admin.username)) protectedSids.add(admin.username);
    const session: OAuthAppSession = {
      target,
      store: runtime.store(target.secret.store),
      apps: appsOf(port, admin, target.accountSid),
      verifier: port,
      admin,
      protectedSids,
      heldElsewhere: (options) => scope.heldElsewhere?.(target, options) ?? Promise.resolve(new Map()),
      facts: { verified: new Set() },
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
  },

  observe: (session, runtime) => observe(session, runtime, session.facts),
  plan,
  steps: plannerSteps(stepOf),
  rotation: plannerRotation,
  words: { noun: 'app', ref: CLIENT_ID },
  emergency: {
    settleMs: () => 0,
    consequence: (overlap) =>
      `Every consumer still on the old app ${overlap} after the new app becomes current loses access, ${TOKENS_TOO}.`,
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

    async preflight(session, obs) {
      const { target, admin } = session;
      const listed = `${obs.keys.length} app(s)`;
      const current = obs.current?.key.apiKeySid;
      const checks = [
        `admin credential (${admin.kind}, ${admin.username}) can list OAuth apps on ${target.accountSid}: ${listed}`,
        obs.current
          ? `secret "${obs.secretId}" is readable: AWSCURRENT is version ${obs.current.versionId}, app ${current}`
          : `secret "${obs.secretId}" has no current version yet; the first run fills it`,
        `new apps get ${target.policy.allow.length} permission(s) and a token TTL of ${target.accessTokenTtlSeconds} s`,
      ];
      const warnings: string[] = [];
      const drift = driftWarning(session.facts, obs, target);
      if (drift) warnings.push(drift);
      if (obs.current) {
        const v = await verifyApp(session, session.facts, obs.current);
        const sid = obs.current.key.apiKeySid;
        const refused = v.ok ? '' : `${v.reason}${v.hint ? `. ${v.hint}` : ''}`;
        checks.push(
          v.ok ? `current app ${sid} gets a token and reads with it` : `current app ${sid} does NOT work: ${refused}`,
        );
        if (!v.ok) warnings.push(`the current app does not work (${v.reason})`);
      }
      return { checks, warnings };
    },

    describeValue(value, source, target) {
      const { key } = parseOAuthAppSecret(source, value);
      if (key.accountSid.toUpperCase() !== target.accountSid.toUpperCase()) {
        const problem = `is ${key.accountSid}, but target "${target.name}" rotates apps of ${target.accountSid}`;
        throw new SecretShapeError(source, 'accountSid', problem);
      }
      return `OAuth app ${key.apiKeySid} for target "${target.name}"`;
    },

    confirmable(secret, target) {
      const current = labelled(secret, CURRENT)!;
      const source = { secretId: secret.secretId, versionId: current.versionId, stage: CURRENT };
      const { key } = parseOAuthAppSecret(source, current.value, current.binary);
      const previous = labelled(secret, PREVIOUS);
      const waiting =
        previous !== undefined &&
        previous.versionId !== current.versionId &&
        secret.tags[TAG_RETIRED] !== previous.versionId &&
        promotionRecorded(target.secret.secretId, secret, previous.versionId, current.versionId);
      if (!waiting) return { nothing: 'no old app is waiting to be retired' };
      return { versionId: current.versionId, ref: key.apiKeySid };
    },
    warnings: observationWarnings,
    strays: keysLeftAlone,
  },

  capabilities: {
    replaceBlocked,
    // Rollback as for API keys (same planner and naming): the app proved by a token, deleted by deleteApp.
    rollback: rollbackWith<OAuthAppSession>({
      noun: 'app',
      verify: (session, _runtime, _obs, version) => verifyApp(session, session.facts, version),
      remove: (session, obs, sid) => deleteApp(session, obs, sid),
    }),
    dryRun: (real) => dryPort(real as OAuthAppsPort),
    audit: {
      keys: async (session, _runtime, obs) => obs?.keys ?? (await session.apps.list()),
      claims: keyClaims,
      orphans: orphanKeys,
      revoke: deleteApp,
    },
  },
};
