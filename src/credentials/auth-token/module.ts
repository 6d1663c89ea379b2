import { CURRENT, labelled, parseStamp, PENDING, recordedPromotion, TAG_CURRENT_SINCE } from '../../core/labels.js';
import type { Runtime } from '../../core/runtime.js';
import type { AdminCredential } from '../../core/secret-values.js';
import { UsageError } from '../../errors.js';
import { readAdmin } from '../admin.js';
import type { KindModule, RotationView } from '../kind.js';
import { authTokenConfig, type AuthTokenTargetConfig } from './config.js';
import { recordLeaked } from './leaked.js';
import { observe, targetToken, tokenVersion, type AuthTokenSession } from './observe.js';
import { TAG_PENDING_SINCE, TAG_SECONDARY_INTENT, TAG_SETTLED, type Observation, type Step } from './observation.js';
import { plan, warnings } from './plan.js';
import { planRollback } from './rollback.js';
import { parseAuthTokenSecret, tokenFingerprint, TOKEN_FINGERPRINT } from './shape.js';
import { refusedSelf, steps, type Settings } from './steps.js';
import { tokenCurrent, tokenFilled, tokenFinished, tokenStaged } from '../settled.js';
import { testPending } from './direct.js';

/** The token's version holds a token, pending or already current. */
const filled = (obs: Observation, token: string) =>
  obs.pending?.versionId === token || obs.current?.versionId === token;

/**
 * Secrets Manager's events as a view of the planner told the token (./plan.ts tokenStep): createSecret
 * makes the secondary into the token's version, testSecret proves it, finishSecret promotes it only once
 * the consumer gate has passed (until then the event fails, Secrets Manager retries, and the scheduled
 * run may promote it first). Settling after the propagation delay is the scheduled run's.
 */
const rotation: RotationView<Step, Observation, AuthTokenTargetConfig> = {
  createSecret: { steps: ['abandon-creation', 'start-rotation'], done: filled, settled: tokenFilled },
  setSecret: { steps: [], done: (o, t) => tokenStaged(o.secret, t), settled: tokenStaged },
  testSecret: {
    steps: ['drop-dead-pending', 'mark-pending'],
    settled: tokenCurrent,
    direct: (target) => (secret, token, runtime) => testPending(secret, token, target, runtime),
    done: (o, t) =>
      o.current?.versionId === t ||
      (o.pending?.versionId === t &&
        o.checks.get(o.pending.ref)?.ok === true &&
        parseStamp(o.secret?.tags[TAG_PENDING_SINCE], t) !== undefined),
  },
  finishSecret: {
    steps: ['drop-dead-pending', 'mark-pending', 'promote', 'finish-promotion', 'clear-pending-label', 'mark-current'],
    settled: tokenFinished,
    done: (o, t) =>
      o.current?.versionId === t &&
      parseStamp(o.secret?.tags[TAG_CURRENT_SINCE], t) !== undefined &&
      !o.secret?.versions.some((v) => v.versionId === t && v.stages.includes(PENDING)),
  },
};

/**
 * The account's Auth Token: create a secondary, store it as AWSPENDING, prove it, wait for the consumer
 * gate, promote it (the old primary dies at once), move AWSCURRENT in the same step, wait out
 * propagation and prove the promotion took. The state machine is ./plan.ts; docs/auth-token-flow.md
 * walks through it.
 */
