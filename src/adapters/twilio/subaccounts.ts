import type { Subaccount, Subaccounts } from '../../core/ports.js';
import { ACCOUNT_SID } from '../../core/sids.js';
import { registerSecret } from '../../redact.js';
import { answerJson, translateTwilioError, withTwilioRetry } from './errors.js';
import type { TwilioHttpResponse } from './http-client.js';
import { listError, type TwilioAdapterOptions, type TwilioTarget } from './keys.js';
import { createSlimClient } from './slim-client.js';

/** Accounts per page (Twilio's maximum for 2010 lists). */
const PAGE_SIZE = 1000;
const LIST_WITH_TOKEN = "list subaccounts with the parent's Account SID + Auth Token, not an API key";
const MAX_BOUNDS = "the fleet's subaccounts.max, which bounds the list read before filters apply";
const API = 'https://api.twilio.com';
const ACCOUNTS_PATH = '/2010-04-01/Accounts.json';

interface AccountRow {
  sid?: unknown;
  owner_account_sid?: unknown;
  friendly_name?: unknown;
  status?: unknown;
  auth_token?: unknown;
}

/**
 * A parent's active subaccounts (2010 Accounts list) with its Account SID + Auth Token, the one credential
 * Twilio answers each subaccount's Auth Token to; each is registered for redaction as it is parsed. Pages
 * only along the list's own path, at most ceil(limit / 1000) + 1; more than `limit` subaccounts fails
 * (a fleet larger than configured is a person's decision, not a silent cut).
 */
export function twilioSubaccounts(
  parent: { username: string; password: string; accountSid: string },
  where: Omit<TwilioTarget, 'accountSid'>,
  options: TwilioAdapterOptions,
): Subaccounts {
  const client = createSlimClient(parent, options.http, where);
  const get = async (uri: string): Promise<unknown> => {
    const attempt = async () => answerJson((await client.request({ method: 'get', uri })) as TwilioHttpResponse);
    try {
      return await withTwilioRetry(attempt, options);
    } catch (err) {
      throw translateTwilioError(err, 'ListAccounts', parent.accountSid);
    }
  };

  const fail = (problem: string) => listError('ListAccounts', 'subaccount', parent.accountSid, problem);
  const isParent = (sid: unknown) => typeof sid === 'string' && sid.toUpperCase() === parent.accountSid.toUpperCase();
  /** The next page, only along the list's own path on Twilio's host: nothing is sent anywhere else. */
  const nextPage = (next: unknown): string => {
    let url: URL | undefined;
    try {
      url = typeof next === 'string' ? new URL(next, API) : undefined;
    } catch {
      url = undefined;
    }
    if (!url) throw fail('gave a next page that is not a URI');
    if (url.origin !== API || url.pathname !== ACCOUNTS_PATH)
      throw fail('pointed its next page at another host or collection; nothing was sent there');
    return `${API}${ACCOUNTS_PATH}${url.search}`;
  };

  return {
    async list({ friendlyName, limit }): Promise<Subaccount[]> {
      const query = new URLSearchParams({ Status: 'active', PageSize: String(PAGE_SIZE) });
      if (friendlyName !== undefined) query.set('FriendlyName', friendlyName);
      let uri = `${API}${ACCOUNTS_PATH}?${query.toString()}`;
      const seen = new Set<string>([uri]);
      const found: Subaccount[] = [];
      const maxPages = Math.ceil(limit / PAGE_SIZE) + 1;
      for (let page = 1; ; page++) {
        const body = (await get(uri)) as { accounts?: unknown; next_page_uri?: unknown } | undefined;
        if (!body || !Array.isArray(body.accounts)) throw fail('came back without an "accounts" array');
        for (const row of body.accounts as AccountRow[]) {
          // The token first: nothing below may print a row before it is known to the redactor.
          if (typeof row?.auth_token === 'string' && row.auth_token !== '') registerSecret(row.auth_token);
          if (typeof row?.sid !== 'string' || !ACCOUNT_SID.test(row.sid))
            throw fail('holds an entry without a valid Account SID');
          const sid = row.sid; // as Twilio spells it: it is the username of the subaccount's credential
          // The list includes the parent itself; anything owned by another account is not ours to manage.
          if (isParent(sid) || !isParent(row.owner_account_sid) || row.status !== 'active') continue;
          if (typeof row.auth_token !== 'string' || row.auth_token === '')
            throw fail(`gave no Auth Token for ${sid}: ${LIST_WITH_TOKEN}`);
          const name = typeof row.friendly_name === 'string' ? row.friendly_name : '';
          found.push({ accountSid: sid, friendlyName: name, authToken: row.auth_token });
          if (found.length > limit)
            throw fail(`has more than ${limit} active subaccounts (${MAX_BOUNDS}); raise subaccounts.max`);
        }
        const next = body.next_page_uri;
        if (next === null || next === undefined || next === '') return found;
        uri = nextPage(next);
        if (seen.has(uri)) throw fail('handed back a next page it had already served; refusing to loop');
        if (page >= maxPages) throw fail(`went on past ${maxPages} pages; refusing to read further`);
        seen.add(uri);
      }
    },
  };
}
