import type { Requirement } from './auth.js';

/** Every operation the emulator serves; names used in the request log and by setResponseMutator. */
export const TWILIO_OPERATIONS = [
  'CreateKey',
  'ListKeys',
  'FetchKey',
  'UpdateKey',
  'DeleteKey',
  'CreateKey2010',
  'ListKeys2010',
  'FetchKey2010',
  'DeleteKey2010',
  'FetchAccount',
  'ListAccounts',
  'CreateAccount',
  'UpdateAccount',
  'CreateSecondaryAuthToken',
  'DeleteSecondaryAuthToken',
  'PromoteAuthToken',
  'ListIncomingPhoneNumbers',
  'ListMessages',
  'CreateOAuthApp',
  'ListOAuthApps',
  'FetchOAuthApp',
  'UpdateOAuthApp',
  'DeleteOAuthApp',
  'CreateOAuthToken',
] as const;
export type TwilioOperation = (typeof TWILIO_OPERATIONS)[number];

interface RouteSpec {
  method: string;
  /** Path pattern; named groups become params. All products share one port, so paths must not collide. */
  pattern: RegExp;
  operation: TwilioOperation;
  need: Requirement;
  /** The request body's encoding: Twilio's form by default, JSON for OAuth apps. */
  body?: 'form' | 'json';
  /** 'none': the token endpoint, which authenticates the client from its form instead. */
  auth?: 'none';
}

const keys = (action: string): Requirement => ({ scope: 'privileged', permission: `/twilio/iam/api-keys/${action}` });
const ACCOUNT_2010 = String.raw`/2010-04-01/Accounts/(?<account>[^/]+)`;
const apps = (action: string): Requirement => ({
  scope: 'privileged',
  permission: `/twilio/iam/account-oauth-apps/${action}`,
});
const APP = /^\/v1\/Account\/OAuthApps\/(?<app>[^/]+)$/;

const ROUTES: RouteSpec[] = [
  { method: 'POST', pattern: /^\/v1\/Keys$/, operation: 'CreateKey', need: keys('create') },
  { method: 'GET', pattern: /^\/v1\/Keys$/, operation: 'ListKeys', need: keys('list') },
  { method: 'GET', pattern: /^\/v1\/Keys\/(?<key>[^/]+)$/, operation: 'FetchKey', need: keys('read') },
  { method: 'POST', pattern: /^\/v1\/Keys\/(?<key>[^/]+)$/, operation: 'UpdateKey', need: keys('update') },
  { method: 'DELETE', pattern: /^\/v1\/Keys\/(?<key>[^/]+)$/, operation: 'DeleteKey', need: keys('delete') },
  {
    method: 'POST',
    pattern: new RegExp(`^${ACCOUNT_2010}/Keys\\.json$`),
    operation: 'CreateKey2010',
    need: keys('create'),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^${ACCOUNT_2010}/Keys\\.json$`),
    operation: 'ListKeys2010',
    need: keys('list'),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^${ACCOUNT_2010}/Keys/(?<key>[^/]+)\\.json$`),
    operation: 'FetchKey2010',
    need: keys('read'),
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^${ACCOUNT_2010}/Keys/(?<key>[^/]+)\\.json$`),
    operation: 'DeleteKey2010',
    need: keys('delete'),
  },
  {
    method: 'GET',
    pattern: new RegExp(`^${ACCOUNT_2010}\\.json$`),
    operation: 'FetchAccount',
    need: { scope: 'privileged', permission: '/twilio/iam/accounts/read' },
  },
  // Accounts: Standard keys are excluded ("except for Accounts (/Accounts)"), Main keys may "create,
  // update, or list subaccounts" (Twilio docs). For Restricted keys only /twilio/iam/accounts/read and
  // /list are known (third-party enumeration, UNCONFIRMED); no permission is known for create or update.
  {
    method: 'POST',
    pattern: new RegExp(`^${ACCOUNT_2010}\\.json$`),
    operation: 'UpdateAccount',
    need: { scope: 'privileged' },
  },
  {
    method: 'GET',
    pattern: /^\/2010-04-01\/Accounts\.json$/,
    operation: 'ListAccounts',
    need: { scope: 'privileged', permission: '/twilio/iam/accounts/list' },
  },
  {
    method: 'POST',
    pattern: /^\/2010-04-01\/Accounts\.json$/,
    operation: 'CreateAccount',
    need: { scope: 'privileged' },
  },
  // No Restricted-key permission covers auth tokens (twilio-api.md §3.2), so only accounts and Main keys pass.
  {
    method: 'POST',
    pattern: /^\/v1\/AuthTokens\/Secondary$/,
    operation: 'CreateSecondaryAuthToken',
    need: { scope: 'privileged' },
  },
  {
    method: 'DELETE',
    pattern: /^\/v1\/AuthTokens\/Secondary$/,
    operation: 'DeleteSecondaryAuthToken',
    need: { scope: 'privileged' },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/AuthTokens\/Promote$/,
    operation: 'PromoteAuthToken',
    need: { scope: 'privileged' },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^${ACCOUNT_2010}/IncomingPhoneNumbers\\.json$`),
    operation: 'ListIncomingPhoneNumbers',
    need: { scope: 'data', permission: '/twilio/numbers/incoming-phone-numbers/list' },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^${ACCOUNT_2010}/Messages\\.json$`),
    operation: 'ListMessages',
    need: { scope: 'data', permission: '/twilio/messaging/messages/list' },
  },
  // OAuth apps (docs/oauth-apps.md): JSON bodies; the permission names are UNCONFIRMED (twilio-api.md §1.5).
  {
    method: 'POST',
    pattern: /^\/v1\/Account\/OAuthApps$/,
    operation: 'CreateOAuthApp',
    need: apps('create'),
    body: 'json',
  },
  { method: 'GET', pattern: /^\/v1\/Account\/OAuthApps$/, operation: 'ListOAuthApps', need: apps('list') },
  { method: 'GET', pattern: APP, operation: 'FetchOAuthApp', need: apps('read') },
  { method: 'PUT', pattern: APP, operation: 'UpdateOAuthApp', need: apps('update'), body: 'json' },
  { method: 'DELETE', pattern: APP, operation: 'DeleteOAuthApp', need: apps('delete') },
  { method: 'POST', pattern: /^\/v2\/token$/, operation: 'CreateOAuthToken', need: { scope: 'data' }, auth: 'none' },
];

export type RouteMatch =
  | {
      kind: 'op';
      operation: TwilioOperation;
      need: Requirement;
      params: Record<string, string>;
      mutating: boolean;
      body: 'form' | 'json';
      auth?: 'none';
    }
  | { kind: 'method-not-allowed' }
  | { kind: 'not-found' };

export function matchRoute(method: string, path: string): RouteMatch {
  let pathKnown = false;
  for (const route of ROUTES) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    pathKnown = true;
    if (route.method !== method) continue;
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(m.groups ?? {})) {
      try {
        params[name] = decodeURIComponent(value);
      } catch {
        return { kind: 'not-found' };
      }
    }
    return {
      kind: 'op',
      operation: route.operation,
      need: route.need,
      params,
      mutating: method === 'POST' || method === 'PUT' || method === 'DELETE',
      body: route.body ?? 'form',
      ...(route.auth ? { auth: route.auth } : {}),
    };
  }
  return pathKnown ? { kind: 'method-not-allowed' } : { kind: 'not-found' };
}
