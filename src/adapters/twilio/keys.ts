import type {
  CreatedKey,
  KeyVerifier,
  Refused,
  RestrictedPolicy,
  TwilioKey,
  TwilioKeys,
  VerifyMethod,
  VerifyResult,
} from '../../core/ports.js';
import { KEY_SID } from '../../core/sids.js';
import { RemoteError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import { sleep } from '../../util/abort.js';
import type { RetryPolicy } from '../retry.js';
import {
  answerJson,
  isRefusal,
  notTwilioAnswer,
  translateTwilioError,
  twilioStatus,
  withTwilioRetry,
} from './errors.js';
import { baseUrlsOf, type TwilioHttpOptions, type TwilioHttpResponse } from './http-client.js';
import { createSlimClient } from './slim-client.js';

export interface TwilioTarget {
  accountSid: string;
  region?: string;
  edge?: string;
}

export interface TwilioAdapterOptions {
  http: TwilioHttpOptions;
  retry: RetryPolicy;
  signal?: AbortSignal;
}

/** A verifier's options: refusals of a new credential are asked again `authRetries` times first. */
export type VerifierOptions = TwilioAdapterOptions & { authRetries?: number; authRetryDelayMs?: number };

/** Keys per list page (Twilio's maximum) and pages per list: 100,000 keys before the rotator gives up. */
const PAGE_SIZE = 1000;
const MAX_PAGES = 100;

const absent = () => undefined;

function parseDate(value: Date | string | null | undefined): number {
  if (value instanceof Date) return value.getTime();
  return value ? Date.parse(value) : Number.NaN;
}

/** Key management on one account through IAM v1, with the admin credential. */
export function twilioKeys(
  admin: { username: string; password: string },
  target: TwilioTarget,
  options: TwilioAdapterOptions,
): TwilioKeys {
  const client = createSlimClient({ ...admin, accountSid: target.accountSid }, options.http, target);
  /** `gone`: what a 404 means (a delete whose first attempt landed but whose answer was lost finds nothing). */
  const call = async <T, G = T>(operation: string, fn: () => Promise<T>, gone?: () => G): Promise<T | G> => {
    try {
      return await withTwilioRetry(fn, options);
    } catch (err) {
      if (gone && twilioStatus(err) === 404) return gone();
      throw translateTwilioError(err, operation, target.accountSid);
    }
  };

  return {
    async list(): Promise<TwilioKey[]> {
      const keys: TwilioKey[] = [];
      const seen = new Set<string>();
      const fail = (problem: string) => listError('ListKeys', 'key', target.accountSid, problem);
      let page = await call('ListKeys', () =>
        client.iam.v1.getApiKeys.page({ accountSid: target.accountSid, pageSize: PAGE_SIZE }),
      );
      for (let n = 1; ; n++) {
        for (const k of page.instances)
          keys.push({ sid: k.sid, friendlyName: k.friendlyName ?? null, createdAtMs: parseDate(k.dateCreated) });
        const next = page.nextPageUrl;
        if (!next) return keys;
        const url = nextPageUrl(next, options.http, { path: '/v1/Keys', account: target.accountSid, fail });
        if (seen.has(url)) throw fail('handed back a next page it had already served; refusing to loop');
        if (n >= MAX_PAGES) throw fail(`has more than ${MAX_PAGES * PAGE_SIZE} keys; refusing to read further`);
        seen.add(url);
        page = await call('ListKeys', () => client.iam.v1.getApiKeys.getPage(url));
      }
    },

    async create({ friendlyName, policy }): Promise<CreatedKey> {
      const created = await call('CreateKey', () =>
        client.iam.v1.newApiKey.create({
          accountSid: target.accountSid,
          friendlyName,
          ...(policy ? { keyType: 'restricted', policy: { allow: policy.allow } } : {}),
        }),
      );
      registerSecret(created.secret);
      if (!KEY_SID.test(created.sid) || !created.secret)
        throw malformedAnswer('CreateKey', 'a key SID or secret', target.accountSid);
      return {
        sid: created.sid,
        secret: created.secret,
        friendlyName: created.friendlyName ?? null,
        createdAtMs: parseDate(created.dateCreated),
      };
    },

    async fetchPolicy(sid: string): Promise<RestrictedPolicy | null | undefined> {
      const key = await call('FetchKey', () => client.iam.v1.apiKey(sid).fetch(), absent);
      if (!key) return undefined;
      const policy = key.policy as { allow?: unknown } | null | undefined;
      if (!policy || !Array.isArray(policy.allow)) return null;
      return { allow: policy.allow.filter((p): p is string => typeof p === 'string') };
    },

    async remove(sid: string) {
      // A 404 (`absent`) is the only "already gone"; whatever a 2xx delete answers, the key is deleted.
      const deleted = async () => (await client.iam.v1.apiKey(sid).remove(), 'deleted' as const);
      return call('DeleteKey', deleted, () => 'already-gone' as const);
    },
  };
}

/** A create answered 2xx without what it makes: translated as a 502, a failure no retry repeats. */
export function malformedAnswer(operation: string, without: string, accountSid: string): RemoteError {
  const wrong = new Error(`Twilio answered ${operation} without ${without}`);
  return translateTwilioError(Object.assign(wrong, { status: 502 }), operation, accountSid);
}

/** A list that cannot be trusted fails whole: a partial list could make a live credential look like an orphan. */
export function listError(operation: string, what: string, accountSid: string, problem: string): RemoteError {
  const message = `Twilio ${operation} on ${accountSid} failed: the ${what} list ${problem}`;
  return new RemoteError('twilio', operation, { retryable: false }, message);
}

/**
 * A next-page link is followed only along the same IAM collection (`path`, and `account`'s when given)
 * on a Twilio IAM host or twilio.baseUrl, handed on as https://iam.twilio.com so region, edge and the
 * HTTP client's rerouting apply as on the first page.
 */
export function nextPageUrl(
  link: unknown,
  http: TwilioHttpOptions,
  page: { path: string; account?: string; fail: (problem: string) => RemoteError },
): string {
  let url: URL;
  try {
    url = new URL(String(link));
  } catch {
    throw page.fail('gave a next page that is not a URL');
  }
  const bases = baseUrlsOf(http.baseUrl);
  const onTwilio = url.protocol === 'https:' && /^iam(\.[a-z0-9-]+)*\.twilio\.com$/.test(url.hostname);
  if (!onTwilio && !bases.some((b) => new URL(b).origin === url.origin)) {
    const neither = "which is neither Twilio's IAM host nor twilio.baseUrl";
    throw page.fail(`pointed its next page at ${url.origin}, ${neither}; nothing was sent there`);
  }
  const account = url.searchParams.get('AccountSid')?.toUpperCase();
  if (url.pathname !== page.path || (page.account !== undefined && account !== page.account.toUpperCase()))
    throw page.fail(`pointed its next page at another collection${page.account !== undefined ? ' or account' : ''}`);
  return `https://iam.twilio.com${page.path}${url.search}`;
}

/** The 2010 API lists a verification GET may read, one item a page, and the array their answer holds. */
const LISTS = {
  'list-incoming-phone-numbers': { path: 'IncomingPhoneNumbers.json', holds: 'incoming_phone_numbers' },
  'list-messages': { path: 'Messages.json', holds: 'messages' },
} as const;

/** What a Twilio answer to each verification GET must contain (`keySid`: the key fetching itself). */
export function looksLikeTwilio(how: VerifyMethod, body: unknown, keySid?: string): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const b = body as Record<string, unknown>;
  if (how.kind === 'fetch-own-key') return b.sid === keySid;
  return how.kind === 'url' || Array.isArray(b[LISTS[how.kind].holds]);
}

