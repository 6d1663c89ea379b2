import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { sleep } from '../../util/abort.js';
import { parseJson } from '../../util/json.js';

/** Per lock file, the end of this process's queue for it (see withFileLock). */
const turns = new Map<string, Promise<void>>();

/**
 * A cross-process lock beside the store file, held for one read-modify-write, by processes that may
 * run on other hosts or containers sharing the volume. The lock file records PID, host, boot id and
 * PID namespace: only in that namespace, on that boot of that host, is a holder whose PID is gone taken
 * over at once. Anywhere else a lock is stale once its holder stops touching it (every HEARTBEAT_MS):
 * a waiter that sees the file unchanged for `staleMs` by its own clock (never comparing two hosts'
 * clocks) takes it over.
 *
 * Within one process the callers take turns first: several that found a dead holder's lock together
 * could each take it over, and a later one's removal of the stale lock would remove the lock an
 * earlier one had just taken, letting two writers in at once.
 */

const HEARTBEAT_MS = 1000;
/** Six missed heartbeats: a waiter with the default 10 s wait still takes over a dead holder's lock. */
export const DEFAULT_STALE_MS = 6000;

export interface LockOptions {
  /** How long a lock must sit unchanged before a waiter that cannot see its holder takes it over. */
  staleMs?: number;
}

interface Holder {
  pid: number;
  host: string;
  boot: string;
  pidns: string;
  nonce?: string;
}

const readOr = (read: () => string): string => {
  try {
    return read().trim();
  } catch {
    return '';
  }
};

/** Where this process runs: the same on every call (boot id and PID namespace cannot change under it). */
let here: Omit<Holder, 'pid' | 'nonce'> | undefined;
function place(): Omit<Holder, 'pid' | 'nonce'> {
  here ??= {
    host: hostname(),
    boot: readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    pidns: readOr(() => readlinkSync('/proc/self/ns/pid')),
  };
  return here;
}

/** The content of a lock file taken by `pid` here (in this PID namespace, on this boot of this host). */
export function lockRecord(pid: number, nonce?: string): string {
  return `${JSON.stringify({ pid, ...place(), ...(nonce ? { nonce } : {}) })}\n`;
}

/** Undefined for a file being written, garbage, or a PID alone (an older version): no place known. */
function parseHolder(content: string): Holder | undefined {
  const h = parseJson(content) as Partial<Holder> | null | undefined;
  if (!h || !Number.isInteger(h.pid) || typeof h.host !== 'string') return undefined;
  return typeof h.boot === 'string' && typeof h.pidns === 'string' ? (h as Holder) : undefined;
}

/** True when `holder`'s PID can be judged from here: same host, same boot, same PID namespace. */
function sameNamespace(holder: Holder): boolean {
  const p = place();
  return holder.host === p.host && holder.boot === p.boot && holder.pidns === p.pidns && p.pidns !== '';
}

function describeHolder(content: string | undefined): string {
  const holder = content === undefined ? undefined : parseHolder(content);
  if (!holder) return 'a holder that did not record where it runs';
  return sameNamespace(holder) ? `process ${holder.pid} here` : `process ${holder.pid} on host ${holder.host}`;
}

export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  waitMs = 10_000,
  options: LockOptions = {},
): Promise<T> {
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
    return await withLockFile(path, fn, waitMs, deadline, options.staleMs ?? DEFAULT_STALE_MS);
  } finally {
    release();
    if (turns.get(key) === tail) turns.delete(key);
  }
}

async function withLockFile<T>(
  path: string,
  fn: () => Promise<T>,
  waitMs: number,
  deadline: number,
  staleMs: number,
): Promise<T> {
  const lockPath = `${path}.lock`;
  const record = lockRecord(process.pid, randomBytes(8).toString('hex'));
  const watch: Watch = { stamp: undefined, sinceMs: 0 };
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(record);
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new Error(`cannot create lock file ${lockPath}`, { cause: err });
      const stale = await staleHolder(lockPath, watch, staleMs);
      // Re-read before removing: another process may have taken the lock over in the meantime. (Two
      // processes that both read the stale lock here can still both remove it: a narrow window.)
      if (stale !== undefined && (await readFile(lockPath, 'utf8').catch(() => undefined)) === stale) {
        await unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        const holder = describeHolder(await readFile(lockPath, 'utf8').catch(() => undefined));
        const what = `file store ${path} stayed locked for ${waitMs} ms by ${holder} (lock file ${lockPath})`;
        const when = `it is taken over once it goes ${staleMs / 1000} s without its holder's heartbeat`;
        const next = `${when}; if no rotator runs there, delete the lock file`;
        throw new Error(`${what}; ${next}`, { cause: err });
      }
      await sleep(10 + Math.random() * 20);
    }
  }
  const beat = setInterval(() => void heartbeat(lockPath, record), HEARTBEAT_MS);
  beat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(beat);
    await unlink(lockPath).catch(() => undefined);
  }
}

/** Touches the lock file while it is still this holder's, so waiters elsewhere see it is alive. */
async function heartbeat(lockPath: string, record: string): Promise<void> {
  if ((await readFile(lockPath, 'utf8').catch(() => undefined)) !== record) return;
  const now = new Date();
  await utimes(lockPath, now, now).catch(() => undefined);
}

/** What one waiter last saw of the lock file (content and mtime), and since when by its own clock. */
interface Watch {
  stamp: string | undefined;
  sinceMs: number;
}

/**
 * The lock file's content when its holder is gone; undefined when the lock is held, or was just
 * released (the next attempt takes it). Gone: a holder in this PID namespace whose PID no longer
 * exists, or any lock that sat unchanged (no heartbeat) for `staleMs` while this waiter watched.
 */
async function staleHolder(lockPath: string, watch: Watch, staleMs: number): Promise<string | undefined> {
  let content: string;
  let mtimeMs: number;
  try {
    content = await readFile(lockPath, 'utf8');
    mtimeMs = (await stat(lockPath)).mtimeMs;
  } catch {
    return undefined;
  }
  const stamp = `${mtimeMs} ${content}`;
  const nowMs = performance.now();
  if (stamp !== watch.stamp) {
    watch.stamp = stamp;
    watch.sinceMs = nowMs;
  } else if (nowMs - watch.sinceMs >= staleMs) return content;
  const holder = parseHolder(content);
  if (!holder || !sameNamespace(holder) || holder.pid === process.pid || holder.pid <= 0) return undefined;
  try {
    process.kill(holder.pid, 0);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? content : undefined;
  }
}
