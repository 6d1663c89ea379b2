import type { SecretStore } from '../../core/ports.js';

/** The optional methods of SecretStore that the loaded store will have. */
export interface StoreShape {
  labels: boolean;
  listVersionIds: boolean;
  sweep: boolean;
}

/**
 * A store whose adapter is loaded on its first call, so that a run that never uses it never loads
 * its SDK (the AWS SDK is the largest part of the CLI's start-up). Until then it has the shape the
 * loaded store will have — `shape` names its optional methods — because callers decide by their
 * presence (src/adapters/secrets/cached-store.ts). Loading changes nothing else: no call is made.
 */
export function deferredStore(load: () => Promise<SecretStore>, shape: StoreShape): SecretStore {
  let loaded: Promise<SecretStore> | undefined;
  const real = () => (loaded ??= load());
  return {
    read: async (secretId, options) => (await real()).read(secretId, options),
    ...(shape.labels ? { labels: async (secretId: string) => (await real()).labels!(secretId) } : {}),
    ...(shape.listVersionIds
      ? { listVersionIds: async (secretId: string) => (await real()).listVersionIds!(secretId) }
      : {}),
    ...(shape.sweep
      ? { sweep: async (...args: Parameters<NonNullable<SecretStore['sweep']>>) => (await real()).sweep!(...args) }
      : {}),
    reserve: async (secretId) => (await real()).reserve(secretId),
    create: async (secretId, token, value) => (await real()).create(secretId, token, value),
    putCurrent: async (secretId, token, value) => (await real()).putCurrent(secretId, token, value),
    putPending: async (secretId, token, value) => (await real()).putPending(secretId, token, value),
    promote: async (secretId, token, seen) => (await real()).promote(secretId, token, seen),
    abandonPending: async (secretId, token, seen) => (await real()).abandonPending(secretId, token, seen),
    setTags: async (secretId, tags) => (await real()).setTags(secretId, tags),
    // Nothing to let go of if the store was never loaded.
    close: () => void loaded?.then((store) => store.close?.()).catch(() => undefined),
  };
}
