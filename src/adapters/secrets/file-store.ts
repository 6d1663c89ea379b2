import { randomUUID } from 'node:crypto';
import { lstat, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CURRENT, PENDING, PREVIOUS, type PutResult, type SecretStore, type StoredSecret } from '../../core/ports.js';
import { RemoteError } from '../../errors.js';
import { registerSecretText } from '../../redact.js';
import { withFileLock } from './file-lock.js';

/**
 * The embedded default store: one JSON file, readable by a person, with the version and staging
 * label rules of Secrets Manager. Every change is a locked read-modify-write that lands through
 * write-temp, fsync, rename: a crash leaves either the old file or the new one, never half of either.
 * The temp file has one fixed name beside the store; one a crash left behind (a full copy of the
 * secrets) is removed under the lock by the next process that reads or writes the store.
 */

const FORMAT = 'twilio-key-rotator/file-store@1';
/** Like Secrets Manager, keep a bounded history; labelled versions are never dropped. */
const MAX_VERSIONS = 100;

interface FileVersion {
  versionId: string;
  stages: string[];
  createdAt: string;
  value: string;
}

interface FileSecret {
  /** The secret's own id, new with every secret: its identity (older files have none; see `identityOf`). */
  uid?: string;
  createdAt: string;
  tags: Record<string, string>;
  versions: FileVersion[];
}

interface FileDocument {
  format: typeof FORMAT;
  secrets: Record<string, FileSecret>;
}

function storeError(path: string, operation: string, message: string, cause?: unknown): RemoteError {
  return new RemoteError(
    'file-store',
    operation,
    { retryable: false },
    `file store ${path}: ${message}`,
    cause ? { cause } : undefined,
  );
}

/** Secret ids are user input: "__proto__" and friends must be plain keys, never the prototype. */
const has = (doc: FileDocument, secretId: string) => Object.hasOwn(doc.secrets, secretId);
const get = (doc: FileDocument, secretId: string) => (has(doc, secretId) ? doc.secrets[secretId] : undefined);
function put(doc: FileDocument, secretId: string, secret: FileSecret): void {
  Object.defineProperty(doc.secrets, secretId, { value: secret, enumerable: true, writable: true, configurable: true });
}

/** Reading a FIFO or a device would block forever, a directory fails late: only a regular file will do. */
async function requireRegularFile(path: string): Promise<boolean> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw storeError(path, 'read', `cannot be examined (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  if (!info.isFile()) {
    const kind = info.isDirectory()
      ? 'a directory'
      : info.isFIFO()
        ? 'a FIFO'
        : info.isSocket()
          ? 'a socket'
          : 'not a regular file';
    throw storeError(
      path,
      'read',
      `is ${kind}; point stores.file.path at a regular file (or a path where one can be created)`,
    );
  }
  return true;
}

/** Where a version's value is malformed, without quoting anything. */
function malformed(doc: Partial<FileDocument>): string | undefined {
  const secrets = doc.secrets as Record<string, unknown>;
  for (const [id, raw] of Object.entries(secrets)) {
    const s = raw as Partial<FileSecret> | null;
    const at = `secret "${id}"`;
    if (typeof s !== 'object' || s === null) return `${at} is not an object`;
    if (!Array.isArray(s.versions)) return `${at}: versions is not a list`;
    if (typeof s.tags !== 'object' || s.tags === null) return `${at}: tags is not an object`;
    for (const [i, v] of s.versions.entries()) {
      const bad =
        typeof v !== 'object' || v === null
          ? 'is not an object'
          : typeof v.versionId !== 'string'
            ? 'has no versionId'
            : !Array.isArray(v.stages) || v.stages.some((x) => typeof x !== 'string')
              ? 'has no list of stages'
              : typeof v.value !== 'string'
                ? 'has no string value'
                : typeof v.createdAt !== 'string'
                  ? 'has no createdAt'
                  : undefined;
      if (bad) return `${at}: versions.${i} ${bad}`;
    }
  }
  return undefined;
}

async function load(path: string): Promise<FileDocument> {
  if (!(await requireRegularFile(path))) return { format: FORMAT, secrets: {} };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { format: FORMAT, secrets: {} };
    throw storeError(path, 'read', `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw storeError(path, 'read', 'is not valid JSON; restore it from backup or fix it by hand (nothing was changed)');
  }
  const d = doc as Partial<FileDocument>;
  if (
    typeof d !== 'object' ||
    d === null ||
    d.format !== FORMAT ||
    typeof d.secrets !== 'object' ||
    d.secrets === null ||
    Array.isArray(d.secrets)
  ) {
    throw storeError(path, 'read', `is not a ${FORMAT} document (nothing was changed)`);
  }
  const problem = malformed(d);
  if (problem)
    throw storeError(path, 'read', `${problem}; fix it by hand or restore it from backup (nothing was changed)`);
  return d as FileDocument;
}

