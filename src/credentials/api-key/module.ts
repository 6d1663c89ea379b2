import type { TwilioKeys } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import { KEY_SID } from '../../core/sids.js';
import { readAdmin } from '../admin.js';
import type { KindModule } from '../kind.js';
import { namedKind, openNamed, preflightHead, type Settings } from '../named/module.js';
import type { Observation, RunFacts, Step } from '../named/observation.js';
import type { NamedPort, NamedSession } from '../named/port.js';
import { apiKeyConfig, type ApiKeyTargetConfig } from './config.js';
import { newKeyWouldDiffer, resolvePolicy, type ResolvedPolicy } from './policy.js';
import { nextApiKeyValue, parseApiKeySecret } from './shape.js';
import { describeVerifyMethod, verifyMethodFor } from './verify-method.js';

/**
 * API keys (Standard or Restricted) through Twilio's IAM v1 Keys API: a named credential
 * (../named/), made with the configured policy and proven with a GET the key itself may make.
 * The state machine is ../named/plan.ts; docs/rotation-flow.md walks through it.
 */
export interface ApiKeySession extends NamedSession<ApiKeyTargetConfig, RunFacts & { policy?: ResolvedPolicy }> {
  keys: TwilioKeys;
}

/**
 * How long a run that Twilio refused its admin Auth Token looks for the new one: a run that promotes
 * the token refreshes every admin secret holding it a few store writes after the promotion.
 */
const ADMIN_SETTLE_LOOKS = 4;
const ADMIN_SETTLE_PAUSE_MS = 500;

/** The policy a new key gets and how to prove a key works; resolved once per run, its warnings logged. */
async function policyFor(session: ApiKeySession, runtime: Runtime, obs: Observation): Promise<ResolvedPolicy> {
  const { facts, target } = session;
  if (!facts.policy) {
    facts.policy = await resolvePolicy(target, session.keys, obs.current?.key.apiKeySid);
    for (const warning of facts.policy.warnings)
      runtime.logger.warn(warning, { target: target.name, step: 'resolve-policy' });
  }
  return facts.policy;
}

const port: NamedPort<ApiKeySession> = {
  noun: 'key',
  title: 'API key',
  remove: { verb: 'revoke', done: 'revoked' },
  works: 'authenticates against Twilio',
  parse: (source, raw, binary) => {
    const { document, ...key } = parseApiKeySecret(source, raw, binary);
    return { key, document };
  },
  list: (session, expect) => session.keys.list({ expect }),
  prefetch: (session) => session.keys.list(),
  async create(session, runtime, obs, { friendlyName }) {
    const { target } = session;
    const { policy } = await policyFor(session, runtime, obs);
    const created = await session.keys.create({ friendlyName, ...(policy ? { policy } : {}) });
    const value = nextApiKeyValue(obs.current?.document, {
      accountSid: target.accountSid,
      apiKeySid: created.sid,
      apiKeySecret: created.secret,
      ...(target.validationUrl ? { validationUrl: target.validationUrl } : {}),
    });
    return { sid: created.sid, value };
  },
  delete: (session, sid) => session.keys.remove(sid),
  async verify(session, runtime, obs, { key }) {
    const { verifyMethod } = await policyFor(session, runtime, obs);
    const { accountSid } = session.target;
    return runtime
      .verifier(session.target)
      .verify({ accountSid, sid: key.apiKeySid, secret: key.apiKeySecret }, verifyMethod);
  },
  verifyAlone(target) {
    // The method policyFor resolves, where the configuration alone gives it: an inherited policy is read
    // from the current key on Twilio with the admin credential.
    const explicit = target.policy?.mode === 'explicit' ? { allow: target.policy.allow } : undefined;
    const policy = target.keyType === 'standard' ? null : explicit;
    // Only a GET under the target account's own path proves the key is that account's (another account's
    // key is refused there); `fetch-own-key` (GET /v1/Keys/<sid>) and a `url` answer for a key of any
    // account, so those go to the look, which finds the key on the account's list or refuses.
    const method = policy === undefined ? undefined : verifyMethodFor(policy, target.validationUrl);
    if (method?.kind !== 'list-incoming-phone-numbers' && method?.kind !== 'list-messages') return undefined;
    const { accountSid } = target;
    return (runtime, key) =>
      runtime.verifier(target).verify({ accountSid, sid: key.apiKeySid, secret: key.apiKeySecret }, method);
  },
  wouldDiffer: async (session, runtime, obs, sid) =>
    newKeyWouldDiffer(session.keys, sid, await policyFor(session, runtime, obs)),
  howToVerify(target) {
    if (target.validationUrl) return `GET ${target.validationUrl} with the key`;
    if (target.keyType === 'standard') return 'GET IncomingPhoneNumbers (PageSize=1) with the key';
    return 'one GET its policy allows (IncomingPhoneNumbers or Messages list, or its own key), with the key';
  },
};

const named = namedKind<ApiKeyTargetConfig, ApiKeySession>(port);

export const apiKey: KindModule<ApiKeyTargetConfig, ApiKeySession, Observation, Step, Settings> = {
  ...named,
  config: apiKeyConfig,

  async open(target, runtime, scope, options) {
    const { session, settings } = await openNamed(target, runtime, scope, options);
    return { session: { ...session, keys: runtime.keys(session.admin, target) }, settings };
  },

  words: { noun: 'key', ref: KEY_SID, keyFields: true },
  emergency: {
    settleMs: () => 0,
    consequence: (overlap) =>
      `Every consumer still on the old key ${overlap} after the new key becomes current loses access.`,
  },

  report: {
    ...named.report,
    async preflight(session, obs, runtime) {
      const { target } = session;
      const checks = preflightHead(session, obs, 'key', 'keys');
      const resolved = await resolvePolicy(target, session.keys, obs.current?.key.apiKeySid);
      const warnings = [...resolved.warnings];
      checks.push(
        resolved.policy
          ? `new keys are Restricted with ${resolved.policy.allow.length} permission(s)`
          : 'new keys are Standard',
      );
      if (obs.current) {
        const { apiKeySid: sid, apiKeySecret: secret } = obs.current.key;
        const v = await runtime
          .verifier(target)
          .verify({ accountSid: target.accountSid, sid, secret }, resolved.verifyMethod);
        const hint = !v.ok && v.hint ? `. ${v.hint}` : '';
        checks.push(
          v.ok
            ? `current key ${sid} authenticates (${describeVerifyMethod(resolved.verifyMethod)})`
            : `current key ${sid} does NOT authenticate: ${v.reason}${hint}`,
        );
        if (!v.ok) warnings.push(`the current key does not authenticate (${v.reason})`);
      }
      return { checks, warnings };
    },
    holds(value, target) {
      try {
        const key = parseApiKeySecret({ secretId: target.secret.secretId }, value);
        return { ref: key.apiKeySid, keySid: key.apiKeySid, credential: key.apiKeySecret };
      } catch {
        return undefined; // not a key this target could have made: never a match
      }
    },
  },

  capabilities: {
    ...named.capabilities,
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
