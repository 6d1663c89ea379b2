import type { Principal } from './auth.js';
import type { Account, TwilioState } from './state.js';
import { authenticateError } from './wire.js';

/** What an operation handler sees: an authenticated, authorized request (the token endpoint: no principal). */
export interface HandlerContext {
  state: TwilioState;
  principal: Principal;
  params: Record<string, string>;
  query: Map<string, string>;
  form: Map<string, string>;
  /** The parsed body of a JSON route (OAuth apps); empty for form routes. */
  json: Record<string, unknown>;
  path: string;
  /** Scheme and host the client reached us on, for absolute next_page_url values. */
  origin: string;
  /**
   * The version of the account named in the path (`params.account`) when the request arrived, before
   * any latency or slow fault held it: UpdateAccount's optimistic lock compares it with the account's
   * version when the request is applied.
   */
  arrivalVersion?: number;
}

export interface HandlerResult {
  status: number;
  /** Omitted for 204. */
  body?: unknown;
}

export type Handler = (ctx: HandlerContext) => HandlerResult;

export function principalAccount(ctx: HandlerContext): Account {
  const account = ctx.state.accounts.get(ctx.principal.accountSid);
  if (!account) throw authenticateError();
  return account;
}
