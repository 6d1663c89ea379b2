import { RemoteError } from '../../errors.js';
import { isRetryable, lastAnswer as underlying, RetryBudgetError, withRetry, type RetryPolicy } from '../retry.js';
import { parseJson } from '../../util/json.js';
import { NotTwilioAnswerError, RefusedUrlError, withRequestSignal } from './http-client.js';

interface TwilioErrorShape {
  status?: number;
  code?: number | string;
  message?: string;
}

const SENT_NOWHERE = 'nothing was sent there. Check twilio.baseUrl and HTTP_PROXY';
const CHECK_PROXIES = 'check twilio.baseUrl, HTTP_PROXY and any proxy between the rotator and *.twilio.com';

/**
 * A Twilio error answer as twilio-node's RestException carries it (status, code, message), translated alike.
 * `numericCode` keeps only a number as the code: the OAuth endpoints' answers are not all Twilio's error shape.
 */
export function answerError(res: { statusCode: number; body: unknown }, options: { numericCode?: boolean } = {}) {
  const body = parseJson(res.body) as TwilioErrorShape | null | undefined;
  const message = typeof body?.message === 'string' ? body.message : `HTTP ${res.statusCode}`;
  const keep = options.numericCode ? typeof body?.code === 'number' : body?.code !== undefined;
  return Object.assign(new Error(message), { status: res.statusCode, ...(keep ? { code: body?.code } : {}) });
}

/** A Twilio answer's JSON; an error answer throws (answerError) for the retry rule and the translation to read. */
export function answerJson(res: { statusCode: number; body: unknown }, options?: { numericCode?: boolean }): unknown {
  if (res.statusCode >= 400) throw answerError(res, options);
  return parseJson(res.body);
}

export function twilioStatus(err: unknown): number | undefined {
  const status = (underlying(err) as TwilioErrorShape | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

export function twilioRetryable(err: unknown): boolean {
  if (err instanceof RefusedUrlError) return false;
  return isRetryable(twilioStatus(err), err);
}

/** `fn` under the one retry rule, each attempt's signal reaching the HTTP client. */
export function withTwilioRetry<T>(
  fn: () => Promise<T>,
  options: { retry: RetryPolicy; signal?: AbortSignal | undefined },
): Promise<T> {
  return withRetry((signal) => withRequestSignal(signal, fn), options.retry, twilioRetryable, options.signal);
}

/** Twilio answered and refused: a 4xx other than 429. */
export const isRefusal = (status: number | undefined) =>
  status !== undefined && status >= 400 && status < 500 && status !== 429;

/** The NotTwilioAnswerError `err` is or wraps, if any. */
export function notTwilioAnswer(err: unknown): NotTwilioAnswerError | undefined {
  const cause = err instanceof NotTwilioAnswerError ? err : (err as { cause?: unknown } | undefined)?.cause;
  return cause instanceof NotTwilioAnswerError ? cause : undefined;
}

/** What the operator should change, by Twilio error code and the operation that got it. */
function hintFor(operation: string, err: unknown, accountSid: string): string | undefined {
  const status = twilioStatus(err);
  const code = (underlying(err) as TwilioErrorShape | undefined)?.code;
  const managesKeys = /Key/.test(operation);
  if (err instanceof RefusedUrlError) return `Twilio (or a proxy) handed back a link to another host; ${SENT_NOWHERE}`;
  if (underlying(err) instanceof NotTwilioAnswerError) return `something other than Twilio answered: ${CHECK_PROXIES}`;
  if (code === 20003 && /AuthToken/.test(operation)) {
    const what = `the admin credential may not manage the Auth Tokens of ${accountSid}`;
    const use =
      "Use the account's Auth Token (an auth-token target's own secret, the default) or a Main key of that account";
    return `${what}. ${use}; Standard and Restricted keys never can`;
  }
  if (code === 20003 && managesKeys) {
    const use = "Use the account's Auth Token, a Main key, or a Restricted key with /twilio/iam/api-keys/*";
    const never = '(a Standard key can never manage keys)';
    const what = `the admin credential cannot manage keys on ${accountSid}`;
    return `${what}. ${use} ${never}; check it belongs to this account and region`;
  }
  if (code === 20003)
    return `the credential was refused by ${accountSid}: wrong account or region, deleted key, or an old Auth Token`;
  if (code === 70051)
    return 'the Restricted admin key lacks a permission; grant /twilio/iam/api-keys/* (create, list, read, delete)';
  if (code === 70001 || code === 70002)
    return "Twilio rejected the request as invalid; check the target's policy permissions and friendlyNamePrefix";
  if (status === 429)
    return 'Twilio kept throttling (20429) through every retry; try again later or raise retry.budgetSeconds';
  if (status !== undefined && status >= 500)
    return 'Twilio kept failing (5xx) through every retry; the next run resumes where this one stopped';
  if (status === undefined)
    return 'Twilio could not be reached; check network access to *.twilio.com (or twilio.baseUrl)';
  return undefined;
}

/** Translates an SDK error, once, at the adapter boundary. Never includes request or response bodies. */
export function translateTwilioError(err: unknown, operation: string, accountSid: string): RemoteError {
  const cause = underlying(err);
  const e = cause as TwilioErrorShape;
  const status = twilioStatus(err);
  const code = e?.code;
  const hint = hintFor(operation, err, accountSid);
  const spent = err instanceof RetryBudgetError ? `; ${err.message}` : '';
  let what: string;
  if (cause instanceof NotTwilioAnswerError || cause instanceof RefusedUrlError) what = cause.message;
  else if (status !== undefined) {
    const twilioCode = code !== undefined ? `, Twilio error ${String(code)}` : '';
    what = `HTTP ${status}${twilioCode}${e.message ? ` (${e.message})` : ''}`;
  } else if (err instanceof RetryBudgetError && !err.cause) what = 'no answer';
  else {
    const reason = (cause as { code?: string }).code ?? (cause instanceof Error ? cause.message : cause);
    what = `network error (${String(reason)})`;
  }
  return new RemoteError(
    'twilio',
    operation,
    {
      ...(status !== undefined ? { status } : {}),
      ...(code !== undefined ? { code } : {}),
      retryable: twilioRetryable(err) || spent !== '',
      ...(hint ? { hint } : {}),
    },
    `Twilio ${operation} on ${accountSid} failed: ${what}${spent}${hint ? `. Fix: ${hint}` : ''}`,
    { cause: err },
  );
}
