import { require2010Access } from './auth.js';
import type { Handler, HandlerContext } from './context.js';
import { page2010 } from './paging.js';
import type { Account, Key } from './state.js';
import { SID_PATTERN, TwilioApiError, authenticateError, notFound, rfc2822 } from './wire.js';

/**
 * The 2010 API's per-account resources (`https://api.twilio.com/2010-04-01/Accounts/{Sid}/…`): Keys and
 * two data lists (§2, §4). The Account resource itself is in accounts.ts.
 */

const BASE = '/2010-04-01/Accounts';

/**
 * The account in the path: a malformed SID is simply no such resource; one the credential may not
 * reach is bad credentials (or 404 for a parent API key, see require2010Access).
 */
function pathAccount(ctx: HandlerContext): Account {
  const sid = ctx.params.account ?? '';
  if (!SID_PATTERN.AC.test(sid)) throw notFound(ctx.path);
  const account = ctx.state.accounts.get(sid);
  if (!account) throw authenticateError();
  require2010Access(ctx.state, ctx.principal, account, ctx.path);
  return account;
}

function key2010(key: Key) {
  return {
    sid: key.sid,
    friendly_name: key.friendlyName,
    date_created: rfc2822(key.createdAtMs),
    date_updated: rfc2822(key.updatedAtMs),
  };
}

function pathKey(ctx: HandlerContext, account: Account): Key {
  const sid = ctx.params.key ?? '';
  const key = SID_PATTERN.SK.test(sid) ? ctx.state.keys.get(sid) : undefined;
  if (!key || key.accountSid !== account.sid) throw notFound(ctx.path);
  return key;
}

/** v2010 cannot create Restricted keys; KeyType/Policy are ignored ("silent downgrade", §2). */
export const createKey2010: Handler = (ctx) => {
  const account = pathAccount(ctx);
  const name = ctx.form.get('FriendlyName');
  if (name !== undefined && name.length > 64)
    throw new TwilioApiError(400, 70001, 'The request has constraint violations: FriendlyName is too long');
  const key = ctx.state.addKey(account.sid, 'standard', name ?? null);
  return { status: 201, body: { ...key2010(key), secret: key.secret } };
};

export const listKeys2010: Handler = (ctx) => {
  const account = pathAccount(ctx);
  return {
    status: 200,
    body: page2010(`${BASE}/${account.sid}/Keys.json`, 'keys', ctx.state.keysOf(account.sid), ctx.query, key2010),
  };
};

export const fetchKey2010: Handler = (ctx) => ({ status: 200, body: key2010(pathKey(ctx, pathAccount(ctx))) });

export const deleteKey2010: Handler = (ctx) => {
  ctx.state.keys.delete(pathKey(ctx, pathAccount(ctx)).sid);
  return { status: 204 };
};

/** The emulator holds no numbers or messages: these lists exist to verify credentials cheaply (§4.1). */
export const listIncomingPhoneNumbers: Handler = (ctx) => {
  const account = pathAccount(ctx);
  return {
    status: 200,
    body: page2010(
      `${BASE}/${account.sid}/IncomingPhoneNumbers.json`,
      'incoming_phone_numbers',
      [],
      ctx.query,
      (x) => x,
    ),
  };
};

export const listMessages: Handler = (ctx) => {
  const account = pathAccount(ctx);
  return { status: 200, body: page2010(`${BASE}/${account.sid}/Messages.json`, 'messages', [], ctx.query, (x) => x) };
};
