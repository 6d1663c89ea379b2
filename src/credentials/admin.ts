import type { SecretLocation } from '../core/target.js';
import { CURRENT, labelled } from '../core/labels.js';
import type { SecretStore } from '../core/ports.js';
import { parseAdminCredential, type AdminCredential } from '../core/secret-values.js';
import { RotationError } from '../errors.js';

/** The admin credential in `location`'s current version; a clear error when there is none. */
export async function readAdmin(
  store: SecretStore,
  target: string,
  location: SecretLocation,
): Promise<AdminCredential> {
  // One GetSecretValue where the store allows: the admin credential is its current value alone.
  const secret = await store.read(location.secretId, { currentOnly: true });
  const version = labelled(secret, CURRENT);
  if (version === undefined || (version.value === undefined && !version.binary)) {
    throw new RotationError(
      target,
      'read-admin',
      `admin secret "${location.secretId}" (${location.store} store) does not exist or has no current value; ` +
        'store {"accountSid": "AC…", "authToken": "…"}, {"accountSid", "adminKeySid", "adminKeySecret"}, ' +
        'or a Restricted admin key (/twilio/iam/api-keys/* for API keys, ' +
        '/twilio/iam/account-oauth-apps/* for OAuth apps) ' +
        `(twilio-key-rotator secret put ${location.secretId} --store ${location.store})`,
    );
  }
  return parseAdminCredential(
    { secretId: location.secretId, versionId: version.versionId, stage: CURRENT },
    version.value,
    version.binary,
  );
}

/** Whether an admin credential is an account's Auth Token (the only one that may list a parent's subaccounts). */
export const isAccountToken = (c: AdminCredential): boolean => c.kind === 'auth-token';

/** A subaccount's own Account SID + Auth Token, as a fleet's listing gives it. */
export const accountToken = (accountSid: string, authToken: string): AdminCredential => ({
  kind: 'auth-token',
  accountSid,
  username: accountSid,
  password: authToken,
});
