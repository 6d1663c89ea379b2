import type { RotatorConfig, SecretLocation } from '../config/types.js';
import type { RunScope, Runtime } from '../core/runtime.js';
import type { AdminCredential } from '../core/secret-values.js';
import { readAdmin } from '../credentials/registry.js';
import { keySidsIn } from '../core/secret-values.js';
import { KEY_SID } from '../core/sids.js';
import { RotationError } from '../errors.js';

const keyOf = (l: SecretLocation) => `${l.store}:${l.secretId}`;

/** One run's scope (core/runtime.ts): admin secrets read once, the admin key SIDs known up front. */
/**
 * `members`: fleet members' admin credentials (engine/fleets.ts), by target name, for this run only.
 */
export function createRunScope(
  config: RotatorConfig,
  runtime: Runtime,
  members: ReadonlyMap<string, AdminCredential> = new Map(),
): RunScope {
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
    adminOf(target) {
      if (!target.fleet) {
        if (target.admin) return admin(target.admin, target.name);
        const none = `target "${target.name}" names no admin credential, and its kind reads one`;
        return Promise.reject(new RotationError(target.name, 'read-admin', `${none}; this is a bug`));
      }
      const found = members.get(target.name);
      if (found) return Promise.resolve(found);
      return Promise.reject(
        new RotationError(
          target.name,
          'read-admin',
          `subaccount ${target.accountSid} was not in fleet "${target.fleet.name}"'s list ` +
            'of active subaccounts this run',
        ),
      );
    },
    adminLocations: () => [
      ...new Map(
        [...config.targets.map((t) => t.admin), ...config.fleets.map((f) => f.admin)].map((l) => [keyOf(l), l]),
      ).values(),
    ],
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
    async heldElsewhere(target, options = {}) {
      const others = config.targets.filter(
        (t) =>
          t.accountSid.toUpperCase() === target.accountSid.toUpperCase() && keyOf(t.secret) !== keyOf(target.secret),
      );
      const held = new Map<string, string>();
      for (const other of others) {
        const secret = await runtime.store(other.secret.store).read(other.secret.secretId, options);
        for (const version of secret?.versions ?? []) {
          if (version.binary)
            throw new RotationError(other.name, 'read', `version ${version.versionId} of its secret is binary`);
          for (const sid of keySidsIn(version.value)) if (!held.has(sid)) held.set(sid, other.name);
        }
      }
      return held;
    },
  };
}
