import type { OAuthApp, TwilioOAuthApps, VerifyMethod } from '../../core/ports.js';
import { RotationError } from '../../errors.js';
import type { KindModule } from '../kind.js';
import { namedKind, openNamed, preflightHead, type Settings } from '../named/module.js';
import type { Observation, RunFacts, Step } from '../named/observation.js';
import type { NamedPort, NamedSession } from '../named/port.js';
import { verifyNamed } from '../named/steps.js';
import { permissionDrift } from '../api-key/policy.js';
import { oauthAppConfig, VERIFY_READS, type OAuthAppTargetConfig } from './config.js';
import { appsOf, dryPort, type OAuthAppsPort } from './port.js';
import { CLIENT_ID, nextOAuthAppValue, parseOAuthAppSecret } from './shape.js';

/**
 * Account OAuth apps: a named credential (../named/) made per rotation with the configured policy
 * and token TTL, proven by a token and one Bearer read, and the old app deleted once the consumer gate
 * passes (docs/oauth-apps.md says why not the secret-rotation grace period).
 */
export interface OAuthAppSession extends NamedSession<OAuthAppTargetConfig, RunFacts & { apps?: readonly OAuthApp[] }> {
  apps: TwilioOAuthApps;
  /** Proves client credentials (the port's verify). */
  verifier: Pick<OAuthAppsPort, 'verify'>;
}

/** The read that proves an app works: the first the policy grants (and does not deny), or validationUrl. */
export function verifyMethodOf(target: OAuthAppTargetConfig): VerifyMethod {
  if (target.validationUrl !== undefined) return { kind: 'url', url: target.validationUrl };
  const denied = new Set(target.policy.deny ?? []);
  const granted = Object.entries(VERIFY_READS).find(([p]) => target.policy.allow.includes(p) && !denied.has(p));
  // The configuration check requires one or the other, so this is a bug if reached.
  if (!granted) throw new RotationError(target.name, 'verify', 'no verification read and no validationUrl');
  return { kind: granted[1] };
}

const sorted = (list: readonly string[] | undefined) => [...(list ?? [])].sort().join(' ');

/** How a live app differs from what the configuration would make; empty when it does not. */
export function appDrift(app: OAuthApp, target: OAuthAppTargetConfig): string[] {
  const out = permissionDrift(target.policy.allow, app.policy.allow);
  if (sorted(app.policy.deny) !== sorted(target.policy.deny)) out.push(`denies [${sorted(target.policy.deny)}]`);
  if (app.accessTokenTtlSeconds !== target.accessTokenTtlSeconds)
    out.push(`has a token TTL of ${target.accessTokenTtlSeconds} s (now ${app.accessTokenTtlSeconds} s)`);
  return out;
}

/** Policy drift between the configuration and the live current app, as for Restricted keys. */
function driftWarning(session: OAuthAppSession, obs: Observation): string | undefined {
  const app = session.facts.apps?.find((a) => a.sid === obs.current?.key.apiKeySid);
  const drift = app ? appDrift(app, session.target) : [];
  return drift.length
    ? `policy drift between config and the live app ${app!.sid}: the next app ${drift.join(' and ')}`
    : undefined;
}

const port: NamedPort<OAuthAppSession> = {
  noun: 'app',
  title: 'OAuth app',
  remove: { verb: 'delete', done: 'deleted' },
  works: 'gets a token and reads with it',
  parse: parseOAuthAppSecret,
  // Listed afresh on every look: apps are few, and a list from before this run's own create would miss it.
  async list(session) {
    const apps = await session.apps.list();
    session.facts.apps = apps;
    return apps.map((a) => ({ sid: a.sid, friendlyName: a.friendlyName, createdAtMs: a.createdAtMs }));
  },
  async create(session, runtime, obs, { friendlyName, token }) {
    const { target } = session;
    const drift = driftWarning(session, obs);
    if (drift) runtime.logger.warn(drift, { target: target.name, step: 'create-app' });
    const created = await session.apps.create({
      friendlyName,
      description: `twilio-key-rotator target "${target.name}", rotation ${token}`,
      policy: target.policy,
      accessTokenTtlSeconds: target.accessTokenTtlSeconds,
    });
    const { accountSid } = target;
    const value = nextOAuthAppValue(obs.current?.document, {
      accountSid,
      clientId: created.sid,
      clientSecret: created.secret,
    });
    return { sid: created.sid, value };
  },
  delete: (session, sid) => session.apps.remove(sid),
  verify(session, _runtime, _obs, { key }) {
    const { accountSid, apiKeySid: clientId, apiKeySecret: clientSecret } = key;
    return session.verifier.verify({ accountSid, clientId, clientSecret }, verifyMethodOf(session.target));
  },
  wouldDiffer(session, _runtime, _obs, sid) {
    const live = session.facts.apps?.find((a) => a.sid === sid);
    return Promise.resolve(!live || appDrift(live, session.target).length > 0);
  },
  howToVerify: (target) => `a token for it, then ${verifyMethodOf(target).kind} with the token`,
};

const named = namedKind<OAuthAppTargetConfig, OAuthAppSession>(port);

export const oauthApp: KindModule<OAuthAppTargetConfig, OAuthAppSession, Observation, Step, Settings> = {
  ...named,
  config: oauthAppConfig,

  async open(target, runtime, scope, options) {
    const real = runtime.ports?.['oauth-app'] as OAuthAppsPort | undefined;
    if (!real)
      throw new RotationError(target.name, 'open', 'this run cannot reach OAuth apps (no port); this is a bug');
    const { session, settings } = await openNamed(target, runtime, scope, options);
    return { session: { ...session, apps: appsOf(real, session.admin, target.accountSid), verifier: real }, settings };
  },

  words: { noun: 'app', ref: CLIENT_ID },
  emergency: {
    settleMs: () => 0,
    consequence: (overlap) =>
      `Every consumer still on the old app ${overlap} after the new app becomes current loses access, ` +
      'and so do the access tokens it holds.',
  },

  report: {
    ...named.report,
    async preflight(session, obs, runtime) {
      const { target } = session;
      const current = obs.current?.key.apiKeySid;
      const checks = [
        ...preflightHead(session, obs, 'app', 'OAuth apps'),
        `new apps get ${target.policy.allow.length} permission(s) and a token TTL of ${target.accessTokenTtlSeconds} s`,
      ];
      const warnings: string[] = [];
      const drift = driftWarning(session, obs);
      if (drift) warnings.push(drift);
      if (obs.current) {
        const v = await verifyNamed(port, session, runtime, obs, obs.current);
        const refused = v.ok ? '' : `${v.reason}${v.hint ? `. ${v.hint}` : ''}`;
        checks.push(
          v.ok
            ? `current app ${current} gets a token and reads with it`
            : `current app ${current} does NOT work: ${refused}`,
        );
        if (!v.ok) warnings.push(`the current app does not work (${v.reason})`);
      }
      return { checks, warnings };
    },
  },

  capabilities: { ...named.capabilities, dryRun: (real) => dryPort(real as OAuthAppsPort) },
};
