import { SecretShapeError, type ValueSource } from '../errors.js';
import { isRecord, parseJson } from '../util/json.js';
import { ACCOUNT_SID, KEY_SID } from './sids.js';

/**
 * The one parser for stored values. Their field names are those of Secrets Manager's managed Twilio
 * secret types, so a secret moves between this tool and those types unchanged:
 *
 *   TwilioApiKey      { accountSid, apiKeySid, apiKeySecret, validationUrl? }
 *   TwilioAuthToken   { accountSid, authToken, validationUrl? }
 *   TwilioMainApiKey  { accountSid, adminKeySid, adminKeySecret }
 *
 * Errors name the secret, the version and the field, and never quote the input: Node's JSON.parse
 * errors quote it, so they are never passed on.
 */

/** A JSON object, or a SecretShapeError that says what is wrong without quoting the text. */
export function parseSecretObject(
  source: ValueSource,
  raw: string | undefined,
  binary = false,
): Record<string, unknown> {
  const isBinary = 'is binary (SecretBinary); the rotator reads and writes a JSON SecretString';
  if (binary) throw new SecretShapeError(source, 'value', isBinary);
  if (raw === undefined) throw new SecretShapeError(source, 'value', 'is missing (the version has no string value)');
  const parsed = parseJson(raw);
  const notJson = 'is not JSON; it must be a JSON object holding accountSid and the credential fields';
  if (parsed === undefined) throw new SecretShapeError(source, 'value', notJson);
  if (!isRecord(parsed)) throw new SecretShapeError(source, 'value', 'is not a JSON object');
  return parsed;
}

/** A non-empty string field, optionally of a SID shape. */
export function stringField(source: ValueSource, obj: Record<string, unknown>, name: string, pattern?: RegExp): string {
  const value = Object.hasOwn(obj, name) ? obj[name] : undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new SecretShapeError(source, name, 'is missing or not a non-empty string');
  }
  if (pattern && !pattern.test(value)) {
    const shape = pattern === ACCOUNT_SID ? 'an Account SID (AC + 32 hex)' : 'an API key SID (SK + 32 hex)';
    throw new SecretShapeError(source, name, `does not look like ${shape}`);
  }
  return value;
}

/** A credential the rotator uses to manage credentials: basic-auth username/password plus the account. */
export interface AdminCredential {
  kind: 'auth-token' | 'api-key';
  accountSid: string;
  username: string;
  password: string;
}

/** Accepts the TwilioMainApiKey shape, the TwilioAuthToken shape, or a Restricted admin key in the API-key shape. */
export function parseAdminCredential(source: ValueSource, raw: string | undefined, binary = false): AdminCredential {
  const obj = parseSecretObject(source, raw, binary);
  const accountSid = stringField(source, obj, 'accountSid', ACCOUNT_SID);
  const has = (name: string) => Object.hasOwn(obj, name);
  if (has('authToken')) {
    return { kind: 'auth-token', accountSid, username: accountSid, password: stringField(source, obj, 'authToken') };
  }
  for (const [sid, secret] of [
    ['adminKeySid', 'adminKeySecret'],
    ['apiKeySid', 'apiKeySecret'],
  ] as const) {
    if (!has(sid)) continue;
    const username = stringField(source, obj, sid, KEY_SID);
    return { kind: 'api-key', accountSid, username, password: stringField(source, obj, secret) };
  }
  const none = 'has none of authToken, adminKeySid/adminKeySecret or apiKeySid/apiKeySecret';
  throw new SecretShapeError(source, 'value', none);
}

/**
 * Key SIDs and OAuth client IDs written anywhere in a value that does not parse: they may be in use, so
 * they count as referenced.
 */
export function keySidsIn(raw: string | undefined): string[] {
  return [...new Set(raw?.match(/SK[0-9a-fA-F]{32}|OQ[a-zA-Z0-9]{32}/g) ?? [])];
}
