import type { TwilioKey, TwilioKeys } from '../../core/ports.js';

/**
 * One run's key list per account. Every target on an account needs the account's complete key list
 * (ownership and orphans are decided from it), and listing a big account costs a page per thousand
 * keys: it is listed once per run, and this run's own creations and deletions are applied to that
 * list as they succeed. A create or delete that failed leaves the list unknown: the next look lists
 * again. Keys other processes make meanwhile are not in the list, so nothing is ever decided about
 * them (the orphan grace period covers a racing rotator's new key, as before).
 */
export class KeyLists {
  private readonly lists = new Map<string, Promise<readonly TwilioKey[]>>();
  /** Per account: keys this run made and removed, so a list fetched while they happened still shows them right. */
  private readonly made = new Map<string, Map<string, TwilioKey>>();
  private readonly removed = new Map<string, Set<string>>();
  /** The SIDs of each fetched list, indexed once per list rather than once per look. */
  private readonly fetchedSids = new WeakMap<readonly TwilioKey[], ReadonlySet<string>>();

  /** The last view per account, until the list, a creation or a deletion changes it. */
  private readonly views = new Map<
    string,
    { fetched: readonly TwilioKey[]; made: number; removed: number; keys: readonly TwilioKey[] }
  >();

  /**
   * Linear in the list, and built only when the list, a creation or a deletion changed it: a fleet on
   * one account has thousands of keys and asks for them thousands of times. Views are shared, never
   * copied (readonly to every caller), as are the key objects in them.
   */
  private view(account: string, fetched: readonly TwilioKey[]): readonly TwilioKey[] {
    const made = this.made.get(account) ?? new Map<string, TwilioKey>();
    const removed = this.removed.get(account) ?? new Set<string>();
    const last = this.views.get(account);
    if (last && last.fetched === fetched && last.made === made.size && last.removed === removed.size) return last.keys;
    const out = removed.size > 0 ? fetched.filter((k) => !removed.has(k.sid)) : [...fetched];
    const listed = this.sidsOf(fetched);
    for (const [sid, key] of made) if (!removed.has(sid) && !listed.has(sid)) out.push(key);
    this.views.set(account, { fetched, made: made.size, removed: removed.size, keys: out });
    return out;
  }

  private sidsOf(fetched: readonly TwilioKey[]): ReadonlySet<string> {
    let sids = this.fetchedSids.get(fetched);
    if (!sids) this.fetchedSids.set(fetched, (sids = new Set(fetched.map((k) => k.sid))));
    return sids;
  }

  /** `keys` with list() served from the account's run-wide list. */
  around(account: string, keys: TwilioKeys): TwilioKeys {
    const forget = () => this.lists.delete(account);
    const made = this.made.get(account) ?? new Map<string, TwilioKey>();
    this.made.set(account, made);
    const removed = this.removed.get(account) ?? new Set<string>();
    this.removed.set(account, removed);
    return {
      list: async (options) => {
        let list = this.lists.get(account);
        if (list && options?.expect?.length) {
          const listed = this.sidsOf(await list.catch(() => []));
          // A key this run removed is rightly absent; any other referenced key missing means the list is old.
          if (options.expect.some((sid) => !listed.has(sid) && !made.has(sid) && !removed.has(sid))) {
            forget();
            list = undefined;
          }
        }
        if (!list) {
          list = keys.list();
          this.lists.set(account, list);
          // A failed list is not remembered: the next look (or target) lists again and reports for itself.
          list.catch(() => {
            if (this.lists.get(account) === list) forget();
          });
        }
        return this.view(account, await list);
      },
      create: async (request) => {
        try {
          const created = await keys.create(request);
          const { secret: _secret, ...key } = created;
          made.set(key.sid, key);
          return created;
        } catch (err) {
          forget();
          throw err;
        }
      },
      fetchPolicy: (sid) => keys.fetchPolicy(sid),
      remove: async (sid) => {
        try {
          const result = await keys.remove(sid);
          removed.add(sid);
          return result;
        } catch (err) {
          forget();
          throw err;
        }
      },
    };
  }
}
