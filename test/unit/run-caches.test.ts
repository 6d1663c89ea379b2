import { describe, expect, it } from 'vitest';
import { cachedStore } from '../../src/adapters/secrets/cached-store.js';
import { memoryStore } from '../../src/adapters/secrets/memory-store.js';
import { AccountLimiter } from '../../src/adapters/twilio/account-limiter.js';
import { KeyLists } from '../../src/adapters/twilio/listed-keys.js';
import { CURRENT, PENDING, PREVIOUS } from '../../src/core/labels.js';
import type { SecretStore, StoredSecret, TwilioKey, TwilioKeys } from '../../src/core/ports.js';

/** One run's memory of the stores and Twilio: it saves calls and never hides another writer. */

const T1 = 'a'.repeat(32);
const T2 = 'b'.repeat(32);
const T3 = 'c'.repeat(32);

function counted(store: SecretStore): SecretStore & { reads: number; labelsCalls: number } {
  const out = {
    ...store,
    reads: 0,
    labelsCalls: 0,
    read: (id: string, o?: Parameters<SecretStore['read']>[1]) => (out.reads++, store.read(id, o)),
  };
  return out;
}
const stages = (s: StoredSecret | undefined) =>
  Object.fromEntries((s?.versions ?? []).map((v) => [v.versionId, [...v.stages].sort()]));

describe('cachedStore', () => {
  it('reads a secret once, and applies its own writes to the copy with the store label rules', async () => {
    const real = counted(memoryStore());
    await real.create('s', T1, 'one');
    const store = cachedStore(real, Date.now);
    await store.read('s');
    await store.putPending('s', T2, 'two');
    await store.setTags('s', { 'rotator:x': 'y' });
    await store.promote('s', T2);
    const copy = await store.read('s');
    expect(real.reads).toBe(1);
    expect(stages(copy)).toEqual(stages(await real.read('s')));
    expect(stages(copy)).toEqual({ [T1]: [PREVIOUS], [T2]: [CURRENT] });
    expect(copy?.tags).toEqual({ 'rotator:x': 'y' });
  });

  it('reads a secret once when many look at it at the same moment', async () => {
    const real = counted(memoryStore());
    await real.create('s', T1, 'one');
    real.reads = 0;
    const store = cachedStore(real, Date.now);
    const copies = await Promise.all(Array.from({ length: 20 }, () => store.read('s')));
    expect(real.reads).toBe(1);
    expect(copies.every((c) => c?.versions[0]?.value === 'one')).toBe(true);
  });

  it('keeps a write made while a read was on its way, instead of the answer the read brings back', async () => {
    const real = counted(memoryStore());
    await real.create('s', T1, 'one');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = {
      ...real,
      read: async (id: string, o?: Parameters<SecretStore['read']>[1]) => {
        const answer = await real.read(id, o);
        await held;
        return answer;
      },
    };
    const store = cachedStore(slow, Date.now);
    const reading = store.read('s', { fresh: true });
    await store.setTags('s', { 'rotator:x': 'y' });
    release();
    expect((await reading)?.tags).toEqual({});
    expect((await store.read('s'))?.tags).toEqual({ 'rotator:x': 'y' });
  });

  it('forgets the copy when another writer got there first, or a write failed', async () => {
    const real = counted(memoryStore());
    await real.create('s', T1, 'one');
    const store = cachedStore(real, Date.now);
    await store.read('s');
    await real.putPending('s', T2, 'theirs');
    expect(await store.putPending('s', T2, 'mine')).toBe('token-conflict');
    expect((await store.read('s'))?.versions.find((v) => v.versionId === T2)?.value).toBe('theirs');
    expect(real.reads).toBe(2);
    const failing = { ...real, setTags: () => Promise.reject(new Error('throttled')) };
    const other = cachedStore(failing, Date.now);
    await other.read('s');
    await expect(other.setTags('s', { a: 'b' })).rejects.toThrow('throttled');
    await other.read('s');
    expect(real.reads).toBe(4);
  });

  it('fresh() sees another process’s change and drops the copy; an unchanged secret costs one look', async () => {
    const real = counted(memoryStore());
    await real.create('s', T1, 'one');
    const store = cachedStore(real, Date.now);
    await store.read('s');
    expect(await store.fresh('s')).toBe(true);
    await real.putPending('s', T3, 'someone else');
    expect(await store.fresh('s')).toBe(false);
    expect((await store.read('s'))?.versions.some((v) => v.stages.includes(PENDING))).toBe(true);
  });

  it('a read that asks for a value the copy skipped goes to the store', async () => {
    const real = counted(memoryStore());
    await real.create('s', T1, 'one');
    const skipping: SecretStore = {
      ...real,
      read: async (id, o) => {
        real.reads++;
        const found = await real.read(id);
        return found && o?.wantValue
          ? {
              ...found,
              versions: found.versions.map((v) =>
                o.wantValue!(v, found.tags)
                  ? v
                  : { versionId: v.versionId, stages: v.stages, createdAtMs: 0, skipped: true },
              ),
            }
          : found;
      },
    };
    const store = cachedStore(skipping, Date.now);
    expect((await store.read('s', { wantValue: () => false }))?.versions[0]?.skipped).toBe(true);
    const before = real.reads;
    expect((await store.read('s'))?.versions[0]?.value).toBe('one');
    expect(real.reads).toBeGreaterThan(before);
  });

  it('lets a read of a swept secret go on once the sweep told of it, not after the whole walk', async () => {
    const real = counted(memoryStore());
    await real.create('a', T1, 'one');
    await real.create('b', T2, 'two');
    const [a, b] = [(await real.read('a'))!, (await real.read('b'))!];
    real.reads = 0;
    let release: () => void = () => undefined;
    const rest = new Promise<void>((resolve) => (release = resolve));
    const sweep: SecretStore['sweep'] = async (_ids, settled) => {
      settled?.('a', a);
      await rest; // the walk's later pages
      settled?.('b', b);
      return new Map([
        ['a', a],
        ['b', b],
      ]);
    };
    const store = cachedStore({ ...real, sweep }, Date.now);
    const done = store.sweep!(['a', 'b']);
    const read: string[] = [];
    const gotA = store.read('a').then((s) => (read.push('a'), s));
    const gotB = store.read('b').then((s) => (read.push('b'), s));
    // In-memory stores answer within a few turns of the event loop: twenty is plenty, on any machine.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(read).toEqual(['a']);
    release();
    expect((await gotA)?.versions[0]?.value).toBe('one');
    expect((await gotB)?.versions[0]?.value).toBe('two');
    await done;
    // Both from the sweep's copies: no read of the store.
    expect(real.reads).toBe(0);
    expect(store.confirmed('a')).toBe(false);
  });

  it('a copy from a sweep is not confirmed: fresh() drops it so the next look reads the store', async () => {
    const real = memoryStore();
    await real.create('s', T1, 'one');
    const stale = (await real.read('s'))!;
    const store = cachedStore({ ...real, sweep: () => Promise.resolve(new Map([['s', stale]])) }, Date.now);
    await store.sweep!(['s']);
    expect(store.confirmed('s')).toBe(false);
    expect(await store.fresh('s')).toBe(false);
    expect(store.confirmed('s')).toBe(true);
  });
});

