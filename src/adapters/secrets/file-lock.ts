import { open, readFile, stat, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';

/** Per lock file, the end of this process's queue for it (see withFileLock). */
const turns = new Map<string, Promise<void>>();

/**
 * A cross-process lock beside the store file, held only for the few milliseconds of one
 * read-modify-write. A lock left by a killed process is taken over once its holder is gone.
 *
 * Within one process the callers take turns first (a run reconciles several targets at once, each
 * writing the store): only one of them at a time goes for the lock file. Several that found a dead
 * holder's lock together could each take it over, and a later one's removal of the stale lock would
 * remove the lock an earlier one had just taken, letting two writers in at once.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, waitMs = 10_000): Promise<T> {
  // The wait is bounded from here, the turn included: a lock held elsewhere fails every caller in time.
  const deadline = Date.now() + waitMs;
  const key = resolve(path);
  let release!: () => void;
  const mine = new Promise<void>((done) => (release = done));
  const previous = turns.get(key) ?? Promise.resolve();
  const tail = previous.then(() => mine);
  turns.set(key, tail);
  try {
    await previous;
    return await withLockFile(path, fn, waitMs, deadline);
  } finally {
    release();
    if (turns.get(key) === tail) turns.delete(key);
  }
}

async function withLockFile<T>(path: string, fn: () => Promise<T>, waitMs: number, deadline: number): Promise<T> {
  const lockPath = `${path}.lock`;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new Error(`cannot create lock file ${lockPath}`, { cause: err });
      const stale = await staleHolder(lockPath);
      // Re-read before removing: another process may have taken the lock over in the meantime. (Two
      // processes that both read the stale lock here can still both remove it: a narrow window.)
      if (stale !== undefined && (await readFile(lockPath, 'utf8').catch(() => undefined)) === stale) {
        await unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(
          `file store ${path} stayed locked for ${waitMs} ms by another process (lock file ${lockPath})`,
          { cause: err },
        );
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

/**
 * The lock file's content when its holder is gone (a killed process, or a file left unwritten for
 * seconds); undefined when the lock is held, or was just released (the next attempt takes it).
 */
async function staleHolder(lockPath: string): Promise<string | undefined> {
  let content: string;
  try {
    content = await readFile(lockPath, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(content.trim());
  try {
    if (!Number.isInteger(pid) || pid <= 0) {
      // Being written right now, or garbage: only stale once it has sat there a while.
      return Date.now() - (await stat(lockPath)).mtimeMs > 5_000 ? content : undefined;
    }
    if (pid === process.pid) return undefined;
    process.kill(pid, 0);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? content : undefined;
  }
}
