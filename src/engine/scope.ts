import type { RotatorConfig, SecretLocation } from '../config/types.js';
import type { RunScope, Runtime } from '../core/runtime.js';
import type { AdminCredential } from '../core/secret-values.js';
import { readAdmin } from '../credentials/admin.js';
import { KEY_SID } from '../core/sids.js';

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
    adminLocations: () => [...new Map(config.targets.map((t) => [keyOf(t.admin), t.admin])).values()],
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