/** Why a definitive refusal happened, and what would fix it; from Twilio's code and message, never from the key. */
function refusalHint(how: VerifyMethod, code: unknown, message: unknown): string | undefined {
  const what = how.kind === 'url' ? 'validationUrl' : 'the verification GET';
  if (code === 70051) {
    const permission = typeof message === 'string' ? /permission (\S+) is missing/.exec(message)?.[1] : undefined;
    const perm = permission ? `/${permission.replace(/^\/+/, '')}` : 'the permission it needs';
    const todo = `add ${perm} to the policy's allow list, or set validationUrl to something the policy grants`;
    return `the key's policy and ${what} do not fit together: ${todo}`;
  }
  if (code === 20003) {
    const standard = 'a Standard key may never read /Accounts or /Keys resources';
    const restricted = 'a Restricted key only what its policy grants';
    const foreign = 'a key of another account or region is refused the same way';
    return `Twilio refused the key for ${what}: ${standard}, ${restricted}; ${foreign}`;
  }
  return undefined;
}

/**
 * `attempt` again after a pause while `again(err, tries)` says a refusal may be a new credential still
 * reaching every Twilio edge. The last failure is returned; an abort during the pause rejects.
 */
export async function retryingRefusals<T>(
  attempt: () => Promise<T>,
  again: (err: unknown, tries: number) => boolean,
  options: VerifierOptions,
): Promise<{ value: T } | { err: unknown }> {
  for (let i = 0; ; i++) {
    try {
      return { value: await attempt() };
    } catch (err) {
      if (!again(err, i)) return { err };
    }
    await sleep(options.authRetryDelayMs ?? 1000, options.signal);
    options.signal?.throwIfAborted();
  }
}

