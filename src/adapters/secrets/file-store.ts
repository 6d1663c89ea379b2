import { lstat, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretStore, StoredSecret } from '../../core/ports.js';
import { RemoteError } from '../../errors.js';
import { registerSecretText } from '../../redact.js';
import { isRecord, parseJson } from '../../util/json.js';
import { withFileLock } from './file-lock.js';
import { getSecret, putSecret, toStored, versionedOps, type SecretRecord, type SecretTable } from './versioned.js';

/**
 * The default store: one JSON file with Secrets Manager's label rules. Each change is a locked
 * read-modify-write landing by write-temp, fsync, rename, so a crash leaves the old file or the new. A
 * temp file a crash left (a full copy of the secrets) is removed under the lock by the next reader or writer.
 */

const FORMAT = 'twilio-key-rotator/file-store@1';

interface FileDocument {
  format: typeof FORMAT;
  secrets: SecretTable;
}

const storeError = (path: string, operation: string, message: string, cause?: unknown) =>
  new RemoteError(
    'file-store',
    operation,
    { retryable: false },
    `file store ${path}: ${message}`,
    cause ? { cause } : undefined,
  );

/**
 * Only a regular file will do (a FIFO or device would block forever). Returns what identifies this
 * content (device, inode, size, times), or undefined when there is no file.
 */
async function requireRegularFile(path: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(path, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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
    const fix = 'point stores.file.path at a regular file (or a path where one can be created)';
    throw storeError(path, 'read', `is ${kind}; ${fix}`);
  }
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

/** Where a version's value is malformed, without quoting anything. */
function malformed(secrets: Record<string, unknown>): string | undefined {
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

/** The document as last parsed, and the file it was parsed from (requireRegularFile's stamp). */
interface Parsed {
  stamp: string;
  doc: FileDocument;
  /** Each secret's serialized text as save() writes it, for secrets unchanged since. */
  texts: Map<string, string>;
}

/**
 * The document, parsed once per version of the file: a write renames a new inode into place and a hand
 * edit moves size or times, so an unchanged stamp means unchanged content.
 */
async function load(path: string, last: Parsed | undefined): Promise<Parsed> {
  const absent: Parsed = { stamp: 'absent', doc: { format: FORMAT, secrets: {} }, texts: new Map() };
  const stamp = await requireRegularFile(path);
  if (stamp === undefined) return absent;
  if (last?.stamp === stamp) return last;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return absent;
    throw storeError(path, 'read', `cannot read (${code ?? 'error'})`, err);
  }
  const doc = parseJson(text) as Partial<FileDocument> | undefined;
  if (doc === undefined)
    throw storeError(path, 'read', 'is not valid JSON; restore it from backup or fix it by hand (nothing was changed)');
  if (doc?.format !== FORMAT || !isRecord(doc.secrets))
    throw storeError(path, 'read', `is not a ${FORMAT} document (nothing was changed)`);
  const problem = malformed(doc.secrets);
  if (problem)
    throw storeError(path, 'read', `${problem}; fix it by hand or restore it from backup (nothing was changed)`);
  return { stamp, doc: doc as FileDocument, texts: new Map() };
}

/**
 * The document as `JSON.stringify(doc, null, 2)` writes it, each secret's part taken from `texts`
 * when that secret is unchanged: a write costs one secret's serialization, not the whole file's.
 */
function serialize(parsed: Parsed): string {
  const parts = Object.keys(parsed.doc.secrets).map((id) => {
    let text = parsed.texts.get(id);
    if (text === undefined) {
      const record = JSON.stringify(getSecret(parsed.doc.secrets, id), null, 2).replaceAll('\n', '\n    ');
      text = `    ${JSON.stringify(id)}: ${record}`;
      parsed.texts.set(id, text);
    }
    return text;
  });
  const secrets = parts.length === 0 ? '{}' : `{\n${parts.join(',\n')}\n  }`;
  return `{\n  "format": ${JSON.stringify(FORMAT)},\n  "secrets": ${secrets}\n}\n`;
}

const tempOf = (path: string) => `${path}.tmp`;

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function save(path: string, parsed: Parsed): Promise<void> {
  const temp = tempOf(path);
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(serialize(parsed));
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

  /** This store's last parse, which readers share: a write works on a copy and replaces it once saved. */
  let parsed: Parsed | undefined;
  const change = <T>(operation: string, secretId: string, fn: (doc: FileDocument) => T): Promise<T> =>
    locked(operation, async () => {
      const base = await load(path, parsed);
      // Every operation changes one secret at most, this one: only it is copied and serialized again.
      const secrets = { ...base.doc.secrets };
      const own = getSecret(secrets, secretId);
      if (own) putSecret(secrets, secretId, structuredClone(own));
      const next: Parsed = { stamp: base.stamp, doc: { format: FORMAT, secrets }, texts: new Map(base.texts) };
      next.texts.delete(secretId);
      const result = fn(next.doc);
      await save(path, next);
      parsed = { ...next, stamp: (await requireRegularFile(path)) ?? 'absent' };
      return result;
    });

  const ops = versionedOps(now, (operation, message) => storeError(path, operation, message));
  /** One of `ops` as a store method: under the lock, on this store's document, saved. */
  const op =
    <A extends unknown[], R>(operation: string, fn: (secrets: SecretTable, secretId: string, ...args: A) => R) =>
    (secretId: string, ...args: A): Promise<R> =>
      change(operation, secretId, (doc) => fn(doc.secrets, secretId, ...args));

  return {
    async read(secretId): Promise<StoredSecret | undefined> {
      if (await exists(tempOf(path))) await locked('read', () => Promise.resolve());
      parsed = await load(path, parsed);
      const secret = getSecret(parsed.doc.secrets, secretId);
      if (!secret) return undefined;
      for (const v of secret.versions) if (v.stages.length > 0) registerSecretText(v.value);
      return toStored(secretId, secret);
    },
    reserve: op('reserve', ops.reserve),
    create: op('create', ops.create),
    putCurrent: op('putCurrent', ops.putCurrent),
    putPending: op('putPending', ops.putPending),
    promote: op('promote', ops.promote),
    abandonPending: op('abandonPending', ops.abandonPending),
    setTags: op('setTags', ops.setTags),
  };
}