const tempOf = (path: string) => `${path}.tmp`;

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function save(path: string, doc: FileDocument): Promise<void> {
  const temp = tempOf(path);
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(doc, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  const dirHandle = await open(dirname(path), 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

function label(secret: FileSecret, stage: string, versionId: string | undefined): void {
  for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== stage);
  if (versionId) secret.versions.find((v) => v.versionId === versionId)?.stages.push(stage);
}

function trim(secret: FileSecret): void {
  while (secret.versions.length > MAX_VERSIONS) {
    const oldest = secret.versions.findIndex((v) => v.stages.length === 0);
    if (oldest < 0) return;
    secret.versions.splice(oldest, 1);
  }
}

/** Secrets made before uids existed: their name and creation time, which never change. */
const identityOf = (secretId: string, secret: FileSecret) => secret.uid ?? `file:${secretId}@${secret.createdAt}`;

export function fileStore(path: string, now: () => number = Date.now): SecretStore {
  const locked = <T>(operation: string, fn: () => Promise<T>): Promise<T> =>
    mkdir(dirname(path), { recursive: true, mode: 0o700 })
      .then(() =>
        withFileLock(path, async () => {
          // Only a crashed writer leaves the temp file: every writer holds this lock.
          await unlink(tempOf(path)).catch(() => undefined);
          return fn();
        }),
      )
      .catch((err: unknown) => {
        throw err instanceof RemoteError
          ? err
          : storeError(path, operation, err instanceof Error ? err.message : String(err), err);
      });

  const change = <T>(operation: string, fn: (doc: FileDocument) => T): Promise<T> =>
    locked(operation, async () => {
      const doc = await load(path);
      const result = fn(doc);
      await save(path, doc);
      return result;
    });

  const mustExist = (doc: FileDocument, secretId: string, operation: string): FileSecret => {
    const secret = get(doc, secretId);
    if (!secret) throw storeError(path, operation, `secret "${secretId}" does not exist`);
    return secret;
  };

  const newSecret = (): FileSecret => ({
    uid: randomUUID(),
    createdAt: new Date(now()).toISOString(),
    tags: {},
    versions: [],
  });

  const addVersion = (secret: FileSecret, token: string, value: string, stages: string[]): PutResult => {
    const existing = secret.versions.find((v) => v.versionId === token);
    if (existing) return existing.value === value ? 'already-stored' : 'token-conflict';
    for (const stage of stages) label(secret, stage, undefined);
    secret.versions.push({ versionId: token, stages: [...stages], createdAt: new Date(now()).toISOString(), value });
    trim(secret);
    return 'stored';
  };

  return {
    async read(secretId): Promise<StoredSecret | undefined> {
      if (await exists(tempOf(path))) await locked('read', () => Promise.resolve());
      const doc = await load(path);
      const secret = get(doc, secretId);
      if (!secret) return undefined;
      const labelled = secret.versions.filter((v) => v.stages.length > 0);
      for (const v of labelled) registerSecretText(v.value);
      return {
        secretId,
        identity: identityOf(secretId, secret),
        versions: labelled.map((v) => ({
          versionId: v.versionId,
          stages: [...v.stages],
          createdAtMs: Date.parse(v.createdAt),
          value: v.value,
        })),
        allVersionIds: secret.versions.map((v) => v.versionId),
        tags: { ...secret.tags },
      };
    },

    reserve: (secretId) =>
      change('reserve', (doc) => {
        if (!has(doc, secretId)) put(doc, secretId, newSecret());
      }),

    create: (secretId, token, value) =>
      change('create', (doc) => {
        const existing = get(doc, secretId);
        if (existing) {
          const v = existing.versions.find((x) => x.versionId === token);
          if (v) return v.value === value ? 'already-stored' : 'token-conflict';
          // Like Secrets Manager: a secret with no current version takes its first one as AWSCURRENT.
          return existing.versions.some((x) => x.stages.includes(CURRENT))
            ? 'token-conflict'
            : addVersion(existing, token, value, [CURRENT]);
        }
        const secret = newSecret();
        put(doc, secretId, secret);
        return addVersion(secret, token, value, [CURRENT]);
      }),

    putCurrent: (secretId, token, value) =>
      change('putCurrent', (doc) => {
        const secret = mustExist(doc, secretId, 'putCurrent');
        const old = secret.versions.find((v) => v.stages.includes(CURRENT));
        const result = addVersion(secret, token, value, [CURRENT]);
        if (result === 'stored' && old) label(secret, PREVIOUS, old.versionId);
        return result;
      }),

    putPending: (secretId, token, value) =>
      change('putPending', (doc) => addVersion(mustExist(doc, secretId, 'putPending'), token, value, [PENDING])),

    promote: (secretId, token) =>
      change('promote', (doc) => {
        const secret = mustExist(doc, secretId, 'promote');
        const version = secret.versions.find((v) => v.versionId === token);
        if (!version) throw storeError(path, 'promote', `secret "${secretId}" has no version ${token}`);
        if (!version.stages.includes(CURRENT)) {
          const old = secret.versions.find((v) => v.stages.includes(CURRENT));
          label(secret, CURRENT, token);
          label(secret, PREVIOUS, old?.versionId);
        }
        version.stages = version.stages.filter((s) => s !== PENDING);
      }),

    abandonPending: (secretId, token) =>
      change('abandonPending', (doc) => {
        const version = mustExist(doc, secretId, 'abandonPending').versions.find((v) => v.versionId === token);
        if (version) version.stages = version.stages.filter((s) => s !== PENDING);
      }),

    setTags: (secretId, tags) =>
      change('setTags', (doc) => {
        const secret = mustExist(doc, secretId, 'setTags');
        secret.tags = { ...secret.tags, ...tags };
      }),
  };
}
