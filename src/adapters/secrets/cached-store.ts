import type { PutResult, SecretStore, SeenLabels, StoredSecret } from '../../core/ports.js';
import { labelsStamp } from '../../core/labels.js';
import { RemoteError } from '../../errors.js';
import { fromStored, getSecret, putSecret, toStored, versionedOps } from './versioned.js';
import type { SecretTable, VersionRecord } from './versioned.js';

/**
 * One run's view of a store: each secret is read from the real store once, and every write this run
 * makes is applied to that copy with the store's own label rules (./versioned.ts) once the real
 * write has succeeded — so the next look costs nothing instead of four or five calls. A write that
 * failed, or that met another writer (token-conflict), drops the copy: the next read goes to the
 * store again. Before anything irreversible, `fresh` compares the copy with the store's labels and
 * tags in one call (`SecretStore.labels`); another process's change makes it drop the copy.
 *
 * A copy lives as long as the run's Runtime (src/wiring.ts): every entry point makes one per run.
 */
export interface CachedStore extends SecretStore {
  /** Whether the copy of `secretId` still matches the store; drops it when it does not. */
  fresh(secretId: string): Promise<boolean>;
  /** False while the copy comes from a sweep (maybe minutes old): fine to conclude from, not to act on. */
  confirmed(secretId: string): boolean;
  forget(secretId: string): void;
}

const EPOCH = new Date(0).toISOString();

