import type { RotatorConfig, SecretLocation, TargetConfig } from '../config/types.js';
import type { RunScope, Runtime } from '../core/runtime.js';
import type { TargetShape } from '../core/target.js';
import type { AdminCredential } from '../core/secret-values.js';
import { readAdmin } from '../credentials/registry.js';
import { keySidsIn } from '../core/secret-values.js';
import { CURRENT } from '../core/labels.js';
import { KEY_SID } from '../core/sids.js';
import { RotationError } from '../errors.js';
import { inPool } from '../util/pool.js';

const keyOf = (l: SecretLocation) => `${l.store}:${l.secretId}`;

/** One target's secret, as a look at an account saw it: the key SIDs its labelled versions hold. */
interface Holder {
  name: string;
  key: string;
  sids: string[];
  /** The key SIDs its AWSCURRENT version holds. */
  current: string[];
  /** A binary version's id: what it holds cannot be told. */
  binary?: string;
}

/**
 * One look at an account, shared by every caller it serves: the holders in configuration order, and
 * by key SID the holders naming it. Each caller gets a view of it (`HeldView`), not a copy: at N = 1,000
 * a copy per caller was a map of 2,000 SIDs, kept by each parked target's observation.
 */
interface Look {
  holders: Holder[];
  bySid: Map<string, Holder[]>;
  /** Holders whose secret has a binary version. */
  binary: Holder[];
}

function lookOf(holders: Holder[]): Look {
  const bySid = new Map<string, Holder[]>();
  for (const h of holders)
    for (const sid of h.sids) {
      const list = bySid.get(sid);
      if (!list) bySid.set(sid, [h]);
      else if (list[list.length - 1] !== h) list.push(h);
    }
  return { holders, bySid, binary: holders.filter((h) => h.binary !== undefined) };
}

/**
 * What `heldElsewhere` answers for one caller, read through the shared look: the SIDs other holders'
 * secrets name and, for a fresh caller, those its own AWSCURRENT names; each with the first such holder
 * in configuration order.
 */
class HeldView implements ReadonlyMap<string, string> {
  private all?: Map<string, string>;
  constructor(
    private readonly look: Look,
    private readonly own: string,
    private readonly fresh: boolean,
  ) {}
  get(sid: string): string | undefined {
    for (const h of this.look.bySid.get(sid) ?? []) if (this.names(h, sid)) return h.name;
    return undefined;
  }
  has(sid: string): boolean {
    return this.get(sid) !== undefined;
  }
  private names(h: Holder, sid: string): boolean {
    return h.key !== this.own || (this.fresh && h.current.includes(sid));
  }
  /** The whole answer as a map, made only when asked for (iteration, size): lookups need none. */
  private map(): Map<string, string> {
    if (!this.all) {
      this.all = new Map();
      for (const h of this.look.holders)
        for (const sid of h.sids) if (!this.all.has(sid) && this.names(h, sid)) this.all.set(sid, h.name);
    }
    return this.all;
  }
  get size() {
    return this.map().size;
  }
  forEach(fn: (value: string, key: string, map: ReadonlyMap<string, string>) => void): void {
    this.map().forEach((v, k) => fn(v, k, this));
  }
  entries() {
    return this.map().entries();
  }
  keys() {
    return this.map().keys();
  }
  values() {
    return this.map().values();
  }
  [Symbol.iterator]() {
    return this.map()[Symbol.iterator]();
  }
}

/** Reads one look makes at once (more when the run's pool is larger: the look runs while it idles). */
const LOOK_READS_AT_ONCE = 16;

/**
 * A look reads every secret on the account. Waiting callers that gave up their place (see `Pool`) are
 * served once the run has nothing else to do, or once so many wait that the look costs at most this
 * many reads per caller.
 */
const LOOK_READS_PER_CALLER = 2;

/**
 * Targets that give their place up for a look that need not be fresh, at most this many times the
 * pool's size at once: each keeps what it has read while it waits, and a look of a thousand secrets
 * would otherwise let hundreds of targets start and wait (peak RSS), for a few seconds' overlap.
 */
const IDLE_WAITERS_PER_PLACE = 4;

/**
 * The run's targets, at most `size` at work at once. A target waiting for a fresh look before a
 * deletion is parked: it gives its place to the next target and takes one again, before any target
 * not yet started, once its look is done. So one look serves many deletions without holding
 * `size` targets idle while it is made.
 */
interface Pool {
  size: number;
  /** Targets holding a place. */
  active: number;
  /** Names of the targets started and not finished, parked ones included. */
  members: Set<string>;
  parked: Set<string>;
  /** Parked targets whose look is done, in the order they are to get a place back. */
  resumers: (() => void)[];
  pump(): void;
}

