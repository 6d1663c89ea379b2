import { timingSafeEqual } from 'node:crypto';
import type { Account, Key, OAuthApp, Policy, TwilioState } from './state.js';
import { SID_PATTERN, TwilioApiError, authenticateError, constraintViolation, notFound } from './wire.js';

/** Who made a request, once its Basic credentials or Bearer token check out. */
export interface Principal {
  accountSid: string;
  /** 'oauth': a Bearer access token, held to its app's policy as a Restricted key is to its own. */
  kind: 'account' | 'main' | 'standard' | 'restricted' | 'oauth';
  /** The SID that authenticated: the Account SID, the API key SID or the OAuth app's client ID. */
  sid: string;
  key?: Key;
  app?: OAuthApp;
}

/**
 * What an operation demands of an API key (see twilio-api.md §0, §1.5, §3.2, §4.1):
 *   'data'       Standard keys pass; Restricted keys need `permission`.
 *   'privileged' Standard keys get 401/20003; Restricted keys need `permission`, or 20003 when none exists.
 */
export interface Requirement {
  scope: 'data' | 'privileged';
  permission?: string;
}

/** Username of a Basic Authorization header, if present and well formed; the password stays here. */
export function basicCredentials(header: string | undefined): { username: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** A SID fit for the request log: AC/SK-shaped usernames only, so a swapped-in secret never lands there. */
export function loggableSid(username: string | undefined): string | undefined {
  return username && (SID_PATTERN.AC.test(username) || SID_PATTERN.SK.test(username)) ? username : undefined;
}

function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}

/** A live access token's app: unknown, expired (on the emulator's clock) and revoked tokens have none. */
function appOfToken(state: TwilioState, token: string): OAuthApp | undefined {
  const grant = state.accessTokens.get(token);
  if (!grant) return undefined;
  if (state.now() >= grant.expiresAtMs) {
    state.accessTokens.delete(token);
    return undefined;
  }
  return state.oauthApps.get(grant.appSid);
}

/**
 * Whom a request's credential names, for the request log and the per-account concurrency limit,
 * before it is checked: an Account SID, an API key SID, or a Bearer token's app. Never a secret.
 */