export function cachedStore(real: SecretStore, now: () => number): CachedStore {
  const table: SecretTable = {};
  /** Secrets this run has read: present in `table`, or known absent. */
  const known = new Set<string>();
  const ops = versionedOps(
    now,
    (operation, message) => new RemoteError('file-store', operation, { retryable: false }, message),
  );

  /** Copies from a sweep: true enough to see that nothing is due, not to act on. */
  const unconfirmed = new Set<string>();
  /** Secrets a sweep covers and has not told of yet: a read of one waits for that, not for the walk. */
  const sweeping = new Map<string, Promise<void>>();
  /**
   * Per secret, a count bumped by every read of the store and every write: a read's answer becomes the
   * copy only when nothing began after it, so a slow read never overwrites a newer answer or a write.
   */
  const epochs = new Map<string, number>();
  const bump = (secretId: string) => {
    const at = (epochs.get(secretId) ?? 0) + 1;
    epochs.set(secretId, at);
    return at;
  };
  /** The store read in flight per secret: another look at the same secret waits for it, then uses the copy. */
  const inFlight = new Map<string, Promise<unknown>>();
  const forget = (secretId: string) => {
    known.delete(secretId);
    unconfirmed.delete(secretId);
    delete table[secretId];
  };
  /** Applies a successful write to the copy; anything unexpected drops it instead of guessing. */
  const mirror = (secretId: string, apply: () => unknown) => {
    if (!known.has(secretId) || !getSecret(table, secretId)) return forget(secretId);
    try {
      apply();
    } catch {
      forget(secretId);
    }
  };
  /** The labels the copy holds, for a store to act on without looking first; none for a sweep's copy. */
  const seen = (secretId: string): SeenLabels | undefined => {
    const secret = known.has(secretId) && !unconfirmed.has(secretId) ? getSecret(table, secretId) : undefined;
    return secret
      ? Object.fromEntries(secret.versions.filter((v) => v.stages.length > 0).map((v) => [v.versionId, [...v.stages]]))
      : undefined;
  };
  /** A real write; on success its effect is applied to the copy, on failure the copy is dropped. */
  const write = async <T>(secretId: string, call: () => Promise<T>, applied: (result: T) => void): Promise<T> => {
    bump(secretId);
    let result: T;
    try {
      result = await call();
    } catch (err) {
      forget(secretId);
      throw err;
    }
    applied(result);
    return result;
  };
  const put =
    (op: 'create' | 'putCurrent' | 'putPending') =>
    (secretId: string, token: string, value: string): Promise<PutResult> =>
      write(
        secretId,
        () => real[op](secretId, token, value),
        (result) => {
          // Another writer got there first, or a secret this run never read: read it again next time.
          if (result === 'token-conflict' || !getSecret(table, secretId)) forget(secretId);
          else mirror(secretId, () => ops[op](table, secretId, token, value));
        },
      );

  return {
    close: () => real.close?.(),
    async read(secretId, options = {}) {
      if (options.currentOnly && !known.has(secretId) && !inFlight.has(secretId))
        // Part of a secret: not kept as the copy, which must be whole.
        return real.read(secretId, options);
      const swept = sweeping.get(secretId);
      if (swept) await swept;
      if (options.fresh) forget(secretId);
      const reading = options.fresh ? undefined : inFlight.get(secretId);
      if (reading) await reading.catch(() => undefined);
      const secret = known.has(secretId) ? getSecret(table, secretId) : undefined;
      if (known.has(secretId) && !secret) return undefined;
      if (secret) {
        const wanted = (v: VersionRecord) => !options.wantValue || options.wantValue(v, secret.tags);
        const missing = secret.versions.some(
          (v) => v.skipped && v.stages.length > 0 && !(options.claims && v.claim) && wanted(v),
        );
        if (!missing && !(options.versionIds && secret.idsIncomplete)) return toStored(secretId, secret);
        if (!missing && real.listVersionIds && real.labels) {
          // Version ids first, labels second (as aws-store's read): unchanged labels mean the copy holds.
          const ids = await real.listVersionIds(secretId);
          if ((await real.labels(secretId)) === labelsStamp(toStored(secretId, secret))) {
            const have = new Set(secret.versions.map((v) => v.versionId));
            for (const versionId of ids)
              if (!have.has(versionId)) secret.versions.unshift({ versionId, stages: [], createdAt: EPOCH });
            delete secret.idsIncomplete;
            return toStored(secretId, secret);
          }
        }
        forget(secretId);
      }
      const at = bump(secretId);
      const { currentOnly: _part, ...whole } = options;
      const answer = real.read(secretId, { ...whole, fresh: false });
      inFlight.set(secretId, answer);
      let found;
      try {
        found = await answer;
      } finally {
        if (inFlight.get(secretId) === answer) inFlight.delete(secretId);
      }
      if (epochs.get(secretId) !== at) return found;
      known.add(secretId);
      if (found) putSecret(table, secretId, fromStored(found));
      return found;
    },
    async reserve(secretId) {
      // The identity of a secret made here is the store's to tell: read it again next time.
      await real.reserve(secretId);
      forget(secretId);
    },
    create: put('create'),
    putCurrent: put('putCurrent'),
    putPending: put('putPending'),
    promote: (secretId, token) =>
      write(
        secretId,
        () => real.promote(secretId, token, seen(secretId)),
        () => mirror(secretId, () => ops.promote(table, secretId, token)),
      ),
    abandonPending: (secretId, token) =>
      write(
        secretId,
        () => real.abandonPending(secretId, token, seen(secretId)),
        () => mirror(secretId, () => ops.abandonPending(table, secretId, token)),
      ),
    setTags: (secretId, tags) =>
      write(
        secretId,
        () => real.setTags(secretId, tags),
        () => mirror(secretId, () => ops.setTags(table, secretId, tags)),
      ),
    labels: (secretId) => (real.labels ? real.labels(secretId) : real.read(secretId).then(labelsStamp)),
    ...(real.sweep
      ? {
          // A read of a secret it covers waits until the sweep has told of that secret (its page, and
          // its value's batch), or has ended; any other read (an admin secret) goes at once.
          sweep(secretIds: readonly string[]) {
            const ids = new Set(secretIds.filter((id) => !known.has(id) && !inFlight.has(id)));
            const release = new Map<string, () => void>();
            for (const id of ids) {
              const told = new Promise<void>((resolve) => release.set(id, resolve));
              sweeping.set(id, told);
              void told.then(() => sweeping.get(id) === told && sweeping.delete(id));
            }
            const take = (id: string, secret: StoredSecret | undefined) => {
              const resolve = release.get(id);
              if (!resolve) return;
              release.delete(id);
              if (secret && !known.has(id)) {
                putSecret(table, id, fromStored(secret));
                known.add(id);
                unconfirmed.add(id);
              }
              resolve();
            };
            const done = real.sweep!([...ids], take).then((found) => {
              for (const [id, secret] of found) take(id, secret);
              return found;
            });
            // Whatever it did not tell of (left out, or the sweep failed) is read on its own.
            void done.catch(() => undefined).finally(() => release.forEach((resolve) => resolve()));
            return done;
          },
        }
      : {}),
    confirmed: (secretId) => !unconfirmed.has(secretId),
    async fresh(secretId) {
      if (unconfirmed.has(secretId)) {
        forget(secretId);
        return false;
      }
      if (!known.has(secretId)) return true;
      const secret = getSecret(table, secretId);
      const copy = labelsStamp(secret ? toStored(secretId, secret) : undefined);
      const actual = real.labels ? await real.labels(secretId) : labelsStamp(await real.read(secretId));
      if (actual === copy) return true;
      forget(secretId);
      return false;
    },
    forget,
  };
}