export const authToken: KindModule<AuthTokenTargetConfig, AuthTokenSession, Observation, Step, Settings> = {
  config: authTokenConfig,

  async open(target, runtime, scope, options) {
    const store = runtime.store(target.secret.store);
    // A run told to rotate names a version: one read gets every id it needs.
    const rotating = options.force === true || options.emergency !== undefined;
    // Read afresh on every use: after a promotion the admin credential is the new token.
    const admin = () => readAdmin(runtime.store(target.admin.store), target.name, target.admin);
    if (target.selfManaged) {
      // The token's own secret is the admin credential: judge it as the token secret it is first, so
      // a bad value gets the token secret's messages. An empty secret needs no admin yet (the plan
      // says to store the token).
      const secret = await store.read(target.secret.secretId, { versionIds: rotating });
      if (secret && tokenVersion(secret, CURRENT, target)) await checkAdmin(target, await admin(), runtime);
    } else await checkAdmin(target, await admin(), runtime);
    const session: AuthTokenSession = {
      target,
      store,
      scope,
      admin,
      authTokens: async () => runtime.authTokens(await admin(), target),
      facts: { checks: new Map() },
      rotating,
    };
    const settings: Settings = {
      target: target.name,
      maxAgeMs: target.maxAgeMs,
      gate: {
        minOverlapMs: target.gate.minOverlapMs,
        maxWaitMs: target.gate.maxWaitMs,
        manualConfirm: target.gate.manualConfirm,
      },
      propagationDelayMs: target.propagationDelayMs,
      creationWindowMs: 2 * runtime.callBudgetMs + 5000,
      replaceSecondary: options.replaceSecondary ?? false,
    };
    return { session, settings };
  },

  observe: (session, runtime) => observe(session, runtime, session.facts),
  plan,
  steps,
  rotation,
  words: {
    noun: 'token',
    ref: TOKEN_FINGERPRINT,
    waiting: (kept) => `waiting; ${kept} stays the current token`,
    secondary: true,
  },
  // A promotion replaces the token other targets' admin secrets may hold (and refreshes those
  // secrets), so the targets that use them start after it and read the new one.
  order: 'first',
  emergency: {
    settleMs: (target) => target.propagationDelayMs,
    consequence: (overlap) =>
      `Every consumer still on the old token ${overlap} after the new one is stored loses access at the promotion, ` +
      'and webhooks are signed with the new token from then on.',
    beforePass: recordLeaked,
  },

  report: {
    holds(value, target) {
      try {
        const token = parseAuthTokenSecret({ secretId: target.secret.secretId }, value).authToken;
        return { ref: tokenFingerprint(token), credential: token };
      } catch {
        return undefined; // not a token this target could have made: never a match
      }
    },
    summary(obs, target) {
      const current = obs.current;
      if (!current) return { gone: false };
      return {
        ref: current.ref,
        versionId: current.versionId,
        createdAtMs: current.createdAtMs,
        nextDueAtMs: current.createdAtMs + target.maxAgeMs,
        gone: obs.checks.get(current.ref)?.ok === false,
      };
    },

    async preflight(session, obs) {
      const { target } = session;
      const admin = await session.admin();
      const checks = [
        target.selfManaged
          ? `the Auth Token manages itself (secret "${target.secret.secretId}")`
          : `admin credential (${admin.kind}, ${admin.username}) may manage Auth Tokens of ${target.accountSid}`,
      ];
      const current = obs.current;
      if (current) {
        const c = obs.checks.get(current.ref);
        checks.push(
          c?.ok
            ? `current token ${current.ref} works` +
                (c.primary ? ' and is the primary' : ', but Twilio does not report it as the primary')
            : `current token ${current.ref} is REFUSED: ${c?.reason ?? 'not checked'}`,
        );
      }
      if (obs.pending)
        checks.push(`a rotation is under way: pending token ${obs.pending.ref} (version ${obs.pending.versionId})`);
      return { checks, warnings: [] };
    },

    describeValue(value, source, target) {
      const secret = targetToken(source, value, false, target);
      return `Auth Token ${tokenFingerprint(secret.authToken)} of ${secret.accountSid} (target "${target.name}")`;
    },

    confirmable(secret) {
      // The gate of an Auth Token waits before the promotion, on a stored pending token.
      const version = labelled(secret, PENDING);
      const current = labelled(secret, CURRENT)!;
      if (!version || version.versionId === current.versionId || version.value === undefined)
        return { nothing: 'no new token is pending' };
      const source = { secretId: secret.secretId, versionId: version.versionId, stage: PENDING };
      const { authToken } = parseAuthTokenSecret(source, version.value, version.binary);
      return { versionId: version.versionId, ref: tokenFingerprint(authToken) };
    },
    warnings,
  },

  capabilities: {
    rollback: { plan: planRollback },
    async abort(session, runtime) {
      const obs = await observe(session, runtime, { checks: new Map() });
      const pending = obs.pending;
      const { current, previous, secret } = obs;
      const deadAlready = (newRef: string, oldRef: string, next: string) => {
        const already = `the rotation was already promoted: ${newRef} is the primary token`;
        const what = `target "${session.target.name}": ${already}`;
        const dead = `the old token ${oldRef} is already dead on Twilio and nothing can bring it back`;
        return new UsageError(`${what}, and ${dead}. There is nothing to abort; ${next}`);
      };
      if (!pending) {
        // After a promotion of this rotator's: abort cannot undo it, and must not say "nothing to do".
        if (current && previous && secret && recordedPromotion(secret, previous.versionId, current.versionId)) {
          const settled = secret.tags[TAG_SETTLED] === current.versionId;
          const next = settled ? 'every consumer must use the new token (AWSCURRENT).' : 'run rotate to finish it.';
          throw deadAlready(current.ref, previous.ref, next);
        }
        return `nothing to abort: no rotation of ${session.target.name} is waiting for promotion`;
      }
      const promoted = () => deadAlready(pending.ref, current?.ref ?? 'the previous one', 'run rotate to finish it.');
      const state = obs.checks.get(pending.ref);
      if (state?.ok && state.primary) throw promoted();
      const secretId = session.target.secret.secretId;
      let deleted = 'it no longer existed on Twilio';
      // A working pending token that is not the primary is the account's one secondary: this rotator's.
      // A self-managed token refused as the admin credential means a racing run promoted it meanwhile.
      const removal = state?.ok
        ? await (await session.authTokens()).deleteSecondary().catch((err: unknown) => {
            if (refusedSelf(session, err)) return 'refused' as const;
            throw err;
          })
        : 'none';
      if (removal === 'deleted') deleted = 'deleted it on Twilio';
      else {
        // Gone: deleted outside, or promoted by a rotate run racing this abort. A promoted token is kept.
        const again = await runtime.tokenVerifier(session.target).check(session.target.accountSid, pending.token);
        if (again.ok && again.primary) throw promoted();
        const none = `${pending.ref} still works but Twilio says there is no secondary`;
        const what = `target "${session.target.name}": ${none}`;
        if (again.ok) throw new UsageError(`${what}; nothing was changed. Run status and try again`);
      }
      await session.store.abandonPending(secretId, pending.versionId);
      await session.store.setTags(secretId, { [TAG_PENDING_SINCE]: '', [TAG_SECONDARY_INTENT]: '' });
      const kept = `${obs.current?.ref ?? 'the current token'} stays the primary`;
      const dropped = `dropped AWSPENDING (version ${pending.versionId})`;
      return `aborted the rotation: the secondary token ${pending.ref} — ${deleted}; ${dropped}; ${kept}`;
    },
    audit: {
      // An Auth Token claims no key; its admin credential lists the account's keys for the audit.
      keys: async (session, runtime) => runtime.keys(await session.admin(), session.target).list(),
    },
  },
};

