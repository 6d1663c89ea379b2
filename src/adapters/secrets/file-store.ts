import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CURRENT, PENDING, PREVIOUS, type PutResult, type SecretStore, type StoredSecret } from '../../core/ports.js';
import { RemoteError } from '../../errors.js';
import { registerSecret } from '../../log.js';
import { withFileLock } from './file-lock.js';

/**
 * The embedded default store: one JSON file, readable by a person, with the version and staging
 * label rules of Secrets Manager. Every change is a locked read-modify-write that lands through
 * write-temp, fsync, rename: a crash leaves either the old file or the new one, never half of either.
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

async function load(path: string): Promise<FileDocument> {
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
  if (d.format !== FORMAT || typeof d.secrets !== 'object' || d.secrets === null) {
    throw storeError(path, 'read', `is not a ${FORMAT} document (nothing was changed)`);
  }
  return d as FileDocument;
}

async function save(path: string, doc: FileDocument): Promise<void> {
  const dir = dirname(path);
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
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
  const dirHandle = await open(dir, 'r');
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

export function fileStore(path: string, now: () => number = Date.now): SecretStore {
  const change = async <T>(operation: string, fn: (doc: FileDocument) => T | Promise<T>): Promise<T> =>
    mkdir(dirname(path), { recursive: true, mode: 0o700 })
      .then(() =>
        withFileLock(path, async () => {
          const doc = await load(path);
          const result = await fn(doc);
          await save(path, doc);
          return result;
        }),
      )
      .catch((err: unknown) => {
        throw err instanceof RemoteError
          ? err
          : storeError(path, operation, err instanceof Error ? err.message : String(err), err);
      });

  const mustExist = (doc: FileDocument, secretId: string, operation: string): FileSecret => {
    const secret = doc.secrets[secretId];
    if (!secret) throw storeError(path, operation, `secret "${secretId}" does not exist`);
    return secret;
  };

  const addVersion = (secret: FileSecret, token: string, value: string, stages: string[]): PutResult => {
    const existing = secret.versions.find((v) => v.versionId === token);
    if (existing) return existing.value === value ? 'already-stored' : 'token-conflict';
    for (const stage of stages) label(secret, stage, undefined);
    secret.versions.push({ versionId: token, stages: [...stages], createdAt: new Date(now()).toISOString(), value });
    trim(secret);
    return 'stored';
  };

  return {
    kind: 'file',

    async read(secretId): Promise<StoredSecret | undefined> {
      const doc = await load(path);
      const secret = doc.secrets[secretId];
      if (!secret) return undefined;
      const labelled = secret.versions.filter((v) => v.stages.length > 0);
      for (const v of labelled) registerSecret(v.value);
      return {
        secretId,
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

    create: (secretId, token, value) =>
      change('create', (doc) => {
        const existing = doc.secrets[secretId];
        if (existing) {
          const v = existing.versions.find((x) => x.versionId === token);
          if (v) return v.value === value ? 'already-stored' : 'token-conflict';
          // Like Secrets Manager: a secret with no current version takes its first one as AWSCURRENT.
          return existing.versions.some((x) => x.stages.includes(CURRENT))
            ? 'token-conflict'
            : addVersion(existing, token, value, [CURRENT]);
        }
        const secret: FileSecret = { createdAt: new Date(now()).toISOString(), tags: {}, versions: [] };
        doc.secrets[secretId] = secret;
        return addVersion(secret, token, value, [CURRENT]);
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
