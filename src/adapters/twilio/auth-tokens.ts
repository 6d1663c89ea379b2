import type { AuthTokens, TokenCheck, TokenVerifier } from '../../core/ports.js';
import { RemoteError } from '../../errors.js';
import { registerSecret } from '../../redact.js';
import { isRecord, parseJson } from '../../util/json.js';
import { answerError, translateTwilioError, twilioStatus, withTwilioRetry } from './errors.js';
import {
  CHECK_BASE_URL,
  refusedWith,
  retryingRefusals,
  unverified,
  type TwilioAdapterOptions,
  type TwilioTarget,
  type VerifierOptions,
} from './keys.js';
import { createSlimClient } from './slim-client.js';

/**
 * The account's Auth Tokens through Accounts v1 (twilio-api.md §3). These endpoints act on the
 * account the credential authenticates as; there is no AccountSid parameter, so the admin credential
 * must belong to the target's own account. No GET exists for the secondary token: its value is seen
 * once, in the answer that creates it.
 */

const ACCOUNTS = 'https://accounts.twilio.com/v1/AuthTokens';

interface Answer {
  statusCode: number;
  body: unknown;
}

function parse(body: unknown): Record<string, unknown> | undefined {
  const parsed = parseJson(body);
  return isRecord(parsed) ? parsed : undefined;
}

/** Failures that cannot have reached Twilio: nothing was connected to, or Twilio throttled the call. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether a failed attempt may have had its effect: a 5xx, or a connection that broke or timed out
 * after the request could have been read. A 429 or a refused connection did nothing.
 */
export function outcomeUnknown(err: unknown): boolean {
  const status = twilioStatus(err);
  if (status !== undefined) return status >= 500;
  const code = (err as { code?: unknown } | undefined)?.code;
  return !(typeof code === 'string' && NOT_SENT.has(code));
}

export function twilioAuthTokens(
  admin: { username: string; password: string },
  target: TwilioTarget,
  options: TwilioAdapterOptions,
): AuthTokens {
  const client = createSlimClient({ ...admin, accountSid: target.accountSid }, options.http, target);
  /**
   * One call; 2xx answers and the expected "not there" answers come back, anything else throws.
   * `failed` hears of every attempt that failed, before the retry rule decides on the next.
   */
  const call = async (
    operation: string,
    method: 'post' | 'delete',
    uri: string,
    expected: number[],
    failed: (err: unknown) => void = () => undefined,
  ): Promise<Answer> => {
    const attempt = async () => {
      const res = (await client.request({ method, uri })) as Answer;
      if (res.statusCode >= 300 && !expected.includes(res.statusCode)) throw answerError(res);
      return res;
    };
    try {
      return await withTwilioRetry(
        () =>
          attempt().catch((err: unknown) => {
            failed(err);
            throw err;
          }),
        options,
      );
    } catch (err) {
      throw translateTwilioError(err, operation, target.accountSid);
    }
  };
  const tokenIn = (res: Answer, field: string, operation: string): string => {
    const value = parse(res.body)?.[field];
    if (typeof value !== 'string' || value.length === 0) {
      throw new RemoteError(
        'twilio',
        operation,
        { status: res.statusCode, retryable: false },
        `Twilio ${operation} on ${target.accountSid} answered without ${field}`,
      );
    }
    registerSecret(value);
    return value;
  };
  const codeOf = (res: Answer) => parse(res.body)?.code;

  return {
    async createSecondary() {
      // Not idempotent: an attempt whose answer was lost may have made the secondary, and a retry then
      // meets it. Such a 70002 is told apart from one that says the secondary was there before.
      let unknown = false;
      const res = await call('CreateSecondaryAuthToken', 'post', `${ACCOUNTS}/Secondary`, [400], (err) => {
        if (outcomeUnknown(err)) unknown = true;
      });
      if (res.statusCode === 400) {
        // 70002 is what Twilio is reported to answer when a secondary exists (UNCONFIRMED).
        if (codeOf(res) === 70002) return unknown ? 'exists-after-unknown' : 'exists';
        throw translateTwilioError(answerError(res), 'CreateSecondaryAuthToken', target.accountSid);
      }
      return { token: tokenIn(res, 'secondary_auth_token', 'CreateSecondaryAuthToken') };
    },
    async deleteSecondary() {
      const res = await call('DeleteSecondaryAuthToken', 'delete', `${ACCOUNTS}/Secondary`, [404]);
      return res.statusCode === 404 ? 'none' : 'deleted';
    },
    async promote() {
      const res = await call('PromoteAuthToken', 'post', `${ACCOUNTS}/Promote`, [404]);
      if (res.statusCode === 404) return 'no-secondary';
      return { token: tokenIn(res, 'auth_token', 'PromoteAuthToken') };
    },
  };
}

/**
 * Fetches the account with the token itself. A working token gets Twilio's JSON for the account,
 * whose auth_token is the primary: so one read says whether the token works and whether it is the
 * primary. 401s are retried a few times first (a new secondary may take a moment to reach every edge),
 * unless the caller expects a refusal (an old primary after a promotion: one 401 settles it);
 * with `validationUrl`, that URL must answer too.
 */
export function twilioTokenVerifier(
  target: TwilioTarget & { validationUrl?: string },
  options: VerifierOptions,
): TokenVerifier {
  return {
    async check(accountSid, token, how = {}): Promise<TokenCheck> {
      const client = createSlimClient({ username: accountSid, password: token, accountSid }, options.http, target);
      const get = (uri: string) =>
        withTwilioRetry(async () => {
          const res = (await client.request({ method: 'get', uri })) as Answer;
          if (res.statusCode >= 400) throw answerError(res);
          return parse(res.body);
        }, options);
      const account = `https://api.twilio.com/2010-04-01/Accounts/${accountSid}.json`;
      const attempt = async (): Promise<TokenCheck> => {
        const body = await get(account);
        if (body?.sid !== accountSid) {
          const reason = `the answer was not the JSON Twilio sends for the account; ${CHECK_BASE_URL}`;
          return { ok: false, definitive: false, reason };
        }
        if (target.validationUrl && !(await get(target.validationUrl)))
          return { ok: false, definitive: false, reason: `GET ${target.validationUrl} did not answer Twilio's JSON` };
        return { ok: true, primary: body.auth_token === token };
      };
      const again = how.refusalSettles ? () => false : refusedWith([401, 403], options);
      const got = await retryingRefusals(attempt, again, options);
      return 'value' in got ? got.value : unverified(got.err, 'for the account with this token');
    },
  };
}
