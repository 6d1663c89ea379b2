import type {
  CreatedKey,
  KeyVerifier,
  RestrictedPolicy,
  TwilioKey,
  TwilioKeys,
  VerifyMethod,
  VerifyResult,
} from '../../core/ports.js';
import { registerSecret } from '../../log.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import { translateTwilioError, twilioRetryable, twilioStatus } from './errors.js';
import type { TwilioHttpOptions } from './http-client.js';
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

function parseDate(value: Date | string | null | undefined): number {
  if (value instanceof Date) return value.getTime();
  return value ? Date.parse(value) : Number.NaN;
}

/**
 * Key management on one account through IAM v1, authenticated with the admin credential.
 * Every call goes through one retry policy and one error translation.
 */
export function twilioKeys(
  admin: { username: string; password: string },
  target: TwilioTarget,
  options: TwilioAdapterOptions,
): TwilioKeys {
  const client = createSlimClient(
    { ...admin, accountSid: target.accountSid },
    {
      ...options.http,
      ...(target.region ? { region: target.region } : {}),
      ...(target.edge ? { edge: target.edge } : {}),
    },
  );
  const call = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await withRetry(fn, options.retry, twilioRetryable, options.signal);
    } catch (err) {
      throw translateTwilioError(err, operation, target.accountSid);
    }
  };

  return {
    async list(): Promise<TwilioKey[]> {
      // list() follows every next_page_url and rejects on any page error: never a partial list.
      const keys = await call('ListKeys', () =>
        client.iam.v1.getApiKeys.list({ accountSid: target.accountSid, pageSize: 200 }),
      );
      return keys.map((k) => ({
        sid: k.sid,
        friendlyName: k.friendlyName ?? null,
        createdAtMs: parseDate(k.dateCreated),
      }));
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
      if (!/^SK[0-9a-fA-F]{32}$/.test(created.sid) || !created.secret) {
        throw translateTwilioError(
          Object.assign(new Error('Twilio answered CreateKey without a key SID or secret'), { status: 502 }),
          'CreateKey',
          target.accountSid,
        );
      }
      return {
        sid: created.sid,
        secret: created.secret,
        friendlyName: created.friendlyName ?? null,
        createdAtMs: parseDate(created.dateCreated),
      };
    },

    async fetchPolicy(sid: string): Promise<RestrictedPolicy | null | undefined> {
      try {
        const key = await withRetry(
          () => client.iam.v1.apiKey(sid).fetch(),
          options.retry,
          twilioRetryable,
          options.signal,
        );
        const policy = key.policy as { allow?: unknown } | null | undefined;
        if (!policy || !Array.isArray(policy.allow)) return null;
        return { allow: policy.allow.filter((p): p is string => typeof p === 'string') };
      } catch (err) {
        if (twilioStatus(err) === 404) return undefined;
        throw translateTwilioError(err, 'FetchKey', target.accountSid);
      }
    },

    async remove(sid: string): Promise<'deleted' | 'already-gone'> {
      try {
        await withRetry(() => client.iam.v1.apiKey(sid).remove(), options.retry, twilioRetryable, options.signal);
        return 'deleted';
      } catch (err) {
        // A delete whose first attempt landed but whose answer was lost comes back 404: same outcome.
        if (twilioStatus(err) === 404) return 'already-gone';
        throw translateTwilioError(err, 'DeleteKey', target.accountSid);
      }
    },
  };
}

/**
 * Proves a key works by using it. 401/403 answers are retried a few times first: a brand-new key
 * may take a moment to reach every Twilio edge. A definitive failure means "this key does not work";
 * a transient one means "could not tell".
 */
export function twilioVerifier(
  target: TwilioTarget,
  options: TwilioAdapterOptions & { authRetries?: number; authRetryDelayMs?: number },
): KeyVerifier {
  return {
    async verify(key, how: VerifyMethod): Promise<VerifyResult> {
      const client = createSlimClient(
        { username: key.sid, password: key.secret, accountSid: key.accountSid },
        {
          ...options.http,
          ...(target.region ? { region: target.region } : {}),
          ...(target.edge ? { edge: target.edge } : {}),
        },
      );
      const uri = verificationUrl(how, key);
      const attempt = async (): Promise<number> => {
        const res = (await client.request({ method: 'get', uri })) as { statusCode: number; body: unknown };
        if (res.statusCode >= 400) {
          const body = (typeof res.body === 'string' ? safeJson(res.body) : res.body) as { code?: number } | undefined;
          throw Object.assign(new Error(`HTTP ${res.statusCode}`), {
            status: res.statusCode,
            ...(body?.code !== undefined ? { code: body.code } : {}),
          });
        }
        return res.statusCode;
      };
      const authRetries = options.authRetries ?? 2;
      for (let i = 0; ; i++) {
        try {
          await withRetry(attempt, options.retry, twilioRetryable, options.signal);
          return { ok: true };
        } catch (err) {
          const status = twilioStatus(err);
          const code = (err as { code?: number | string }).code;
          if ((status === 401 || status === 403) && i < authRetries) {
            await new Promise((r) => setTimeout(r, options.authRetryDelayMs ?? 1000));
            continue;
          }
          const definitive = status !== undefined && status >= 400 && status < 500 && status !== 429;
          return {
            ok: false,
            definitive,
            reason:
              status !== undefined
                ? `HTTP ${status}${code !== undefined ? ` (Twilio error ${String(code)})` : ''}`
                : 'Twilio could not be reached',
          };
        }
      }
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The GET that proves a key works, always scoped to the key's own account. */
function verificationUrl(how: VerifyMethod, key: { accountSid: string; sid: string }): string {
  const account = `https://api.twilio.com/2010-04-01/Accounts/${key.accountSid}`;
  switch (how.kind) {
    case 'list-incoming-phone-numbers':
      return `${account}/IncomingPhoneNumbers.json?PageSize=1`;
    case 'list-messages':
      return `${account}/Messages.json?PageSize=1`;
    case 'fetch-own-key':
      return `https://iam.twilio.com/v1/Keys/${key.sid}`;
    case 'url':
      return how.url;
  }
}
