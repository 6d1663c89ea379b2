/**
 * Secret values, in the field names of AWS Secrets Manager's managed Twilio secret types, so a secret
 * can move between this tool and those types unchanged.
 *
 *   TwilioApiKey      { accountSid, apiKeySid, apiKeySecret, validationUrl? }   <- what we rotate
 *   TwilioMainApiKey  { accountSid, adminKeySid, adminKeySecret }               <- admin credential
 *   TwilioAuthToken   { accountSid, authToken }                                 <- admin credential
 */

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

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const KEY_SID = /^SK[0-9a-fA-F]{32}$/;

export class SecretShapeError extends Error {
  override name = 'SecretShapeError';
  constructor(
    readonly secretId: string,
    readonly field: string,
    problem: string,
  ) {
    super(`secret "${secretId}": ${field} ${problem}`);
  }
}

function parseObject(secretId: string, raw: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // Never echo the raw text: it is a secret.
    throw new SecretShapeError(secretId, 'value', 'is not JSON; expected an object such as {"accountSid": "AC…", …}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SecretShapeError(secretId, 'value', 'is not a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function field(secretId: string, obj: Record<string, unknown>, name: string, pattern?: RegExp): string {
  const value = obj[name];
  if (typeof value !== 'string' || value.length === 0) {
    throw new SecretShapeError(secretId, name, 'is missing or not a non-empty string');
  }
  if (pattern && !pattern.test(value)) {
    throw new SecretShapeError(
      secretId,
      name,
      `does not look like ${pattern === ACCOUNT_SID ? 'an Account SID (AC + 32 hex)' : 'an API key SID (SK + 32 hex)'}`,
    );
  }
  return value;
}

export function parseApiKeySecret(secretId: string, raw: string): ApiKeySecret {
  const obj = parseObject(secretId, raw);
  const secret: ApiKeySecret = {
    accountSid: field(secretId, obj, 'accountSid', ACCOUNT_SID),
    apiKeySid: field(secretId, obj, 'apiKeySid', KEY_SID),
    apiKeySecret: field(secretId, obj, 'apiKeySecret'),
  };
  if (obj.validationUrl !== undefined) secret.validationUrl = field(secretId, obj, 'validationUrl');
  return secret;
}

export function serializeApiKeySecret(secret: ApiKeySecret): string {
  return JSON.stringify(secret);
}

/** Accepts the TwilioMainApiKey shape, the TwilioAuthToken shape, or a Restricted admin key in either key shape. */
export function parseAdminCredential(secretId: string, raw: string): AdminCredential {
  const obj = parseObject(secretId, raw);
  const accountSid = field(secretId, obj, 'accountSid', ACCOUNT_SID);
  if ('authToken' in obj) {
    return { kind: 'auth-token', accountSid, username: accountSid, password: field(secretId, obj, 'authToken') };
  }
  if ('adminKeySid' in obj) {
    return {
      kind: 'api-key',
      accountSid,
      username: field(secretId, obj, 'adminKeySid', KEY_SID),
      password: field(secretId, obj, 'adminKeySecret'),
    };
  }
  if ('apiKeySid' in obj) {
    return {
      kind: 'api-key',
      accountSid,
      username: field(secretId, obj, 'apiKeySid', KEY_SID),
      password: field(secretId, obj, 'apiKeySecret'),
    };
  }
  throw new SecretShapeError(
    secretId,
    'value',
    'has none of authToken, adminKeySid/adminKeySecret or apiKeySid/apiKeySecret',
  );
}
