import type { OAuthApp, OAuthVerifier, TwilioOAuthApps } from '../../core/ports.js';
import { RemoteError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import { parseJson as parse } from '../../util/json.js';
import { answerError, answerJson, isRefusal, translateTwilioError, twilioStatus, withTwilioRetry } from './errors.js';
import { httpClientFor, NotTwilioAnswerError, type TwilioHttpResponse } from './http-client.js';
import {
  listError,
  looksLikeTwilio,
  malformedAnswer,
  nextPageUrl,
  retryingRefusals,
  verificationUrl,
  type TwilioAdapterOptions,
  type VerifierOptions,
} from './keys.js';
import { createSlimClient } from './slim-client.js';

/**
 * Account OAuth apps (IAM v1, JSON bodies) and the client-credentials token endpoint (docs/oauth-apps.md).
 * twilio-node 6.2.0 has no fetch or list and sends camelCase, so the JSON is written here, sent through
 * the same client. Client secrets and access tokens are registered for redaction as they arrive.
 */

const APPS = 'https://iam.twilio.com/v1/Account/OAuthApps';
const TOKEN = 'https://oauth.twilio.com/v2/token';
/** Apps per page and pages per list: 5,000 apps before the rotator gives up (Twilio documents no limit). */
const PAGE_SIZE = 100;
const MAX_PAGES = 50;
const GONE = Symbol('gone');

function appOf(raw: unknown): OAuthApp | undefined {
  const a = raw as Record<string, unknown> | undefined;
  const policy = a?.policy as { allow?: unknown; deny?: unknown } | undefined;
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((p): p is string => typeof p === 'string') : []);
  if (typeof a?.sid !== 'string' || !/^OQ[a-zA-Z0-9]{32}$/.test(a.sid)) return undefined;
  return {
    sid: a.sid,
    friendlyName: typeof a.friendly_name === 'string' ? a.friendly_name : '',
    description: typeof a.description === 'string' ? a.description : '',
    policy: { allow: strings(policy?.allow), ...(Array.isArray(policy?.deny) ? { deny: strings(policy.deny) } : {}) },
    accessTokenTtlSeconds: typeof a.access_token_ttl === 'number' ? a.access_token_ttl : Number.NaN,
    createdAtMs: typeof a.date_created === 'string' ? Date.parse(a.date_created) : Number.NaN,
  };
}

/** The hint for an admin credential that may not manage apps: the Keys hints would name the wrong permission. */
function appsError(err: unknown, operation: string, accountSid: string): RemoteError {
  const code = (err as { code?: unknown }).code;
  if (code !== 20003 && code !== 70051) return translateTwilioError(err, operation, accountSid);
  const hint =
    "use the account's Auth Token, a Main key, or a Restricted key with /twilio/iam/account-oauth-apps/* " +
    '(a Standard key never can); OAuth apps exist in US1 only';
  const what = `HTTP ${twilioStatus(err) ?? '?'}, Twilio error ${String(code)}`;
  return new RemoteError(
    'twilio',
    operation,
    { status: twilioStatus(err) ?? 401, code, retryable: false, hint },
    `Twilio ${operation} on ${accountSid} failed: ${what}. Fix: ${hint}`,
    { cause: err },
  );
}

