import { lstat, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretStore, StoredSecret } from '../../core/ports.js';
import { RemoteError } from '../../errors.js';
import { registerSecretText } from '../../redact.js';
import { withFileLock } from './file-lock.js';
import { getSecret, toStored, versionedOps, type SecretRecord, type SecretTable } from './versioned.js';

/**
 * The embedded default store: one JSON file, readable by a person, with the version and staging
 * label rules of Secrets Manager. Every change is a locked read-modify-write that lands through
 * write-temp, fsync, rename: a crash leaves either the old file or the new one, never half of either.
 * The temp file has one fixed name beside the store; one a crash left behind (a full copy of the
 * secrets) is removed under the lock by the next process that reads or writes the store.
 */

const FORMAT = 'twilio-key-rotator/file-store@1';

interface FileDocument {
  format: typeof FORMAT;
  secrets: SecretTable;
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
    const s = raw as Partial<SecretRecord> | null;
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

  const ops = versionedOps(now, (operation, message) => storeError(path, operation, message));

  return {
    async read(secretId): Promise<StoredSecret | undefined> {
      if (await exists(tempOf(path))) await locked('read', () => Promise.resolve());
      const doc = await load(path);
      const secret = getSecret(doc.secrets, secretId);
      if (!secret) return undefined;
      for (const v of secret.versions) if (v.stages.length > 0) registerSecretText(v.value);
      return toStored(secretId, secret);
    },
    reserve: (secretId) => change('reserve', (doc) => ops.reserve(doc.secrets, secretId)),
    create: (secretId, token, value) => change('create', (doc) => ops.create(doc.secrets, secretId, token, value)),
    putCurrent: (secretId, token, value) =>
      change('putCurrent', (doc) => ops.putCurrent(doc.secrets, secretId, token, value)),
    putPending: (secretId, token, value) =>
      change('putPending', (doc) => ops.putPending(doc.secrets, secretId, token, value)),
    promote: (secretId, token) => change('promote', (doc) => ops.promote(doc.secrets, secretId, token)),
    abandonPending: (secretId, token) =>
      change('abandonPending', (doc) => ops.abandonPending(doc.secrets, secretId, token)),
    setTags: (secretId, tags) => change('setTags', (doc) => ops.setTags(doc.secrets, secretId, tags)),
  };
}
