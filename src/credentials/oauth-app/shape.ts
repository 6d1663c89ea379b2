import { parseSecretObject, stringField } from '../../core/secret-values.js';
import { ACCOUNT_SID } from '../../core/sids.js';
import type { ValueSource } from '../../errors.js';
import type { ApiKeySecret } from '../api-key/shape.js';

/** An OAuth app's client ID: its SID (the definition's path pattern). */
export const CLIENT_ID = /^OQ[a-zA-Z0-9]{32}$/;

/**
 * The rotated secret of an OAuth-app target: what a consumer needs for the client credentials grant,
 * and nothing it can derive (the token endpoint and the app's policy are Twilio's to say).
 */
export interface OAuthAppSecret {
  accountSid: string;
  clientId: string;
  clientSecret: string;
}

/** Parsed for the named planner (../named/plan.ts), which calls the client ID and secret a key's SID and secret. */
export function parseOAuthAppSecret(
  source: ValueSource,
  raw: string | undefined,
  binary = false,
): { key: ApiKeySecret; document: Record<string, unknown> } {
  const obj = parseSecretObject(source, raw, binary);
  const key = {
    accountSid: stringField(source, obj, 'accountSid', ACCOUNT_SID),
    apiKeySid: stringField(source, obj, 'clientId', CLIENT_ID),
    apiKeySecret: stringField(source, obj, 'clientSecret'),
  };
  return { key, document: obj };
}

/** The next version's text: the fields a consumer added stay as they were; ours are replaced. */
export function nextOAuthAppValue(previous: Record<string, unknown> | undefined, next: OAuthAppSecret): string {
  return JSON.stringify({ ...(previous ?? {}), ...next });
}
