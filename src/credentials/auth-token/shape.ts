import { createHash } from 'node:crypto';
import { parseSecretObject, stringField } from '../../core/secret-values.js';
import { ACCOUNT_SID } from '../../core/sids.js';
import type { ValueSource } from '../../errors.js';

/** The rotated secret of an auth-token target: AWS's TwilioAuthToken shape. */
export interface AuthTokenSecret {
  accountSid: string;
  authToken: string;
  validationUrl?: string;
}

export interface ParsedAuthTokenSecret extends AuthTokenSecret {
  /** Every field of the stored object; a new version keeps the ones a consumer added. */
  document: Record<string, unknown>;
}

export function parseAuthTokenSecret(
  source: ValueSource,
  raw: string | undefined,
  binary = false,
): ParsedAuthTokenSecret {
  const obj = parseSecretObject(source, raw, binary);
  const secret: ParsedAuthTokenSecret = {
    accountSid: stringField(source, obj, 'accountSid', ACCOUNT_SID),
    authToken: stringField(source, obj, 'authToken'),
    document: obj,
  };
  if (obj.validationUrl !== undefined) secret.validationUrl = stringField(source, obj, 'validationUrl');
  return secret;
}

/** The next version's text: a consumer's own fields stay; the token (and validationUrl from config) change. */
export function nextAuthTokenValue(previous: Record<string, unknown> | undefined, next: AuthTokenSecret): string {
  const out: Record<string, unknown> = { ...(previous ?? {}) };
  out.accountSid = next.accountSid;
  out.authToken = next.authToken;
  if (next.validationUrl !== undefined) out.validationUrl = next.validationUrl;
  return JSON.stringify(out);
}

/** What a token fingerprint looks like: what a consumer's probe reports, and logs show. */
export const TOKEN_FINGERPRINT = /^tf_[0-9a-f]{16}$/;

/**
 * A token's fingerprint: "tf_" + the first 16 hex characters of sha256("twilio-key-rotator token
 * fingerprint\n" + token). It names a token in logs, status and probe answers without revealing it;
 * a consumer computes the same to report which token it holds.
 */
export function tokenFingerprint(token: string): string {
  const digest = createHash('sha256').update(`twilio-key-rotator token fingerprint\n${token}`).digest('hex');
  return `tf_${digest.slice(0, 16)}`;
}