/** App management on one account with the admin credential. */
export function twilioOAuthApps(
  admin: { username: string; password: string },
  accountSid: string,
  options: TwilioAdapterOptions,
): TwilioOAuthApps {
  const client = createSlimClient({ ...admin, accountSid }, options.http);
  const json = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const send = async (method: string, uri: string, data?: unknown): Promise<unknown> => {
    const body = data === undefined ? {} : { data: data as Record<string, unknown> };
    const request = { method: method as 'get', uri, headers: { ...json }, ...body };
    return answerJson((await client.request(request)) as TwilioHttpResponse, { numericCode: true });
  };
  /** One operation under the retry rule; a 404 is `GONE` where the caller says it means "no such app". */
  const call = async (op: string, method: string, uri: string, data?: unknown, on404?: 'gone'): Promise<unknown> => {
    try {
      return await withTwilioRetry(() => send(method, uri, data), options);
    } catch (err) {
      // A delete whose first attempt landed but whose answer was lost comes back 404: same outcome.
      if (on404 && twilioStatus(err) === 404) return GONE;
      throw appsError(err, op, accountSid);
    }
  };
  const one = (sid: string) => `${APPS}/${encodeURIComponent(sid)}`;

  return {
    async list() {
      const apps: OAuthApp[] = [];
      const seen = new Set<string>();
      const fail = (problem: string) => listError('ListOAuthApps', 'app', accountSid, problem);
      let uri = `${APPS}?PageSize=${PAGE_SIZE}`;
      for (let n = 1; ; n++) {
        const page = (await call('ListOAuthApps', 'get', uri)) as {
          oauth_apps?: unknown;
          meta?: { next_page_url?: unknown };
        };
        if (!Array.isArray(page?.oauth_apps)) throw fail('answered without an oauth_apps array');
        for (const raw of page.oauth_apps) {
          const app = appOf(raw);
          if (!app) throw fail('held an entry without an OQ client ID');
          apps.push(app);
        }
        const next = page.meta?.next_page_url;
        if (next === null || next === undefined) return apps;
        uri = nextPageUrl(next, options.http, { path: '/v1/Account/OAuthApps', fail });
        if (seen.has(uri)) throw fail('handed back a page it had already served; refusing to loop');
        if (n >= MAX_PAGES) throw fail(`has more than ${MAX_PAGES * PAGE_SIZE} apps; refusing to read on`);
        seen.add(uri);
      }
    },

    async fetch(sid) {
      const body = await call('FetchOAuthApp', 'get', one(sid), undefined, 'gone');
      return body === GONE ? undefined : appOf(body);
    },

    async create(spec) {
      const body = {
        type: 'client_credentials',
        friendly_name: spec.friendlyName,
        description: spec.description,
        policy: spec.policy,
        access_token_ttl: spec.accessTokenTtlSeconds,
      };
      const answer = (await call('CreateOAuthApp', 'post', APPS, body)) as { secret?: unknown } | undefined;
      const secret = typeof answer?.secret === 'string' ? answer.secret : '';
      registerSecret(secret || undefined);
      const app = appOf(answer);
      if (!app || !secret) throw malformedAnswer('CreateOAuthApp', 'a client ID or secret', accountSid);
      return { ...app, secret };
    },

    async remove(sid) {
      return (await call('DeleteOAuthApp', 'delete', one(sid), undefined, 'gone')) === GONE
        ? 'already-gone'
        : 'deleted';
    },
  };
}

/**
 * Proves an app's client credentials work: a token from the token endpoint, then one read with
 * `Authorization: Bearer`. Neither call carries the admin credential. 4xx answers are retried a few
 * times first (a new app may take a moment to reach every edge, as a new key does); then a 4xx is
 * definitive ("these credentials do not work") and anything else is "could not tell".
 */
export function oauthVerifier(options: VerifierOptions): OAuthVerifier {
  return {
    async verify(creds, how) {
      const http = httpClientFor(options.http, creds.accountSid);
      const once = async (): Promise<unknown> => {
        const form = { client_id: creds.clientId, client_secret: creds.clientSecret, grant_type: 'client_credentials' };
        const form$ = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
        const issued = await http.request({ method: 'post', uri: TOKEN, headers: form$, data: form });
        if (issued.statusCode >= 400)
          throw Object.assign(answerError(issued, { numericCode: true }), { step: 'token' });
        const token = (parse(issued.body) as { access_token?: unknown } | undefined)?.access_token;
        if (typeof token !== 'string' || token === '')
          throw new NotTwilioAnswerError(issued.statusCode, 'no access_token');
        registerSecret(token);
        const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
        const read = await http.request({ method: 'get', uri: verificationUrl(how, creds.accountSid), headers });
        if (read.statusCode >= 400) throw Object.assign(answerError(read, { numericCode: true }), { step: 'read' });
        return parse(read.body);
      };
      const again = (err: unknown, tries: number) => isRefusal(twilioStatus(err)) && tries < (options.authRetries ?? 2);
      const got = await retryingRefusals(() => withTwilioRetry(once, options), again, options);
      if ('value' in got) {
        if (looksLikeTwilio(how, got.value)) return { ok: true };
        const reason = 'the answer was not the JSON Twilio sends for this read; check twilio.baseUrl and any proxy';
        return { ok: false, definitive: false, reason };
      }
      const status = twilioStatus(got.err);
      const e = got.err as { code?: number | string; step?: string };
      const where = e.step === 'read' ? 'the Bearer read' : 'the token endpoint';
      const code = e.code === undefined ? '' : ` (Twilio error ${String(e.code)})`;
      if (status === undefined)
        return { ok: false, definitive: false, reason: `${where}: Twilio could not be reached` };
      const reason = `HTTP ${status}${code} from ${where}`;
      return { ok: false, definitive: isRefusal(status), reason, ...hintFor(e.code, e.step) };
    },
  };
}

function hintFor(code: unknown, step: string | undefined): { hint?: string } {
  if (step === 'read' && code === 70051)
    return { hint: "the app's policy does not grant the verification read: add its permission, or set validationUrl" };
  if (step === 'token')
    return { hint: 'the client ID and secret were refused: the app was deleted, or the secret is not its own' };
  return {};
}
