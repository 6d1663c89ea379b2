import { randomBytes } from 'node:crypto';

/** Wire-level helpers: Twilio error bodies, date formats, form parsing. */

/** Thrown by handlers; turned into Twilio's legacy error body `{code, message, more_info, status}`. */
export class TwilioApiError extends Error {
  override name = 'TwilioApiError';
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  get body() {
    return {
      code: this.code,
      message: this.message,
      more_info: `https://www.twilio.com/docs/errors/${this.code}`,
      status: this.status,
    };
  }
}

export const authenticateError = () => new TwilioApiError(401, 20003, 'Authenticate');
export const notFound = (path: string) =>
  new TwilioApiError(404, 20404, `The requested resource ${path} was not found`);
export const constraintViolation = (detail: string) =>
  new TwilioApiError(400, 70001, `The request has constraint violations: ${detail}`);
export const invalidSid = () => new TwilioApiError(400, 70002, 'Invalid Sid provided in the request');

export const SID_PATTERN = {
  AC: /^AC[0-9a-fA-F]{32}$/,
  SK: /^SK[0-9a-fA-F]{32}$/,
  /** The definition's path pattern for an OAuth app (its create request's client_sid is hex only). */
  OQ: /^OQ[a-zA-Z0-9]{32}$/,
} as const;

/** RFC 2822 as Twilio writes it: "Mon, 13 Jun 2016 22:50:08 +0000" (IAM v1 and 2010 resources). */
export function rfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

/** ISO 8601 without milliseconds: "2015-07-31T04:00:00Z" (Accounts v1 AuthTokens). */
export function iso8601(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function requestId(): string {
  return 'RQ' + randomBytes(16).toString('hex');
}

/**
 * Strict x-www-form-urlencoded parsing. URLSearchParams silently accepts broken percent-escapes;
 * Twilio rejects them, and so does this, so a client that encodes badly fails loudly in tests.
 */
export function parseForm(text: string, what: string): Map<string, string> {
  const out = new Map<string, string>();
  if (text === '') return out;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    try {
      out.set(decodeURIComponent(rawName.replace(/\+/g, ' ')), decodeURIComponent(rawValue.replace(/\+/g, ' ')));
    } catch {
      throw new TwilioApiError(400, 20001, `Invalid ${what}: malformed percent-encoding`);
    }
  }
  return out;
}

/** Parses the request body, which Twilio only accepts as a form. */
export function parseBody(contentType: string | undefined, body: Buffer): Map<string, string> {
  if (body.length === 0) return new Map();
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new TwilioApiError(
      400,
      20001,
      `Invalid request body: expected application/x-www-form-urlencoded, got ${type || 'no content type'}`,
    );
  }
  return parseForm(body.toString('utf8'), 'request body');
}

/** Parses a JSON request body (OAuth apps): an object, or 400 naming what is wrong. */
export function parseJsonBody(contentType: string | undefined, body: Buffer): Record<string, unknown> {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json')
    throw new TwilioApiError(400, 20001, `Invalid request body: expected application/json, got ${type || 'nothing'}`);
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw new TwilioApiError(400, 20001, 'Invalid request body: not valid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new TwilioApiError(400, 20001, 'Invalid request body: expected a JSON object');
  return raw as Record<string, unknown>;
}
