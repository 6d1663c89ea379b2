import { parsePolicy, requireSameAccount } from './auth.js';
import type { Handler, HandlerContext } from './context.js';
import { pageOf, queryString } from './paging.js';
import type { Key, KeyType, Policy } from './state.js';
import { SID_PATTERN, TwilioApiError, constraintViolation, invalidSid, notFound, rfc2822 } from './wire.js';

/** IAM v1 Keys (`https://iam.twilio.com/v1/Keys`), twilio-api.md §1 and §7. */

const MAX_FRIENDLY_NAME = 64;

function keyBody(key: Key) {
  return {
    sid: key.sid,
    friendly_name: key.friendlyName,
    date_created: rfc2822(key.createdAtMs),
    date_updated: rfc2822(key.updatedAtMs),
    policy: key.policy ? { allow: [...key.policy.allow] } : null,
  };
}

function accountSidParam(ctx: HandlerContext, from: Map<string, string>): string {
  const sid = from.get('AccountSid');
  if (sid === undefined || sid === '') throw new TwilioApiError(400, 20001, 'Missing required parameter AccountSid');
  if (!SID_PATTERN.AC.test(sid)) throw invalidSid();
  // iam.twilio.com is a subdomain API: even a parent's Account SID + Auth Token may not act on a
  // subaccount here (Twilio docs, REST API: Subaccounts: "resources on subdomains … must be accessed
  // directly using subaccount credentials"). The error code is UNCONFIRMED; 401/20003 as elsewhere.
  requireSameAccount(ctx.principal, sid);
  return sid;
}

function friendlyNameParam(form: Map<string, string>): string | undefined {
  const name = form.get('FriendlyName');
  if (name !== undefined && name.length > MAX_FRIENDLY_NAME) {
    throw constraintViolation(`FriendlyName must be at most ${MAX_FRIENDLY_NAME} characters, got ${name.length}`);
  }
  return name;
}

/** A key of the caller's own account; another account's key is as invisible as a missing one. */
function ownKey(ctx: HandlerContext): Key {
  const sid = ctx.params.key ?? '';
  if (!SID_PATTERN.SK.test(sid)) throw invalidSid();
  const key = ctx.state.keys.get(sid);
  if (!key || key.accountSid !== ctx.principal.accountSid) throw notFound(ctx.path);
  return key;
}

export const createKey: Handler = (ctx) => {
  const accountSid = accountSidParam(ctx, ctx.form);
  const friendlyName = friendlyNameParam(ctx.form);
  const keyType = ctx.form.get('KeyType');
  const policyText = ctx.form.get('Policy');
  let type: KeyType = 'standard';
  let policy: Policy | undefined;
  // The definition documents two cases only: KeyType omitted gives a Standard key, "restricted" a
  // Restricted one. Up to @twilio/cli-core 8.3.2 it also held KeyType to the enum ["restricted"];
  // 9.0.0 dropped the enum, so any string now passes the definition. What Twilio does with another
  // value (e.g. "standard") is UNCONFIRMED: it stays a 400 here, so a client must omit the field.
  if (keyType !== undefined) {
    if (keyType !== 'restricted')
      throw constraintViolation(`KeyType must be "restricted" or omitted, got "${keyType}"`);
    if (policyText === undefined) throw constraintViolation('Policy is required when KeyType is restricted');
    type = 'restricted';
    policy = parsePolicy(policyText);
  } else if (policyText !== undefined) {
    throw constraintViolation('Policy is only allowed with KeyType=restricted');
  }
  const key = ctx.state.addKey(accountSid, type, friendlyName ?? null, policy);
  return { status: 201, body: { ...keyBody(key), secret: key.secret } };
};

export const listKeys: Handler = (ctx) => {
  const accountSid = accountSidParam(ctx, ctx.query);
  const w = pageOf(ctx.state.keysOf(accountSid), ctx.query);
  const url = (page: number, token?: number) =>
    `${ctx.origin}/v1/Keys?${queryString({
      AccountSid: accountSid,
      PageSize: w.pageSize,
      Page: page,
      PageToken: token === undefined ? undefined : `PT${token}`,
    })}`;
  return {
    status: 200,
    body: {
      keys: w.items.map((k) => ({
        sid: k.sid,
        friendly_name: k.friendlyName,
        date_created: rfc2822(k.createdAtMs),
        date_updated: rfc2822(k.updatedAtMs),
        flags: ['rest_api', 'signing'],
      })),
      meta: {
        page: w.page,
        page_size: w.pageSize,
        first_page_url: url(0),
        previous_page_url: w.page > 0 ? url(w.page - 1, Math.max(0, w.start - w.pageSize)) : null,
        url: `${ctx.origin}/v1/Keys?${queryString(Object.fromEntries(ctx.query))}`,
        next_page_url: w.hasNext ? url(w.page + 1, w.start + w.pageSize) : null,
        key: 'keys',
      },
    },
  };
};

export const fetchKey: Handler = (ctx) => ({ status: 200, body: keyBody(ownKey(ctx)) });

/** A new Policy replaces the old one wholesale (§1.4); only Restricted keys carry one. */
export const updateKey: Handler = (ctx) => {
  const key = ownKey(ctx);
  const friendlyName = friendlyNameParam(ctx.form);
  const policyText = ctx.form.get('Policy');
  let policy: Policy | undefined;
  if (policyText !== undefined) {
    if (key.type !== 'restricted')
      throw constraintViolation(`Policy can only be set on a restricted key; ${key.sid} is ${key.type}`);
    policy = parsePolicy(policyText);
  }
  if (friendlyName !== undefined) key.friendlyName = friendlyName;
  if (policy) key.policy = policy;
  key.updatedAtMs = ctx.state.now();
  return { status: 200, body: keyBody(key) };
};

export const deleteKey: Handler = (ctx) => {
  ctx.state.keys.delete(ownKey(ctx).sid);
  return { status: 204 };
};
