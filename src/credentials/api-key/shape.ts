import { parseSecretObject, stringField } from '../../core/secret-values.js';
import { ACCOUNT_SID, KEY_SID } from '../../core/sids.js';
import type { ValueSource } from '../../errors.js';

/** The rotated secret of an API-key target: AWS's TwilioApiKey shape. */
export interface ApiKeySecret {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
  validationUrl?: string;
}

export interface ParsedApiKeySecret extends ApiKeySecret {
  /** Every field of the stored object, ours and any a consumer added; a rotation keeps the others. */
  document: Record<string, unknown>;
}

export function parseApiKeySecret(source: ValueSource, raw: string | undefined, binary = false): ParsedApiKeySecret {
  const obj = parseSecretObject(source, raw, binary);
  const secret: ParsedApiKeySecret = {
    accountSid: stringField(source, obj, 'accountSid', ACCOUNT_SID),
    apiKeySid: stringField(source, obj, 'apiKeySid', KEY_SID),
    apiKeySecret: stringField(source, obj, 'apiKeySecret'),
    document: obj,
  };
  if (obj.validationUrl !== undefined) secret.validationUrl = stringField(source, obj, 'validationUrl');
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
