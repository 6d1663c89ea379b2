import type { Principal } from './auth.js';
import { principalAccount, type Handler, type HandlerContext } from './context.js';
import { page2010 } from './paging.js';
import { ACCOUNT_STATUSES, type Account, type AccountStatus } from './state.js';
import { SID_PATTERN, TwilioApiError, authenticateError, constraintViolation, notFound, rfc2822 } from './wire.js';

/**
 * The 2010 Account resource (`https://api.twilio.com/2010-04-01/Accounts`): list, create, fetch and
 * update, for an account and its subaccounts. Sources, cited where used:
 *   [spec]  twilio_api_v2010.json of @twilio/cli-core 9.0.0 (ListAccount, CreateAccount, FetchAccount,
 *           UpdateAccount);
 *   [docs]  twilio.com/docs/iam/api/subaccounts, /docs/iam/api/account and the error pages
 *           /docs/api/errors/<code>;
 *   [3p]    behaviour a third party reports from real calls, not documented by Twilio.
 * Anything else is UNCONFIRMED and says so. HTTP statuses of the 21xxx errors are not documented:
 * 400 is used for all of them (UNCONFIRMED).
 */

const BASE = '/2010-04-01/Accounts';

/** [docs] "A main account can only have up to 1000 subaccounts by default." */
export const DEFAULT_MAX_SUBACCOUNTS = 1000;
/** [spec] friendly_name: "up to 64 characters long". Longer names: 400/70001 (UNCONFIRMED, as for keys). */
const MAX_FRIENDLY_NAME = 64;

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * [spec] CreateAccount FriendlyName "defaults to `SubAccount Created at {YYYY-MM-DD HH:MM meridian}`".
 * The exact rendering (UTC, 12-hour clock, lower-case am/pm) is UNCONFIRMED.
 */
