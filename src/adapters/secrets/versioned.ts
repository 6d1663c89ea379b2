import { randomUUID } from 'node:crypto';
import { CURRENT, PENDING, PREVIOUS } from '../../core/labels.js';
import type { PutResult, StoredSecret } from '../../core/ports.js';

/**
 * Secrets Manager's version and staging-label rules over a plain table of secrets: the file store
 * keeps the table in a JSON file, the memory store (the dry run, engine tests) in memory. One
 * implementation, so both follow the same rules.
 */

export interface VersionRecord {
  versionId: string;
  stages: string[];
  createdAt: string;
  /** The file store always has one; a Secrets Manager placeholder (in the memory store) has none. */
  value?: string;
  binary?: boolean;
  /** Held by a run's copy of a secret (cached-store.ts) when the value was not fetched. */
  skipped?: boolean;
  /** A sweep's copy: what the version's rotator:current tag claims (core/claim.ts). */
  claim?: { ref: string; createdAtMs: number };
}

export interface SecretRecord {
  /** The secret's own id, new with every secret: its identity (older files have none; see `identityOf`). */
  uid?: string;
  createdAt: string;
  tags: Record<string, string>;
  versions: VersionRecord[];
  /** A run's copy of a Secrets Manager secret read without its deprecated version ids. */
  idsIncomplete?: boolean;
}

export type SecretTable = Record<string, SecretRecord>;

/** Like Secrets Manager, keep a bounded history; labelled versions are never dropped. */
const MAX_VERSIONS = 100;

/** Secret ids are user input: "__proto__" and friends must be plain keys, never the prototype. */
export function getSecret(table: SecretTable, secretId: string): SecretRecord | undefined {
  return Object.hasOwn(table, secretId) ? table[secretId] : undefined;
}
export function putSecret(table: SecretTable, secretId: string, secret: SecretRecord): void {
  Object.defineProperty(table, secretId, { value: secret, enumerable: true, writable: true, configurable: true });
}

/** Secrets made before uids existed: their name and creation time, which never change. */
export const identityOf = (secretId: string, secret: SecretRecord) =>
  secret.uid ?? `file:${secretId}@${secret.createdAt}`;

/** The optional facts of a version, copied between a record and a read. */
const extrasOf = (v: Pick<VersionRecord, 'value' | 'binary' | 'skipped' | 'claim'> | undefined) => ({
  ...(v?.value !== undefined ? { value: v.value } : {}),
  ...(v?.binary ? { binary: true } : {}),
  ...(v?.skipped ? { skipped: true } : {}),
  ...(v?.claim ? { claim: { ...v.claim } } : {}),
});

export function toStored(secretId: string, secret: SecretRecord): StoredSecret {
  const labelled = secret.versions.filter((v) => v.stages.length > 0);
  return {
    secretId,
    identity: identityOf(secretId, secret),
    versions: labelled.map((v) => ({
      versionId: v.versionId,
      stages: [...v.stages],
      createdAtMs: Date.parse(v.createdAt),
      ...extrasOf(v),
    })),
    allVersionIds: secret.versions.map((v) => v.versionId),
    ...(secret.idsIncomplete ? { versionIdsComplete: false } : {}),
    tags: { ...secret.tags },
  };
}

/** A record holding what a read returned: labelled versions with values, the others by id only. */
export function fromStored(stored: StoredSecret): SecretRecord {
  const labelled = new Map(stored.versions.map((v) => [v.versionId, v]));
  const ids = [...new Set([...stored.allVersionIds, ...labelled.keys()])];
  return {
    uid: stored.identity,
    createdAt: new Date(0).toISOString(),
    tags: { ...stored.tags },
    ...(stored.versionIdsComplete === false ? { idsIncomplete: true } : {}),
    versions: ids.map((id) => {
      const v = labelled.get(id);
      return {
        versionId: id,
        stages: v ? [...v.stages] : [],
        createdAt: new Date(v?.createdAtMs ?? 0).toISOString(),
        ...extrasOf(v),
      };
    }),
  };
}

function label(secret: SecretRecord, stage: string, versionId: string | undefined): void {
  for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== stage);
  if (versionId) secret.versions.find((v) => v.versionId === versionId)?.stages.push(stage);
}

