import { RemoteError } from '../../errors.js';
import { isRetryable } from '../retry.js';

interface TwilioErrorShape {
  status?: number;
  code?: number | string;
  message?: string;
}

export function twilioStatus(err: unknown): number | undefined {
  const status = (err as TwilioErrorShape | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

export function twilioRetryable(err: unknown): boolean {
  return isRetryable(twilioStatus(err), err);
}

/** What the operator should change, by Twilio error code and the operation that got it. */
function hintFor(operation: string, status: number | undefined, code: unknown, accountSid: string): string | undefined {
  const managesKeys = /Key/.test(operation);
  if (code === 20003 && managesKeys) {
    return `the admin credential cannot manage keys on ${accountSid}. Use the account's Auth Token, a Main key, or a Restricted key with /twilio/iam/api-keys/* (a Standard key can never manage keys); check it belongs to this account and region`;
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

/** Translates an SDK error, once, at the adapter boundary. Never includes request bodies. */
export function translateTwilioError(err: unknown, operation: string, accountSid: string): RemoteError {
  const e = err as TwilioErrorShape;
  const status = twilioStatus(err);
  const code = e?.code;
  const hint = hintFor(operation, status, code, accountSid);
  const what =
    status !== undefined
      ? `HTTP ${status}${code !== undefined ? `, Twilio error ${String(code)}` : ''}${e.message ? ` (${e.message})` : ''}`
      : `network error (${String((err as { code?: string }).code ?? (err instanceof Error ? err.message : err))})`;
  return new RemoteError(
    'twilio',
    operation,
    {
      ...(status !== undefined ? { status } : {}),
      ...(code !== undefined ? { code } : {}),
      retryable: twilioRetryable(err),
      ...(hint ? { hint } : {}),
    },
    `Twilio ${operation} on ${accountSid} failed: ${what}${hint ? `. Fix: ${hint}` : ''}`,
    { cause: err },
  );
}
