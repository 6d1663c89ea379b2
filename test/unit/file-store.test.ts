import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lockRecord, withFileLock } from '../../src/adapters/secrets/file-lock.js';
import { fileStore } from '../../src/adapters/secrets/file-store.js';
import { CURRENT, PENDING, PREVIOUS } from '../../src/core/labels.js';

/** Each test's folders, removed after it. */
const made: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tkr-store-'));
  made.push(dir);
  return dir;
};
afterEach(async () => {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 3 })));
});

const T = (n: number) => n.toString(16).padStart(32, '0');

describe('file store', () => {
  let path: string;
  beforeEach(async () => {
    path = join(await tempDir(), 'nested', 'secrets.json');
  });

  it('reads a missing secret as undefined and creates the file with mode 0600 on first write', async () => {
    const store = fileStore(path);
    expect(await store.read('a')).toBeUndefined();
    expect(await store.create('a', T(1), 'v1')).toBe('stored');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(await readFile(path, 'utf8'));
    expect(doc.secrets.a.versions[0]).toMatchObject({ versionId: T(1), stages: [CURRENT], value: 'v1' });
  });

  it('follows the Secrets Manager label dance: pending, promote, previous follows', async () => {
    const store = fileStore(path);
    await store.create('a', T(1), 'v1');
    expect(await store.putPending('a', T(2), 'v2')).toBe('stored');
    await store.promote('a', T(2));
    const s = await store.read('a');
    expect(s?.versions.map((v) => [v.versionId, v.stages])).toEqual([
      [T(1), [PREVIOUS]],
      [T(2), [CURRENT]],
    ]);
    await store.putPending('a', T(3), 'v3');
    await store.promote('a', T(3));
    const after = await store.read('a');
    expect(after?.versions.map((v) => [v.versionId, v.stages])).toEqual([
      [T(2), [PREVIOUS]],
      [T(3), [CURRENT]],
    ]);
    expect(after?.allVersionIds).toEqual([T(1), T(2), T(3)]);
  });

  it('treats the same token with the same value as already stored, and another value as a conflict', async () => {
    const store = fileStore(path);
    expect(await store.create('a', T(1), 'v1')).toBe('stored');
    expect(await store.create('a', T(1), 'v1')).toBe('already-stored');
    expect(await store.create('a', T(9), 'other')).toBe('token-conflict');
    expect(await store.putPending('a', T(2), 'v2')).toBe('stored');
    expect(await store.putPending('a', T(2), 'v2')).toBe('already-stored');
    expect(await store.putPending('a', T(2), 'different')).toBe('token-conflict');
  });

  it('promotes idempotently and abandons a pending version without losing its value', async () => {
    const store = fileStore(path);
    await store.create('a', T(1), 'v1');
    await store.putPending('a', T(2), 'v2');
    await store.promote('a', T(2));
    await store.promote('a', T(2));
    expect((await store.read('a'))?.versions.find((v) => v.stages.includes(CURRENT))?.versionId).toBe(T(2));
    await store.putPending('a', T(3), 'v3');
    await store.abandonPending('a', T(3));
    await store.abandonPending('a', T(3));
    expect((await store.read('a'))?.versions.some((v) => v.stages.includes(PENDING))).toBe(false);
    const doc = JSON.parse(await readFile(path, 'utf8'));
    expect(doc.secrets.a.versions.find((v: { versionId: string }) => v.versionId === T(3)).value).toBe('v3');
  });

  it('serialises concurrent writers: 20 parallel puts with distinct tokens all land', async () => {
    const store = fileStore(path);
    await store.create('a', T(0), 'v0');
    await Promise.all(Array.from({ length: 20 }, (_, i) => fileStore(path).setTags('a', { [`k${i}`]: String(i) })));
    expect(Object.keys((await store.read('a'))!.tags)).toHaveLength(20);
  });

  it('refuses a corrupt file with a clear message and leaves it untouched', async () => {
    await writeFile(path.replace('nested/', ''), '{ not json', { mode: 0o600 });
    const store = fileStore(path.replace('nested/', ''));
    await expect(store.read('a')).rejects.toThrow(/is not valid JSON.*nothing was changed/);
    await expect(store.create('a', T(1), 'v')).rejects.toThrow(/is not valid JSON/);
    expect(await readFile(path.replace('nested/', ''), 'utf8')).toBe('{ not json');
  });

  it('takes over a lock left by a process of this PID namespace that no longer exists', async () => {
    const store = fileStore(path);
    await store.create('a', T(1), 'v1');
    await writeFile(`${path}.lock`, lockRecord(999999999));
    await store.setTags('a', { x: '1' });
    expect((await store.read('a'))?.tags).toEqual({ x: '1' });
  });

  it('lets one writer of a process in at a time when several find a lock a killed process left', async () => {
    // A run reconciles several targets at once: each waits on the lock the killed run left, and each
    // may find it stale. Were a second to remove the lock the first had just taken over, both would
    // write at once: a write lost, or a rename failing because the other's clean-up took its temp file.
    let inside = 0;
    let most = 0;
    for (let round = 0; round < 30; round++) {
      const file = join(await tempDir(), 'secrets.json');
      await writeFile(`${file}.lock`, lockRecord(999999999));
      await Promise.all(
        Array.from({ length: 6 }, () =>
          withFileLock(file, async () => {
            most = Math.max(most, ++inside);
            await new Promise((resolve) => setTimeout(resolve, 3));
            inside--;
          }),
        ),
      );
    }
    expect(most, 'writers inside the lock at once').toBe(1);
  });

  it('fails every writer of a process within the wait when another live process keeps the lock', async () => {
    const file = join(await tempDir(), 'secrets.json');
    await writeFile(`${file}.lock`, lockRecord(process.ppid));
    const started = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, () => withFileLock(file, () => Promise.resolve(), 1000)),
    );
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    // Taking turns in the process does not add up the waits: one wait for all, not one each.
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('never takes a fresh lock whose holder it cannot see: another host, or a PID recorded alone', async () => {
    const file = join(await tempDir(), 'secrets.json');
    const foreign = { ...JSON.parse(lockRecord(999999999)), host: 'other-host' };
    await writeFile(`${file}.lock`, JSON.stringify(foreign));
    await expect(withFileLock(file, () => Promise.resolve(), 500)).rejects.toThrow(
      /stayed locked for 500 ms by process 999999999 on host other-host .*delete the lock file/,
    );
    // An older version recorded its PID alone: from another container, that PID means nothing here.
    await writeFile(`${file}.lock`, '999999999\n');
    await expect(withFileLock(file, () => Promise.resolve(), 500)).rejects.toThrow(
      /by a holder that did not record where it runs/,
    );
  });

  it('takes over a foreign lock once it sat unchanged for the stale bound, by its own clock', async () => {
    const file = join(await tempDir(), 'secrets.json');
    // Dated in the future, as a host with a fast clock would: the bound is watched here, never compared.
    const foreign = { ...JSON.parse(lockRecord(999999999)), host: 'other-host' };
    await writeFile(`${file}.lock`, JSON.stringify(foreign));
    const future = new Date(Date.now() + 3_600_000);
    await utimes(`${file}.lock`, future, future);
    let ran = false;
    await withFileLock(file, () => Promise.resolve((ran = true)), 10_000, { staleMs: 300 });
    expect(ran).toBe(true);
  });

  const canUnshare =
    process.platform === 'linux' &&
    spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0;

  it.skipIf(!canUnshare)(
    'keeps one writer at a time across PID namespaces: a holder elsewhere is refreshed, not judged by its PID',
    { timeout: 60_000 },
    async () => {
      const dir = await tempDir();
      const file = join(dir, 'secrets.json');
      const child = (args: string[], namespaced: boolean) => {
        const node = [process.execPath, '--import', 'tsx', 'test/support/lock-child.ts', ...args];
        const [cmd, ...rest] = namespaced ? ['unshare', '--pid', '--fork', '--mount-proc', ...node] : node;
        return spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
      };
      const output = (p: ReturnType<typeof child>) => {
        let out = '';
        p.stdout.on('data', (c: Buffer) => (out += c.toString()));
        const done = new Promise<{ code: number | null; out: string }>((r) =>
          p.on('close', (code) => r({ code, out })),
        );
        return { done, now: () => out };
      };
      // The holder runs here; its PID does not exist in the contender's namespace.
      const holder = output(child(['hold', file, join(dir, 'release')], false));
      for (let i = 0; i < 1500 && !holder.now().includes('held'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(holder.now()).toContain('held');
      // Waits past a stale bound three times the heartbeat: the holder's heartbeat keeps it fresh.
      const contender = await output(child(['take', file, '4500', '3000'], true)).done;
      expect(contender.out).toMatch(/^refused: file store .* stayed locked for 4500 ms by process \d+/);
      expect(contender.code).toBe(3);
      await writeFile(join(dir, 'release'), '');
      expect((await holder.done).out).toContain('released');
      const after = await output(child(['take', file, '4500', '3000'], true)).done;
      expect(after).toEqual({ code: 0, out: 'took\n' });
    },
  );

  it('refuses a path that is not a regular file instead of hanging on it (a FIFO) or failing late', async () => {
    const dir = await tempDir();
    const fifo = join(dir, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    await expect(fileStore(fifo).read('a')).rejects.toThrow(/is a FIFO; point stores\.file\.path at a regular file/);
    await expect(fileStore(fifo).create('a', T(1), 'v')).rejects.toThrow(/is a FIFO/);
    await expect(fileStore(dir).read('a')).rejects.toThrow(/is a directory/);
  });

  it('treats secret ids like __proto__ as names, never as the prototype', async () => {
    const store = fileStore(path);
    expect(await store.read('__proto__')).toBeUndefined();
    expect(await store.create('__proto__', T(1), 'v1')).toBe('stored');
    expect(await store.create('constructor', T(2), 'v2')).toBe('stored');
    expect((await store.read('__proto__'))?.versions[0]?.value).toBe('v1');
    expect((await fileStore(path).read('constructor'))?.versions[0]?.value).toBe('v2');
  });

  it('removes the full copy a writer killed mid-write left beside the store, on the next read', async () => {
    const store = fileStore(path);
    await store.create('a', T(1), 'v1');
    await writeFile(`${path}.tmp`, 'a half-written copy of every secret');
    await store.read('a');
    await expect(stat(`${path}.tmp`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('gives each secret its own identity, stable across reads, and a new one when it is made again', async () => {
    const store = fileStore(path);
    await store.reserve('a');
    await store.reserve('a');
    const first = (await store.read('a'))!.identity;
    expect((await fileStore(path).read('a'))!.identity).toBe(first);
    const other = fileStore(join(await tempDir(), 'secrets.json'));
    await other.reserve('a');
    expect((await other.read('a'))!.identity).not.toBe(first);
  });

  it('names what is malformed in a hand-edited file without quoting values, and changes nothing', async () => {
    await writeFile(path.replace('nested/', ''), '');
    const flat = path.replace('nested/', '');
    await writeFile(
      flat,
      JSON.stringify({
        format: 'twilio-key-rotator/file-store@1',
        secrets: {
          a: { createdAt: 'x', tags: {}, versions: [{ versionId: 'v', stages: [], createdAt: 'x', value: 7 }] },
        },
      }),
    );
    await expect(fileStore(flat).read('a')).rejects.toThrow(
      /secret "a": versions\.0 has no string value; fix it by hand/,
    );
  });

  it('parses the file once for a run of reads, and again only when the file changes', async () => {
    const seed = fileStore(path);
    for (let i = 0; i < 50; i++) await seed.create(`s${i}`, T(i + 1), `v${i}`);
    const store = fileStore(path);
    const parse = vi.spyOn(JSON, 'parse');
    // Parses of the whole document (redaction parses each secret value it learns too).
    const parses = () => parse.mock.calls.filter(([text]) => String(text).includes('file-store@1')).length;
    try {
      for (let i = 0; i < 50; i++) expect((await store.read(`s${i}`))?.versions[0]?.value).toBe(`v${i}`);
      expect(parses()).toBe(1);
      // Another process's write (a new file renamed into place) is seen by the next read.
      await fileStore(path).putCurrent('s7', T(99), 'changed');
      parse.mockClear();
      expect((await store.read('s7'))?.versions.find((v) => v.stages.includes(CURRENT))?.value).toBe('changed');
      expect(parses()).toBe(1);
      // This store's own writes need no parse afterwards.
      await store.setTags('s1', { k: 'v' });
      await store.setTags('s2', { k: 'v' });
      parse.mockClear();
      expect((await store.read('s1'))?.tags).toEqual({ k: 'v' });
      expect(parses()).toBe(0);
    } finally {
      parse.mockRestore();
    }
  });

  it('sees a change made by hand in place, its size unchanged', async () => {
    const store = fileStore(path);
    await store.create('a', T(1), 'v1');
    expect((await store.read('a'))?.versions[0]?.value).toBe('v1');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"v1"', '"v2"'));
    expect((await store.read('a'))?.versions[0]?.value).toBe('v2');
  });

  it('writes the file exactly as JSON.stringify with two spaces would, whichever secrets changed', async () => {
    const store = fileStore(path);
    await store.create('__proto__', T(1), 'line\nbreak');
    await store.create('b', T(2), 'v2');
    await store.putPending('b', T(3), 'v3');
    await store.setTags('__proto__', { 'rotator:x': 'y' });
    await store.promote('b', T(3));
    const text = await readFile(path, 'utf8');
    expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    expect(JSON.parse(text).secrets.b.versions.map((v: { stages: string[] }) => v.stages)).toEqual([
      [PREVIOUS],
      [CURRENT],
    ]);
  });

  it('leaves what readers hold untouched by a write that fails', async () => {
    const store = fileStore(path);
    await store.create('a', T(1), 'v1');
    await expect(store.putPending('missing', T(2), 'v2')).rejects.toThrow(/does not exist/);
    await expect(store.putCurrent('a', T(1), 'other')).resolves.toBe('token-conflict');
    expect((await store.read('a'))?.versions.map((v) => v.value)).toEqual(['v1']);
    expect(await store.read('missing')).toBeUndefined();
  });
});