function trim(secret: SecretRecord): void {
  while (secret.versions.length > MAX_VERSIONS) {
    const oldest = secret.versions.findIndex((v) => v.stages.length === 0);
    if (oldest < 0) return;
    secret.versions.splice(oldest, 1);
  }
}

/** The operations of core/ports.ts SecretStore, on a table; `fail` raises the store's own error. */
export function versionedOps(
  nowMs: () => number,
  fail: (operation: string, message: string) => Error,
  newIdentity: () => string = randomUUID,
) {
  const at = () => new Date(nowMs()).toISOString();
  const mustExist = (table: SecretTable, secretId: string, operation: string): SecretRecord => {
    const secret = getSecret(table, secretId);
    if (!secret) throw fail(operation, `secret "${secretId}" does not exist`);
    return secret;
  };
  const newSecret = (): SecretRecord => ({ uid: newIdentity(), createdAt: at(), tags: {}, versions: [] });

  const addVersion = (secret: SecretRecord, token: string, value: string, stages: string[]): PutResult => {
    const existing = secret.versions.find((v) => v.versionId === token);
    if (existing) {
      // A placeholder Secrets Manager labelled before its function stored anything is filled in.
      if (existing.value === undefined && !existing.binary) {
        existing.value = value;
        for (const stage of stages) label(secret, stage, token);
        return 'stored';
      }
      return existing.value === value ? 'already-stored' : 'token-conflict';
    }
    for (const stage of stages) label(secret, stage, undefined);
    secret.versions.push({ versionId: token, stages: [...stages], createdAt: at(), value });
    trim(secret);
    return 'stored';
  };

  return {
    reserve: (table: SecretTable, secretId: string): void => {
      if (!getSecret(table, secretId)) putSecret(table, secretId, newSecret());
    },
    create: (table: SecretTable, secretId: string, token: string, value: string): PutResult => {
      const existing = getSecret(table, secretId);
      if (existing) {
        const v = existing.versions.find((x) => x.versionId === token);
        if (v) return v.value === value ? 'already-stored' : 'token-conflict';
        // Like Secrets Manager: a secret with no current version takes its first one as AWSCURRENT.
        return existing.versions.some((x) => x.stages.includes(CURRENT))
          ? 'token-conflict'
          : addVersion(existing, token, value, [CURRENT]);
      }
      const secret = newSecret();
      putSecret(table, secretId, secret);
      return addVersion(secret, token, value, [CURRENT]);
    },
    putCurrent: (table: SecretTable, secretId: string, token: string, value: string): PutResult => {
      const secret = mustExist(table, secretId, 'putCurrent');
      const old = secret.versions.find((v) => v.stages.includes(CURRENT));
      const result = addVersion(secret, token, value, [CURRENT]);
      if (result === 'stored' && old && old.versionId !== token) label(secret, PREVIOUS, old.versionId);
      return result;
    },
    putPending: (table: SecretTable, secretId: string, token: string, value: string): PutResult => {
      return addVersion(mustExist(table, secretId, 'putPending'), token, value, [PENDING]);
    },
    promote: (table: SecretTable, secretId: string, token: string): void => {
      const secret = mustExist(table, secretId, 'promote');
      const version = secret.versions.find((v) => v.versionId === token);
      if (!version) throw fail('promote', `secret "${secretId}" has no version ${token}`);
      if (!version.stages.includes(CURRENT)) {
        const old = secret.versions.find((v) => v.stages.includes(CURRENT));
        label(secret, CURRENT, token);
        label(secret, PREVIOUS, old?.versionId);
      }
      version.stages = version.stages.filter((s) => s !== PENDING);
    },
    abandonPending: (table: SecretTable, secretId: string, token: string): void => {
      const version = mustExist(table, secretId, 'abandonPending').versions.find((v) => v.versionId === token);
      if (version) version.stages = version.stages.filter((s) => s !== PENDING);
    },
    setTags: (table: SecretTable, secretId: string, tags: Readonly<Record<string, string>>): void => {
      const secret = mustExist(table, secretId, 'setTags');
      secret.tags = { ...secret.tags, ...tags };
    },
  };
}