interface Waiter {
  resolve(look: Look): void;
  reject(err: unknown): void;
  /** Whether the caller gave up its place in the pool to wait. */
  parked: boolean;
  /** The caller's own secret (keyOf). */
  own: string;
  /** Whether anything ran since it asked (a look begun at once, even by a parked caller, is right after). */
  waited: boolean;
}

/** Per account: the look under way, the last one made, and the fresh callers waiting for the next. */
interface Looks {
  /** The fresh look under way. */
  running?: Promise<Look>;
  /** The latest complete look, for callers that need not be fresh. */
  last?: Promise<Look>;
  waiting: Waiter[];
  /** Distinct secrets of the configuration's targets on the account: what one look reads. */
  secrets: number;
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
  let pool: Pool | undefined;

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
   * meanwhile shares. A caller that need not be fresh takes the latest look (a deletion checks again,
   * freshly). Before, every deletion read every other secret on the account itself: N² reads per
   * fleet; then every deletion that asked while a look ran shared the next one, but the looks ran back
   * to back, each N reads, about one per five deletions. Now a parked caller's look waits until the
   * run has nothing else to do, or until enough callers wait (LOOK_READS_PER_CALLER): a few looks a run.
   */
  const looks = new Map<string, Looks>();
  const looksOn = (account: string): Looks => {
    let s = looks.get(account);
    if (!s) {
      const on = new Set(
        config.targets.filter((t) => t.accountSid.toUpperCase() === account).map((t) => keyOf(t.secret)),
      );
      looks.set(account, (s = { waiting: [], secrets: on.size }));
    }
    return s;
  };
  /** Targets parked on a look that need not be fresh (IDLE_WAITERS_PER_PLACE). */
  let idleWaiters = 0;
  /** Looks that have answered: a caller of one waits for nothing, so it keeps its place. */
  const settled = new WeakSet<Promise<Look>>();
  const settles = (look: Promise<Look>) =>
    void look.then(
      () => void settled.add(look),
      () => void settled.add(look),
    );
  /** A look for callers that need not be fresh: it becomes the latest look, unless one is already. */
  const lookAgain = (account: string, s: Looks): Promise<Look> => {
    const look = lookAt(account, false, new Set());
    s.last = look;
    settles(look);
    // A failed look is not kept: the next caller looks again and reports for itself.
    look.catch(() => void (s.last === look && (s.last = undefined)));
    return look;
  };
  const startLook = (account: string, s: Looks, served: Waiter[]): void => {
    // The only secret on the account, its callers' own, none of whom waited: its labels were checked
    // right before (the step's own fresh look), and nothing else is to be read.
    const own = served[0]?.own;
    const alone = s.secrets === 1 && own !== undefined && served.every((w) => w.own === own && !w.waited);
    const skip = new Set(alone ? [own] : []);
    const look = lookAt(account, true, skip);
    settles(look);
    s.running = look;
    if (skip.size === 0) s.last = look;
    look.then(
      (found) => served.forEach((w) => w.resolve(found)),
      (err: unknown) => served.forEach((w) => w.reject(err)),
    );
    const done = () => {
      if (s.running === look) s.running = undefined;
      maybeLook(account);
    };
    look.then(done, () => {
      if (s.last === look) s.last = undefined;
      done();
    });
  };
  /** Starts the look fresh callers on `account` wait for, when it is time (see `looks`). */
  const maybeLook = (account: string) => {
    const s = looks.get(account);
    if (!s || s.running || s.waiting.length === 0) return;
    const due =
      s.waiting.some((w) => !w.parked) ||
      !pool ||
      pool.active === 0 ||
      s.waiting.length * LOOK_READS_PER_CALLER >= s.secrets;
    if (due) startLook(account, s, s.waiting.splice(0));
  };
  /**
   * Parks `target` (see `Pool`): gives its place up and returns what takes one back, first in line;
   * undefined when it holds none. The caller pumps the pool once it has set up what it waits for.
   */
  const giveUpPlace = (target: TargetShape): (() => Promise<void>) | undefined => {
    const p = pool;
    if (!p || !p.members.has(target.name) || p.parked.has(target.name)) return undefined;
    p.parked.add(target.name);
    p.active--;
    return () =>
      new Promise<void>((resume) => {
        p.resumers.push(() => {
          p.parked.delete(target.name);
          resume();
        });
        p.pump();
      });
  };
  const holdersOn = async (target: TargetShape, fresh: boolean): Promise<Look> => {
    const account = target.accountSid.toUpperCase();
    const s = looksOn(account);
    if (!fresh) {
      // The first caller's look reads every secret on the account: its caller, and every other
      // arriving meanwhile, gives its place to a target not yet started instead of holding it idle.
      const look = s.last ?? lookAgain(account, s);
      const p = pool;
      if (settled.has(look) || !p || idleWaiters >= p.size * IDLE_WAITERS_PER_PLACE) return look;
      const takeBack = giveUpPlace(target);
      if (takeBack) idleWaiters++;
      p.pump();
      try {
        return await look;
      } finally {
        if (takeBack) idleWaiters--;
        await takeBack?.();
      }
    }
    const own = keyOf(target.secret);
    const answer = new Promise<Look>((resolve, reject) => {
      s.waiting.push({ resolve, reject, parked: false, own, waited: false });
    });
    const waiter = s.waiting[s.waiting.length - 1]!;
    // Give the place up while waiting; pool.pump may find the run idle and start this very look.
    const takeBack = giveUpPlace(target);
    waiter.parked = takeBack !== undefined;
    if (takeBack) pool?.pump();
    maybeLook(account);
    waiter.waited = true;
    try {
      return await answer;
    } finally {
      await takeBack?.();
    }
  };
  const lookAt = async (account: string, fresh: boolean, skip: ReadonlySet<string>): Promise<Look> => {
    const secrets = new Map<string, TargetConfig>();
    for (const t of config.targets) {
      const key = keyOf(t.secret);
      if (t.accountSid.toUpperCase() === account && !secrets.has(key) && !skip.has(key)) secrets.set(key, t);
    }
    const targets = [...secrets.values()];
    // Each answer is boiled down to its holder as it arrives: a look of a thousand secrets lasts
    // seconds, and holding every read copy until the last one came kept them all past the young
    // generation (promoted, then garbage in the old one: peak RSS).
    const holderOf = async (t: TargetConfig): Promise<Holder> => {
      const store = runtime.store(t.secret.store);
      // fresh(): one look at the labels, and the copy kept when they are unchanged (versions are immutable).
      if (fresh && runtime.fresh) await runtime.fresh(t);
      const found = await store.read(t.secret.secretId, fresh && !runtime.fresh ? { fresh: true } : {});
      const versions = found?.versions ?? [];
      const binary = versions.find((v) => v.binary)?.versionId;
      const sids = versions.flatMap((v) => keySidsIn(v.value));
      const current = versions.filter((v) => v.stages.includes(CURRENT)).flatMap((v) => keySidsIn(v.value));
      return {
        name: t.name,
        key: keyOf(t.secret),
        sids,
        current,
        ...(binary !== undefined ? { binary } : {}),
      };
    };
    const holders = await inPool(targets, Math.max(LOOK_READS_AT_ONCE, pool?.size ?? 0), holderOf);
    return lookOf(holders);
  };

