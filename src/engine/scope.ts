import type { RotatorConfig, SecretLocation, TargetConfig } from '../config/types.js';
import type { RunScope, Runtime } from '../core/runtime.js';
import type { AdminCredential } from '../core/secret-values.js';
import { readAdmin } from '../credentials/registry.js';
import { keySidsIn } from '../core/secret-values.js';
import { KEY_SID } from '../core/sids.js';
import { RotationError } from '../errors.js';

const keyOf = (l: SecretLocation) => `${l.store}:${l.secretId}`;

/** One target's secret, as a look at an account saw it: the key SIDs its labelled versions hold. */
interface Holder {
  name: string;
  key: string;
  sids: string[];
  /** A binary version's id: what it holds cannot be told. */
  binary?: string;
}

const LOOK_READS_AT_ONCE = 16;

/** `fn` over `items`, at most `size` at once; results in the items' order. */
async function inPool<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(size, items.length)) }, worker));
  return results;
}

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

  /**
   * What every target's secret on an account holds, in configuration order, one look shared by its
   * callers. A fresh caller (right before a deletion) needs a look whose every read began after it
   * asked: a look under way began before, so it waits for the next one, which every caller arriving
   * meanwhile shares. Each look reads the secrets a few at a time. Before, every deletion read every
   * other secret on the account itself, one after another: N reads per deletion, N² per fleet.
   * A caller that need not be fresh takes the latest look (a deletion checks again, freshly).
   */
  const looks = new Map<
    string,
    { running?: Promise<Holder[]>; queued?: Promise<Holder[]>; last?: Promise<Holder[]> }
  >();
  const holdersOn = (accountSid: string, fresh: boolean): Promise<Holder[]> => {
    const account = accountSid.toUpperCase();
    let state = looks.get(account);
    if (!state) looks.set(account, (state = {}));
    const s = state;
    if (!fresh && s.last) return s.last;
    const start = () => {
      const look = lookAt(account, fresh);
      s.running = s.last = look;
      const done = () => void (s.running === look && (s.running = undefined));
      // A failed look is not kept: the next caller looks again and reports for itself.
      const failed = () => void (done(), s.last === look && (s.last = undefined));
      look.then(done, failed);
      return look;
    };
    if (!s.running) return start();
    const after = s.running.then(
      () => undefined,
      () => undefined,
    );
    s.queued ??= after.then(() => {
      s.queued = undefined;
      return start();
    });
    return s.queued;
  };
  const lookAt = async (account: string, fresh: boolean): Promise<Holder[]> => {
    const secrets = new Map<string, TargetConfig>();
    for (const t of config.targets)
      if (t.accountSid.toUpperCase() === account && !secrets.has(keyOf(t.secret))) secrets.set(keyOf(t.secret), t);
    const targets = [...secrets.values()];
    const read = async (t: TargetConfig) => {
      const store = runtime.store(t.secret.store);
      // fresh(): one look at the labels, and the copy kept when they are unchanged (versions are immutable).
      if (fresh && runtime.fresh) await runtime.fresh(t);
      return store.read(t.secret.secretId, fresh && !runtime.fresh ? { fresh: true } : {});
    };
    const found = await inPool(targets, LOOK_READS_AT_ONCE, read);
    return targets.map((t, i) => {
      const versions = found[i]?.versions ?? [];
      const binary = versions.find((v) => v.binary)?.versionId;
      const sids = versions.flatMap((v) => keySidsIn(v.value));
      return { name: t.name, key: keyOf(t.secret), sids, ...(binary !== undefined ? { binary } : {}) };
    });
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
    adminLocations: () => {
      const all = [...config.targets.flatMap((t) => t.admin ?? []), ...config.fleets.map((f) => f.admin)];
      return [...new Map(all.map((l) => [keyOf(l), l])).values()];
    },
    protectedSids() {
      protectedSids ??= (async () => {
        // A kind without an admin credential has nothing here to protect.
        const withAdmin = config.targets.flatMap(({ name, admin }) => (admin ? [{ name, admin }] : []));
        const locations = new Map(withAdmin.map((t) => [keyOf(t.admin), t]));
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
      const holders = await holdersOn(target.accountSid, options.fresh === true);
      const own = keyOf(target.secret);
      const held = new Map<string, string>();
      for (const h of holders) {
        if (h.key === own) continue;
        if (h.binary) throw new RotationError(h.name, 'read', `version ${h.binary} of its secret is binary`);
        for (const sid of h.sids) if (!held.has(sid)) held.set(sid, h.name);
      }
      return held;
    },
  };
}