describe('AccountLimiter', () => {
  it('holds requests under the limit, halves it on 429, and climbs back after calm answers', async () => {
    const limiter = new AccountLimiter(4);
    let inFlight = 0;
    let peak = 0;
    const call = (status: number) =>
      limiter.run(
        async () => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
          return status;
        },
        (s) => s,
      );
    await Promise.all(Array.from({ length: 12 }, () => call(200)));
    expect(peak).toBe(4);
    await call(429);
    expect(limiter.current).toBe(2);
    peak = 0;
    await Promise.all(Array.from({ length: 8 }, () => call(200)));
    expect(peak).toBeLessThanOrEqual(3);
    for (let i = 0; i < 20; i++) await call(200);
    expect(limiter.current).toBe(4);
  });

  it('gives up waiting when the request is aborted', async () => {
    const limiter = new AccountLimiter(1);
    let release!: () => void;
    const first = limiter.run(
      () => new Promise<number>((r) => (release = () => r(200))),
      (s) => s,
    );
    const controller = new AbortController();
    const second = limiter.run(
      () => Promise.resolve(200),
      (s) => s,
      controller.signal,
    );
    controller.abort(new Error('deadline'));
    await expect(second).rejects.toThrow('deadline');
    release();
    await first;
  });
});

describe('KeyLists', () => {
  const key = (sid: string): TwilioKey => ({ sid, friendlyName: null, createdAtMs: 0 });
  function fake(initial: string[]) {
    const keys = initial.map(key);
    let lists = 0;
    const api: TwilioKeys = {
      list: () => (lists++, Promise.resolve(keys.map((k) => ({ ...k })))),
      create: () => {
        const made = { ...key(`SK${String(keys.length).padStart(32, '0')}`), secret: 'x' };
        keys.push(made);
        return Promise.resolve(made);
      },
      fetchPolicy: () => Promise.resolve(null),
      remove: (sid) => {
        keys.splice(
          keys.findIndex((k) => k.sid === sid),
          1,
        );
        return Promise.resolve('deleted');
      },
    };
    return { api, lists: () => lists };
  }

  it('lists an account once per run and keeps its own creations and deletions in the list', async () => {
    const lists = new KeyLists();
    const twilio = fake(['SK1', 'SK2']);
    const a = lists.around('AC1', twilio.api);
    const b = lists.around('AC1', twilio.api);
    expect((await a.list()).map((k) => k.sid)).toEqual(['SK1', 'SK2']);
    const made = await b.create({ friendlyName: 'n' });
    await a.remove('SK1');
    expect((await b.list()).map((k) => k.sid)).toEqual(['SK2', made.sid]);
    expect(twilio.lists()).toBe(1);
    expect(JSON.stringify(await a.list())).not.toContain('"secret"');
  });

  it('lists again after a failed change', async () => {
    const lists = new KeyLists();
    const twilio = fake(['SK1']);
    const a = lists.around('AC1', { ...twilio.api, remove: () => Promise.reject(new Error('503')) });
    await a.list();
    await expect(a.remove('SK1')).rejects.toThrow('503');
    await a.list();
    expect(twilio.lists()).toBe(2);
  });
});
