/**
 * Secret values, in the field names of AWS Secrets Manager's managed Twilio secret types, so a secret
 * can move between this tool and those types unchanged.
 *
 *   TwilioApiKey      { accountSid, apiKeySid, apiKeySecret, validationUrl? }   <- what we rotate
 *   TwilioMainApiKey  { accountSid, adminKeySid, adminKeySecret }               <- admin credential
 *   TwilioAuthToken   { accountSid, authToken }                                 <- admin credential
 *
 * This is the one parser for stored values. Its errors name the secret, the version and the field,
 * and never quote the input: the input is a secret (Node's JSON.parse errors quote it, so they are
 * never passed on).
 */

import { ACCOUNT_SID, KEY_SID } from './sids.js';

export interface ApiKeySecret {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
  validationUrl?: string;
}

/** A credential the rotator uses to manage keys: basic-auth username/password plus the account. */
export interface AdminCredential {
  kind: 'auth-token' | 'api-key';
  accountSid: string;
  username: string;
  password: string;
}

/** Where a value came from, for messages: the secret, and the version when there is one. */
export interface ValueSource {
  secretId: string;
  versionId?: string;
  stage?: string;
}

export function describeSource(source: ValueSource): string {
  const version = source.versionId ? ` version ${source.versionId}` : '';
  return `secret "${source.secretId}"${source.stage ? ` ${source.stage}` : ''}${version}`;
}

export class SecretShapeError extends Error {
  override name = 'SecretShapeError';
  constructor(
    readonly source: ValueSource,
    readonly field: string,
    problem: string,
  ) {
    super(`${describeSource(source)}: ${field} ${problem}`);
  }
}

/** A JSON object, or a SecretShapeError that says what is wrong without quoting the text. */
export function parseSecretObject(source: ValueSource, raw: string | undefined): Record<string, unknown> {
  if (raw === undefined) throw new SecretShapeError(source, 'value', 'is missing (the version has no string value)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SecretShapeError(
      source,
      'value',
      'is not JSON; it must be a JSON object holding accountSid and the credential fields',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SecretShapeError(source, 'value', 'is not a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function field(source: ValueSource, obj: Record<string, unknown>, name: string, pattern?: RegExp): string {
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

export interface ParsedApiKeySecret extends ApiKeySecret {
  /** Every field of the stored object, ours and any a consumer added; a rotation keeps the others. */
  document: Record<string, unknown>;
}

export function parseApiKeySecret(source: ValueSource, raw: string | undefined): ParsedApiKeySecret {
  const obj = parseSecretObject(source, raw);
  const secret: ParsedApiKeySecret = {
    accountSid: field(source, obj, 'accountSid', ACCOUNT_SID),
    apiKeySid: field(source, obj, 'apiKeySid', KEY_SID),
    apiKeySecret: field(source, obj, 'apiKeySecret'),
    document: obj,
  };
  if (obj.validationUrl !== undefined) secret.validationUrl = field(source, obj, 'validationUrl');
  return secret;
}

/**
 * The next version's text: the fields a consumer added to the secret stay as they were; ours are
 * replaced. `validationUrl` follows the configuration when it sets one, else stays as stored.
 */
export function nextApiKeyValue(previous: Record<string, unknown> | undefined, next: ApiKeySecret): string {
  const out: Record<string, unknown> = { ...(previous ?? {}) };
  out.accountSid = next.accountSid;
  out.apiKeySid = next.apiKeySid;
  out.apiKeySecret = next.apiKeySecret;
  if (next.validationUrl !== undefined) out.validationUrl = next.validationUrl;
  return JSON.stringify(out);
}

/** Accepts the TwilioMainApiKey shape, the TwilioAuthToken shape, or a Restricted admin key in either key shape. */
export function parseAdminCredential(source: ValueSource, raw: string | undefined): AdminCredential {
  const obj = parseSecretObject(source, raw);
  const accountSid = field(source, obj, 'accountSid', ACCOUNT_SID);
  const has = (name: string) => Object.hasOwn(obj, name);
  if (has('authToken')) {
    return { kind: 'auth-token', accountSid, username: accountSid, password: field(source, obj, 'authToken') };
  }
  if (has('adminKeySid')) {
    const username = field(source, obj, 'adminKeySid', KEY_SID);
    return { kind: 'api-key', accountSid, username, password: field(source, obj, 'adminKeySecret') };
  }
  if (has('apiKeySid')) {
    const username = field(source, obj, 'apiKeySid', KEY_SID);
    return { kind: 'api-key', accountSid, username, password: field(source, obj, 'apiKeySecret') };
  }
  throw new SecretShapeError(
    source,
    'value',
    'has none of authToken, adminKeySid/adminKeySecret or apiKeySid/apiKeySecret',
  );
}

/** Key SIDs written anywhere in a value that does not parse: they may be in use, so they count as referenced. */
export function keySidsIn(raw: string | undefined): string[] {
  return [...new Set(raw?.match(/SK[0-9a-fA-F]{32}/g) ?? [])];
}