/**
 * Before any change: only the account's own Auth Token or a Main key of the account may manage its
 * Auth Tokens. A Standard or Restricted key never can, and a credential of another account (a parent)
 * would rotate that account's token instead.
 */
async function checkAdmin(target: AuthTokenTargetConfig, admin: AdminCredential, runtime: Runtime): Promise<void> {
  const refuse = (why: string) =>
    new UsageError(
      `target "${target.name}": the admin credential ${why}. ` +
        "Use the account's Auth Token (leave admin out: the token manages itself) " +
        `or a Main key of ${target.accountSid}; nothing was changed`,
    );
  if (admin.accountSid.toUpperCase() !== target.accountSid.toUpperCase())
    throw refuse(`belongs to ${admin.accountSid}: Twilio would rotate that account's Auth Token`);
  if (admin.kind === 'auth-token') return;
  // Only a Main key may read /v1/Keys (a Standard key is refused) and it has no policy (a Restricted key has one).
  const policy = await runtime
    .keys(admin, target)
    .fetchPolicy(admin.username)
    .catch(() => 'refused' as const);
  if (policy === 'refused')
    throw refuse(`${admin.username} is not a Main key (Twilio refused it on /v1/Keys, as it refuses Standard keys)`);
  if (policy !== null)
    throw refuse(
      `${admin.username} is ` +
        (policy === undefined ? 'not a key of this account' : 'a Restricted key, and no permission covers Auth Tokens'),
    );
}
