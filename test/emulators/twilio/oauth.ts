import { timingSafeEqual } from 'node:crypto';
import { parseAppPolicy } from './auth.js';
import type { Handler, HandlerContext, HandlerResult } from './context.js';
import { pageOf, queryString } from './paging.js';
import type { OAuthApp, TwilioState } from './state.js';
import { SID_PATTERN, TwilioApiError, constraintViolation, invalidSid, iso8601, notFound } from './wire.js';

/**
 * Account OAuth apps (`https://iam.twilio.com/v1/Account/OAuthApps`, JSON bodies) and the token
 * endpoint (`https://oauth.twilio.com/v2/token`, a form). Facts and the choices made where Twilio is
 * silent: docs/oauth-apps.md. The app's SID is its client ID; its secret is shown by create only.
 */

const MIN_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 30 * 24 * 3600;
const DEFAULT_TTL_SECONDS = 3600;
/** The Keys limit; Twilio documents none for OAuth app names (UNCONFIRMED). */
const MAX_NAME = 64;
const APP_TYPE = 'client_credentials';

function appBody(app: OAuthApp) {
  return {
    type: APP_TYPE,
    sid: app.sid,
    friendly_name: app.friendlyName,
    description: app.description,
    date_created: iso8601(app.createdAtMs),
    created_by: app.accountSid,
    status: 'ACTIVE',
    policy: { allow: [...app.policy.allow], ...(app.policy.deny ? { deny: [...app.policy.deny] } : {}) },
    access_token_ttl: app.accessTokenTtlSeconds,
  };
}

/** A field of the JSON body: absent and null are "not given" (the update request's fields are nullable). */
function field(json: Record<string, unknown>, name: string, type: 'string' | 'number'): unknown {
  const value = json[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) throw constraintViolation(`${name} must be a ${type}`);
  return value;
}

function nameOf(json: Record<string, unknown>): string | undefined {
  const name = field(json, 'friendly_name', 'string') as string | undefined;
  if (name !== undefined && name.length > MAX_NAME)
    throw constraintViolation(`friendly_name must be at most ${MAX_NAME} characters, got ${name.length}`);
  return name;
}

function ttlOf(json: Record<string, unknown>): number | undefined {
  const ttl = field(json, 'access_token_ttl', 'number') as number | undefined;
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= MIN_TTL_SECONDS && ttl <= MAX_TTL_SECONDS))
    throw constraintViolation(`access_token_ttl must be whole seconds from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}`);
  return ttl;
}

function typeOf(json: Record<string, unknown>): void {
  const type = field(json, 'type', 'string');
  if (type !== undefined && type !== APP_TYPE) throw constraintViolation(`type must be "${APP_TYPE}"`);
}

/** An app of the caller's own account; another account's app is as invisible as a missing one. */
function ownApp(ctx: HandlerContext): OAuthApp {
  const sid = ctx.params.app ?? '';
  if (!SID_PATTERN.OQ.test(sid)) throw invalidSid();
  const app = ctx.state.oauthApps.get(sid);
  if (!app || app.accountSid !== ctx.principal.accountSid) throw notFound(ctx.path);
  return app;
}

export const createApp: Handler = (ctx) => {
  typeOf(ctx.json);
  if (ctx.json.policy === undefined || ctx.json.policy === null)
    throw constraintViolation('policy is required: an app without permissions can do nothing');
  const app = ctx.state.addOAuthApp(ctx.principal.accountSid, {
    friendlyName: nameOf(ctx.json) ?? '',
    description: (field(ctx.json, 'description', 'string') as string | undefined) ?? '',
    policy: parseAppPolicy(ctx.json.policy),
    accessTokenTtlSeconds: ttlOf(ctx.json) ?? DEFAULT_TTL_SECONDS,
  });
  return { status: 201, body: { ...appBody(app), secret: app.secret } };
};

/** Paged as IAM v1 Keys are (the list's real shape is UNCONFIRMED), oldest app first. */
export const listApps: Handler = (ctx) => {
  const w = pageOf(ctx.state.oauthAppsOf(ctx.principal.accountSid), ctx.query);
  const base = `${ctx.origin}/v1/Account/OAuthApps`;
  const url = (page: number, token?: number) => {
    const pageToken = token === undefined ? undefined : `PT${token}`;
    return `${base}?${queryString({ PageSize: w.pageSize, Page: page, PageToken: pageToken })}`;
  };
  return {
    status: 200,
    body: {
      oauth_apps: w.items.map(appBody),
      meta: {
        page: w.page,
        page_size: w.pageSize,
        first_page_url: url(0),
        previous_page_url: w.page > 0 ? url(w.page - 1, Math.max(0, w.start - w.pageSize)) : null,
        url: `${base}?${queryString(Object.fromEntries(ctx.query))}`,
        next_page_url: w.hasNext ? url(w.page + 1, w.start + w.pageSize) : null,
        key: 'oauth_apps',
      },
    },
  };
};

export const fetchApp: Handler = (ctx) => ({ status: 200, body: appBody(ownApp(ctx)) });

/** Fields given replace the old ones; a policy is replaced wholesale, as a Restricted key's is. */
export const updateApp: Handler = (ctx) => {
  const app = ownApp(ctx);
  typeOf(ctx.json);
  const name = nameOf(ctx.json);
  const description = field(ctx.json, 'description', 'string') as string | undefined;
  const ttl = ttlOf(ctx.json);
  const policy =
    ctx.json.policy === undefined || ctx.json.policy === null ? undefined : parseAppPolicy(ctx.json.policy);
  if (name !== undefined) app.friendlyName = name;
  if (description !== undefined) app.description = description;
  if (ttl !== undefined) app.accessTokenTtlSeconds = ttl;
  if (policy) app.policy = policy;
  return { status: 200, body: appBody(app) };
};

export const deleteApp: Handler = (ctx) => {
  ctx.state.deleteOAuthApp(ownApp(ctx).sid);
  return { status: 204 };
};

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * `POST /v2/token`: the client credentials grant. Its definition lists 400 and 500 only, so a bad
 * client gets 400 with Twilio's error body (code 20003, UNCONFIRMED), never a hint at which half was wrong.
 */
export function createToken(state: TwilioState, form: Map<string, string>): HandlerResult {
  const grant = form.get('grant_type');
  if (grant !== APP_TYPE) {
    const got = grant === undefined ? 'nothing' : `"${grant}"`;
    throw new TwilioApiError(400, 20001, `unsupported_grant_type: grant_type must be ${APP_TYPE}, got ${got}`);
  }
  const app = state.oauthApps.get(form.get('client_id') ?? '');
  const owner = app ? state.accounts.get(app.accountSid) : undefined;
  if (!app || !owner || !same(form.get('client_secret') ?? '', app.secret) || !state.isActive(owner))
    throw new TwilioApiError(400, 20003, 'invalid_client: client authentication failed');
  const { token, expiresInSeconds } = state.issueAccessToken(app);
  return {
    status: 200,
    body: {
      access_token: token,
      token_type: 'Bearer',
      expires_in: expiresInSeconds,
      id_token: null,
      refresh_token: null,
    },
  };
}
