import { timingSafeEqual } from 'node:crypto';
import type { Key, Policy, TwilioState } from './state.js';
import { SID_PATTERN, TwilioApiError, authenticateError, constraintViolation } from './wire.js';

/** Who made a request, once the Basic credentials check out. */
export interface Principal {
  accountSid: string;
  kind: 'account' | 'main' | 'standard' | 'restricted';
  /** The SID that authenticated: the Account SID or the API key SID. */
  sid: string;
  key?: Key;
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

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function authenticate(state: TwilioState, header: string | undefined): Principal {
  const creds = basicCredentials(header);
  if (!creds) throw authenticateError();
  const { username, password } = creds;
  const account = state.accounts.get(username);
  if (account) {
    const ok =
      same(password, account.primaryToken) ||
      (account.secondary !== undefined && same(password, account.secondary.token));
    if (!ok) throw authenticateError();
    return { accountSid: account.sid, kind: 'account', sid: account.sid };
  }
  const key = state.keys.get(username);
  if (!key || !same(password, key.secret)) throw authenticateError();
  return { accountSid: key.accountSid, kind: key.type, sid: key.sid, key };
}

/** `/twilio/iam/api-keys/*` grants every action on api-keys; `read` and `list` stay distinct. */
export function policyAllows(policy: Policy | undefined, permission: string): boolean {
  const wildcard = permission.replace(/\/[^/]+$/, '/*');
  return (policy?.allow ?? []).some((p) => p === permission || p === wildcard);
}

export function authorize(principal: Principal, need: Requirement): void {
  if (principal.kind === 'account' || principal.kind === 'main') return;
  if (principal.kind === 'standard') {
    if (need.scope === 'privileged') throw authenticateError();
    return;
  }
  if (!need.permission) throw authenticateError();
  if (!policyAllows(principal.key?.policy, need.permission)) {
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
