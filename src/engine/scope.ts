import type { RotatorConfig, SecretLocation } from '../config/types.js';
import { CURRENT, labelled } from '../core/labels.js';
import type { SecretStore } from '../core/ports.js';
import type { RunScope, Runtime } from '../core/runtime.js';
import { parseAdminCredential, type AdminCredential } from '../core/secret-values.js';
import { KEY_SID } from '../core/sids.js';
import { RotationError } from '../errors.js';

export async function readAdmin(
  store: SecretStore,
  target: string,
  location: SecretLocation,
): Promise<AdminCredential> {
  const secret = await store.read(location.secretId);
  const version = labelled(secret, CURRENT);
  if (version === undefined || (version.value === undefined && !version.binary)) {
    throw new RotationError(
      target,
      'read-admin',
      `admin secret "${location.secretId}" (${location.store} store) does not exist or has no current value; store {"accountSid": "AC…", "authToken": "…"}, {"accountSid", "adminKeySid", "adminKeySecret"}, or a Restricted admin key with /twilio/iam/api-keys/* (twilio-key-rotator secret put ${location.secretId} --store ${location.store})`,
    );
  }
  return parseAdminCredential(
    { secretId: location.secretId, versionId: version.versionId, stage: CURRENT },
    version.value,
    version.binary,
  );
}

const keyOf = (l: SecretLocation) => `${l.store}:${l.secretId}`;

/** One run's scope (core/runtime.ts): admin secrets read once, the admin key SIDs known up front. */
export function createRunScope(config: RotatorConfig, runtime: Runtime): RunScope {
  const admins = new Map<string, Promise<AdminCredential>>();
  let protectedSids: Promise<ReadonlySet<string>> | undefined;

  const admin = (location: SecretLocation, target: string): Promise<AdminCredential> => {
    const key = keyOf(location);
    let found = admins.get(key);
    if (!found) {
      found = readAdmin(runtime.store(location.store), target, location);
      admins.set(key, found);
      // A failed read is not cached: the next target that needs it tries again and reports for itself.
      found.catch(() => admins.delete(key));
    }
    return found;
  };

  return {
    admin,
    protectedSids() {
      protectedSids ??= (async () => {
        const locations = new Map(config.targets.map((t) => [keyOf(t.admin), t]));
        const sids = new Set<string>();
        for (const t of locations.values()) {
          // An admin secret that cannot be read protects nothing; its own target fails and says why.
          const credential = await admin(t.admin, t.name).catch(() => undefined);
          if (credential && KEY_SID.test(credential.username)) sids.add(credential.username);
        }
        return sids;
      })();
      return protectedSids;
    },
  };
}