  /** See `Pool`. A pool started while another runs (not done today) parks nobody. */
  const runTargets = <T extends { name: string }, R>(
    items: readonly T[],
    size: number,
    fn: (target: T) => Promise<R>,
  ): Promise<R[]> => {
    if (pool) return inPool(items, size, fn);
    const results = new Array<R>(items.length);
    let next = 0;
    let left = items.length;
    let failure: { err: unknown } | undefined;
    return new Promise<R[]>((resolve, reject) => {
      const p: Pool = { size: Math.max(1, size), active: 0, members: new Set(), parked: new Set(), resumers: [], pump };
      pool = p;
      const finish = () => {
        pool = undefined;
        if (failure) reject(failure.err instanceof Error ? failure.err : new Error(String(failure.err)));
        else resolve(results);
      };
      function pump() {
        while (p.active < p.size) {
          const resume = p.resumers.shift();
          if (resume) {
            p.active++;
            resume();
            continue;
          }
          if (next >= items.length) break;
          const i = next++;
          const item = items[i]!;
          p.active++;
          p.members.add(item.name);
          Promise.resolve()
            .then(() => fn(item))
            .then(
              (result) => void (results[i] = result),
              (err: unknown) => void (failure ??= { err }),
            )
            .finally(() => {
              p.active--;
              p.members.delete(item.name);
              if (--left === 0) finish();
              else pump();
            });
        }
        // Nothing else to do: the parked targets' looks begin.
        if (p.active === 0 && left > 0) for (const account of looks.keys()) maybeLook(account);
      }
      if (items.length === 0) finish();
      else pump();
    });
  };

  return {
    admin,
    runTargets,
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
      const fresh = options.fresh === true;
      const look = await holdersOn(target, fresh);
      const own = keyOf(target.secret);
      const binary = look.binary.find((h) => h.key !== own);
      if (binary) throw new RotationError(binary.name, 'read', `version ${binary.binary} of its secret is binary`);
      // A fresh caller may have waited a while for its look, and its own secret may have changed
      // meanwhile (a person's rollback, another run's promotion): what it labels current now is never
      // deleted on the older decision. Always, not only when this look saw a change: another caller's
      // look may have refreshed the run's copy first, and then this one sees none (HeldView).
      return new HeldView(look, own, fresh);
    },
  };
}