export function defaultSubaccountName(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  const hour12 = h % 12 === 0 ? 12 : h % 12;
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(hour12)}:${pad(d.getUTCMinutes())} ${h < 12 ? 'am' : 'pm'}`;
  return `SubAccount Created at ${date} ${time}`;
}

/**
 * The representation ([spec] api.v2010.account). auth_token: [3p] "Twilio returns the new subaccount's
 * Auth Token only to Auth Token callers; to an API key (… Main key) authToken is ''". Reported for
 * create; applied here to every answer given to an API key (UNCONFIRMED beyond create), so a client
 * that authenticates with a key never learns an Auth Token from this emulator.
 */
export function accountBody(a: Account, principal: Principal) {
  const uri = `${BASE}/${a.sid}`;
  return {
    sid: a.sid,
    owner_account_sid: a.parentSid ?? a.sid,
    friendly_name: a.friendlyName,
    status: a.status,
    type: 'Full',
    auth_token: principal.kind === 'account' ? a.primaryToken : '',
    date_created: rfc2822(a.createdAtMs),
    date_updated: rfc2822(a.updatedAtMs),
    uri: `${uri}.json`,
    subresource_uris: {
      keys: `${uri}/Keys.json`,
      incoming_phone_numbers: `${uri}/IncomingPhoneNumbers.json`,
      messages: `${uri}/Messages.json`,
    },
  };
}

function friendlyNameParam(form: Map<string, string>): string | undefined {
  const name = form.get('FriendlyName');
  if (name !== undefined && name.length > MAX_FRIENDLY_NAME)
    throw constraintViolation(`FriendlyName must be at most ${MAX_FRIENDLY_NAME} characters, got ${name.length}`);
  return name;
}

function statusValue(value: string, param: 'Status'): AccountStatus {
  if (!(ACCOUNT_STATUSES as readonly string[]).includes(value)) {
    // [docs] 21475 "Unable to update Status, invalid Status": "must be one of … 'active', 'suspended',
    // or 'closed'". The definition's own UpdateAccount example "updateWithNumericStatus" sends Status=1,
    // which its enum forbids; Prism refuses it, and so does this.
    throw new TwilioApiError(400, 21475, `Unable to update ${param}, invalid ${param}: ${value}`);
  }
  return value as AccountStatus;
}

/** The Account named in the path; a malformed or unknown SID is no such resource. */
function pathAccount(ctx: HandlerContext): Account {
  const sid = ctx.params.account ?? '';
  const account = SID_PATTERN.AC.test(sid) ? ctx.state.accounts.get(sid) : undefined;
  if (!account) {
    // Another account's SID must not be told apart from a missing one by a stranger.
    if (SID_PATTERN.AC.test(sid)) throw authenticateError();
    throw notFound(ctx.path);
  }
  return account;
}

/**
 * Who may read or change an Account resource:
 *  - its own credentials: yes;
 *  - the parent's Account SID + Auth Token: yes, whatever the subaccount's status ([docs] the
 *    subaccount page fetches, suspends, reactivates and closes subaccounts with the parent's
 *    credentials; closed subaccounts "will still appear in your accounts list");
 *  - a parent API key: [docs] "To create, update, or list subaccounts, use a Main API key", so a
 *    Main key may update; fetch is not in that list, and "Main account API Keys are only available to
 *    access main account resources", so fetch gets [3p] 404/20404 (UNCONFIRMED);
 *  - anyone else: 401/20003.
 */
function accountAccess(ctx: HandlerContext, target: Account, action: 'read' | 'update'): void {
  const p = ctx.principal;
  if (p.accountSid === target.sid) return;
  if (target.parentSid !== p.accountSid) throw authenticateError();
  if (p.kind === 'account') return;
  if (action === 'update' && p.kind === 'main') return;
  throw notFound(ctx.path);
}

/**
 * [spec] "Retrieves a collection of Accounts belonging to the account used to make the request": the
 * caller's own account and its subaccounts, closed ones included ([docs]). FriendlyName matches
 * exactly ([spec]); Status is the enum. Order: date_created, oldest first (UNCONFIRMED). Filters are
 * carried into every paging URI, as in the definition's example first_page_uri.
 */
export const listAccounts: Handler = (ctx) => {
  const own = principalAccount(ctx);
  const friendlyName = ctx.query.get('FriendlyName');
  const rawStatus = ctx.query.get('Status');
  let status: AccountStatus | undefined;
  if (rawStatus !== undefined) {
    if (!(ACCOUNT_STATUSES as readonly string[]).includes(rawStatus))
      throw new TwilioApiError(400, 20001, `Invalid value for Status: ${rawStatus}`);
    status = rawStatus as AccountStatus;
  }
  const all = [own, ...ctx.state.subaccountsOf(own.sid)].filter(
    (a) =>
      (friendlyName === undefined || a.friendlyName === friendlyName) && (status === undefined || a.status === status),
  );
  return {
    status: 200,
    body: page2010(`${BASE}.json`, 'accounts', all, ctx.query, (a) => accountBody(a, ctx.principal), {
      FriendlyName: friendlyName,
      Status: status,
    }),
  };
};

/**
 * [spec] "Create a new Twilio Subaccount from the account making the request" → 201.
 * [docs] 21101 "A subaccount cannot contain nested subaccounts"; 21480 "Reached maximum number of
 * subaccounts" (1000 by default; closed subaccounts count until Twilio deletes them, UNCONFIRMED).
 */
export function createAccount(maxSubaccounts: () => number): Handler {
  return (ctx) => {
    const parent = principalAccount(ctx);
    if (parent.parentSid !== undefined) throw new TwilioApiError(400, 21101, 'Subaccounts cannot contain subaccounts');
    if (ctx.state.subaccountsOf(parent.sid).length >= maxSubaccounts())
      throw new TwilioApiError(400, 21480, 'Reached maximum number of subaccounts');
    const name = friendlyNameParam(ctx.form) ?? defaultSubaccountName(ctx.state.now());
    const account = ctx.state.addAccount({ parentSid: parent.sid, friendlyName: name });
    return { status: 201, body: accountBody(account, ctx.principal) };
  };
}

export const fetchAccount: Handler = (ctx) => {
  const account = pathAccount(ctx);
  accountAccess(ctx, account, 'read');
  return { status: 200, body: accountBody(account, ctx.principal) };
};

/**
 * [spec] UpdateAccount: FriendlyName and Status (active | suspended | closed) → 200, or since 9.0.0
 * 409/20409 "The account was modified by another request. Please refresh and retry." Here that
 * optimistic lock compares the account as it was when the request arrived with the account when the
 * request is applied: a request that overlapped another change to the same account gets the 409.
 *
 * Status rules, all [docs] unless marked:
 *  - "you must use your main account's authentication credentials to suspend [or close] a subaccount":
 *    a subaccount changing its own Status gets 401/20003 (code UNCONFIRMED);
 *  - "You can't suspend your main account" / "can't close your main account": 21477 "Unable to update
 *    Status for parent accounts, status updates restricted to subaccounts only";
 *  - "you can't reopen a closed account": 21479 "Unable to update Status for subaccount, subaccount has
 *    been closed". Any update of a closed account is refused so (UNCONFIRMED for FriendlyName alone);
 *  - suspended → active reactivates ("we will restore the account to full service").
 * A suspended or closed account's own credentials stop working (see auth.ts accountNotActive); the
 * parent's do not.
 */
export const updateAccount: Handler = (ctx) => {
  const account = pathAccount(ctx);
  accountAccess(ctx, account, 'update');
  const friendlyName = friendlyNameParam(ctx.form);
  const rawStatus = ctx.form.get('Status');
  const status = rawStatus === undefined ? undefined : statusValue(rawStatus, 'Status');
  if (account.status === 'closed')
    throw new TwilioApiError(400, 21479, 'Unable to update Status for subaccount, subaccount has been closed.');
  if (status !== undefined) {
    if (account.parentSid === undefined)
      throw new TwilioApiError(
        400,
        21477,
        'Unable to update Status for parent accounts, status updates restricted to subaccounts only',
      );
    if (ctx.principal.accountSid === account.sid) throw authenticateError();
  }
  if (ctx.arrivalVersion !== undefined && ctx.arrivalVersion !== account.version)
    throw new TwilioApiError(409, 20409, 'The account was modified by another request. Please refresh and retry.');
  if (friendlyName !== undefined) account.friendlyName = friendlyName;
  if (status !== undefined) account.status = status;
  ctx.state.touch(account);
  return { status: 200, body: accountBody(account, ctx.principal) };
};
