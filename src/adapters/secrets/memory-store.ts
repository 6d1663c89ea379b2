import type { SecretStore, StoredSecret } from '../../core/ports.js';
import { RemoteError } from '../../errors.js';
import { fromStored, getSecret, putSecret, toStored, versionedOps, type SecretTable } from './versioned.js';

/**
 * The file store's label rules without the file. The dry run uses one seeded from the real store:
 * the first read of each secret goes to `seed` (a read, never a write), everything after stays here.
 * Engine tests use it empty.
 */
export function memoryStore(
  options: {
    seed?: (secretId: string) => Promise<StoredSecret | undefined>;
    now?: () => number;
    /** The identity a secret this store creates gets; the dry run's cannot know the real one. */
    newIdentity?: () => string;
  } = {},
): SecretStore & { table: SecretTable } {
  const table: SecretTable = {};
  const seeded = new Set<string>();
  const ops = versionedOps(
    options.now ?? Date.now,
    (operation, message) => new RemoteError('file-store', operation, { retryable: false }, `memory store: ${message}`),
    options.newIdentity,
  );
  const ensure = async (secretId: string) => {
    if (seeded.has(secretId)) return;
    seeded.add(secretId);
    const found = await options.seed?.(secretId);
    if (found && !getSecret(table, secretId)) putSecret(table, secretId, fromStored(found));
  };
  const change =
    <A extends unknown[], R>(fn: (t: SecretTable, secretId: string, ...args: A) => R) =>
    async (secretId: string, ...args: A): Promise<R> => {
      await ensure(secretId);
      return fn(table, secretId, ...args);
    };
  return {
    table,
    async read(secretId) {
      await ensure(secretId);
      const secret = getSecret(table, secretId);
      return secret ? toStored(secretId, secret) : undefined;
    },
    reserve: change(ops.reserve),
    create: change(ops.create),
    putCurrent: change(ops.putCurrent),
    putPending: change(ops.putPending),
    promote: change(ops.promote),
    abandonPending: change(ops.abandonPending),
    setTags: change(ops.setTags),
  };
}