/** `options.authRetries` refusals of `status` are asked again. */
export const refusedWith =
  (statuses: readonly number[], options: VerifierOptions) =>
  (err: unknown, tries: number): boolean =>
    statuses.includes(twilioStatus(err) ?? 0) && tries < (options.authRetries ?? 2);

/**
 * Proves a key works by using it; only Twilio's JSON for the GET counts, not any 2xx (a proxy's HTML
 * page once "authenticated" a wrong key). 401/403 are asked again first: a new key takes a moment to
 * reach every edge. Definitive: "this key does not work"; otherwise "could not tell".
 */
export function twilioVerifier(target: TwilioTarget, options: VerifierOptions): KeyVerifier {
  return {
    async verify(key, how: VerifyMethod): Promise<VerifyResult> {
      const credential = { username: key.sid, password: key.secret, accountSid: key.accountSid };
      const client = createSlimClient(credential, options.http, target);
      const uri = verificationUrl(how, key.accountSid, key.sid);
      const attempt = async () => answerJson((await client.request({ method: 'get', uri })) as TwilioHttpResponse);
      const got = await retryingRefusals(
        () => withTwilioRetry(attempt, options),
        refusedWith([401, 403], options),
        options,
      );
      if ('value' in got) {
        if (looksLikeTwilio(how, got.value, key.sid)) return { ok: true };
        const reason = 'the answer was not the JSON Twilio sends for this request; check twilio.baseUrl and any proxy';
        return { ok: false, definitive: false, reason };
      }
      const refused = unverified(got.err, `for GET ${describeUrl(uri)}`);
      const { code, message } = got.err as { code?: number | string; message?: unknown };
      const hint = refused.definitive ? refusalHint(how, code, message) : undefined;
      return { ...refused, ...(hint ? { hint } : {}) };
    },
  };
}

function describeUrl(uri: string): string {
  const u = new URL(uri);
  return `${u.host}${u.pathname}`;
}

export const CHECK_BASE_URL = 'check twilio.baseUrl and any proxy';

/** A credential check's failure in words (`what`: the request); definitive only when Twilio refused it. */
export function unverified(err: unknown, what: string): Refused {
  const notTwilio = notTwilioAnswer(err);
  if (notTwilio) return { ok: false, definitive: false, reason: `${notTwilio.message}; ${CHECK_BASE_URL}` };
  const status = twilioStatus(err);
  const code = (err as { code?: number | string }).code;
  const twilioCode = code !== undefined ? ` (Twilio error ${String(code)})` : '';
  const reason = status !== undefined ? `HTTP ${status}${twilioCode} ${what}` : 'Twilio could not be reached';
  return { ok: false, definitive: isRefusal(status), reason };
}

/** The GET that proves a credential works, always scoped to its own account; only a key can fetch itself. */
export function verificationUrl(how: VerifyMethod, accountSid: string, keySid?: string): string {
  if (how.kind === 'url') return how.url;
  if (how.kind !== 'fetch-own-key')
    return `https://api.twilio.com/2010-04-01/Accounts/${accountSid}/${LISTS[how.kind].path}?PageSize=1`;
  if (keySid === undefined) throw new Error('an OAuth app has no key to fetch: verify with a data list or a url');
  return `https://iam.twilio.com/v1/Keys/${keySid}`;
}