export function credentialOf(
  state: TwilioState,
  header: string | undefined,
): { accountSid?: string; loggable?: string } {
  const token = bearerToken(header);
  if (token !== undefined) {
    const app = appOfToken(state, token);
    return app ? { accountSid: app.accountSid, loggable: app.sid } : {};
  }
  const username = basicCredentials(header)?.username;
  if (!username) return {};
  const accountSid = state.accounts.get(username)?.sid ?? state.keys.get(username)?.accountSid;
  const loggable = loggableSid(username);
  return { ...(accountSid ? { accountSid } : {}), ...(loggable ? { loggable } : {}) };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * What a suspended or closed account's own credentials (Account SID + token, or its API keys) get.
 * Twilio documents two answers: error 20003 "Permission Denied" (HTTP 401) lists "Account is
 * suspended or closed" among its causes, and error 20403 "403 Forbidden" says "Typically this means
 * the account has been suspended or closed" (twilio.com/docs/api/errors/20003, …/20403). Which one
 * the REST API sends is UNCONFIRMED; 401/20003 is chosen, the same answer as bad credentials, so a
 * client cannot tell a suspended account from a revoked credential, and must not try to.
 */
export const accountNotActive = authenticateError;

export function authenticate(state: TwilioState, header: string | undefined): Principal {
  const token = bearerToken(header);
  if (token !== undefined) {
    const app = appOfToken(state, token);
    if (!app) throw authenticateError();
    const owner = state.accounts.get(app.accountSid);
    if (!owner || !state.isActive(owner)) throw accountNotActive();
    return { accountSid: app.accountSid, kind: 'oauth', sid: app.sid, app };
  }
  const creds = basicCredentials(header);
  if (!creds) throw authenticateError();
  const { username, password } = creds;
  const account = state.accounts.get(username);
  if (account) {
    const ok =
      same(password, account.primaryToken) ||
      (account.secondary !== undefined && same(password, account.secondary.token));
    if (!ok) throw authenticateError();
    if (!state.isActive(account)) throw accountNotActive();
    return { accountSid: account.sid, kind: 'account', sid: account.sid };
  }
  const key = state.keys.get(username);
  if (!key || !same(password, key.secret)) throw authenticateError();
  const owner = state.accounts.get(key.accountSid);
  if (!owner || !state.isActive(owner)) throw accountNotActive();
  return { accountSid: key.accountSid, kind: key.type, sid: key.sid, key };
}

/**
 * `/twilio/iam/api-keys/*` grants every action on api-keys; `read` and `list` stay distinct. An OAuth
 * app's `deny` list wins over its `allow` list (UNCONFIRMED: Twilio documents the two lists only).
 */
export function policyAllows(policy: Policy | undefined, permission: string): boolean {
  const wildcard = permission.replace(/\/[^/]+$/, '/*');
  const matches = (p: string) => p === permission || p === wildcard;
  return (policy?.allow ?? []).some(matches) && !(policy?.deny ?? []).some(matches);
}

export function authorize(principal: Principal, need: Requirement): void {
  if (principal.kind === 'account' || principal.kind === 'main') return;
  if (principal.kind === 'standard') {
    if (need.scope === 'privileged') throw authenticateError();
    return;
  }
  if (!need.permission) throw authenticateError();
  if (!policyAllows(principal.app?.policy ?? principal.key?.policy, need.permission)) {
    throw new TwilioApiError(
      401,
      70051,
      `Authorization Error: required permission ${need.permission.slice(1)} is missing`,
    );
  }
}

/** The credential may only act on its own account; another account's SID looks like bad credentials. */
export function requireSameAccount(principal: Principal, accountSid: string): void {
  if (principal.accountSid !== accountSid) throw authenticateError();
}

/**
 * May this credential reach a 2010 API resource of `target` (api.twilio.com/2010-04-01/Accounts/{Sid}/…)?
 * From Twilio's docs (REST API: Subaccounts, Authentication):
 *  - its own account: yes;
 *  - "You can use your main account credentials (AccountSid and AuthToken) to access … v2010 API
 *    resources for any of your subaccounts": the parent's Account SID + Auth Token may;
 *  - "Main account API Keys are only available to access main account resources. Access to subaccount
 *    resources will be denied": no parent API key may, Main included. Twilio does not say with what
 *    error; a third party reports 20404 for a parent Main key on /Accounts/{SubSid}.json, so 404/20404
 *    is used (UNCONFIRMED);
 *  - "You can't use a subaccount's credentials to access resources in your main Twilio account or any
 *    other subaccounts": 401/20003, whose documented causes include "Using subaccount credentials to
 *    access master account".
 * Subdomain APIs (iam.twilio.com /v1/Keys) are not 2010 resources: there only the account's own
 * credentials count (requireSameAccount), as the same docs say of resources on subdomains.
 */
export function require2010Access(state: TwilioState, principal: Principal, target: Account, path: string): void {
  if (principal.accountSid === target.sid) return;
  if (target.parentSid !== principal.accountSid) throw authenticateError();
  if (principal.kind !== 'account') throw notFound(path);
  // UNCONFIRMED: the docs say a suspended account can't call or message; whether its parent may still
  // read its 2010 resources is not documented. Refused, as the account's own credentials are.
  if (!state.isActive(target)) throw accountNotActive();
}

/**
 * Known permission resources. The official list is per-product PDFs (twilio-api.md §1.6); this is the
 * subset the rotator touches plus a few neighbours, enough to reject typos with 400/70002.
 */
export const PERMISSION_RESOURCES: readonly string[] = [
  'iam/api-keys',
  'iam/accounts',
  'iam/account-oauth-apps',
  'messaging/messages',
  'messaging/services',
  'numbers/incoming-phone-numbers',
  'voice/calls',
  'lookup/phone-numbers',
];
const ACTIONS = new Set(['read', 'list', 'create', 'update', 'delete', '*']);
export const MAX_PERMISSIONS = 100;

export function validPermission(p: string): boolean {
  const m = /^\/twilio\/([^/]+\/[^/]+)\/([^/]+)$/.exec(p);
  return m !== null && PERMISSION_RESOURCES.includes(m[1] ?? '') && ACTIONS.has(m[2] ?? '');
}

/** Parses the `Policy` form field, a JSON string `{"allow": [...]}`. */
export function parsePolicy(text: string): Policy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw constraintViolation('Policy is not valid JSON');
  }
  return checkAllowList(raw);
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((p) => typeof p === 'string');

/** An OAuth app's `policy` object: `allow` as a Restricted key's, `deny` optional, both checked. */
export function parseAppPolicy(raw: unknown): Policy {
  const { allow } = checkAllowList(raw);
  const deny = (raw as { deny?: unknown }).deny;
  if (deny === undefined) return { allow };
  if (!isStrings(deny)) throw constraintViolation('policy.deny must be an array of strings');
  const bad = deny.find((p) => !validPermission(p));
  if (bad !== undefined) throw new TwilioApiError(400, 70002, `assertion '${bad}' is invalid`);
  return { allow, deny: [...deny] };
}

function checkAllowList(raw: unknown): Policy {
  const allow = (raw as { allow?: unknown } | null)?.allow;
  if (typeof raw !== 'object' || raw === null || !Array.isArray(allow) || allow.some((p) => typeof p !== 'string')) {
    throw constraintViolation('Policy must be an object with an "allow" array of strings');
  }
  const perms = allow as string[];
  if (perms.length === 0) throw constraintViolation('Policy must allow at least one permission');
  if (perms.length > MAX_PERMISSIONS)
    throw constraintViolation(`Policy may hold at most ${MAX_PERMISSIONS} permissions, got ${perms.length}`);
  const bad = perms.find((p) => !validPermission(p));
  if (bad !== undefined) throw new TwilioApiError(400, 70002, `assertion '${bad}' is invalid`);
  return { allow: [...perms] };
}
