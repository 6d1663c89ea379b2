import { inspect } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { cachedStore } from '../../src/adapters/secrets/cached-store.js';
import { memoryStore } from '../../src/adapters/secrets/memory-store.js';
import type { RotatorConfig, TargetConfig } from '../../src/config/types.js';
import type { SecretStore } from '../../src/core/ports.js';
import type { Runtime } from '../../src/core/runtime.js';
import { createRunScope } from '../../src/engine/scope.js';

/** What other targets' secrets on an account hold, looked at once for many callers, never staler than asked. */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const AC = `AC${'1'.repeat(32)}`;
const sid = (n: number) => `SK${n.toString(16).padStart(32, '0')}`;
const token = (n: number) => n.toString(16).padStart(32, '0');

async function world(count: number, options: { cached?: boolean } = {}) {
  const real = memoryStore();
  let reads = 0;
  let gate: Promise<void> | undefined;
  const store: SecretStore = {
    ...real,
    read: async (id, options) => {
      reads++;
      const answer = await real.read(id, options);
      await gate;
      return answer;
    },
  };
  const targets = Array.from({ length: count }, (_, i) => ({
    name: `app-${i}`,
    kind: 'api-key',
    accountSid: AC,
    secret: { store: 'file', secretId: `app-${i}` },
    admin: { store: 'file', secretId: 'admin' },
  })) as unknown as TargetConfig[];
  for (const [i, t] of targets.entries()) {
    const value = JSON.stringify({ accountSid: AC, apiKeySid: sid(i), apiKeySecret: `kept-nowhere-${i}` });
    await real.create(t.secret.secretId, token(i + 1), value);
  }
  const config = { targets, fleets: [] } as unknown as RotatorConfig;
  // cached: the run's copy of each secret (src/wiring.ts), checked by its labels before a fresh look uses it.
  const cached = options.cached ? cachedStore(store, () => Date.now()) : undefined;
  const runtime = (cached
    ? { store: () => cached, fresh: (t: TargetConfig) => cached.fresh(t.secret.secretId) }
    : { store: () => store }) as unknown as Runtime;
  const scope = createRunScope(config, runtime);
  return {
    real,
    targets,
    scope,
    reads: () => reads,
    hold: () => {
      let release: () => void = () => undefined;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

describe('keys held elsewhere', () => {
  it("tells each target the keys the account's other secrets hold, and its own current one", async () => {
    const w = await world(3);
    const held = await w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    expect([...held]).toEqual([
      [sid(0), 'app-0'],
      [sid(1), 'app-1'],
      [sid(2), 'app-2'],
    ]);
    // Not fresh: a look that may predate the caller's decision; its own secret is left out.
    expect((await w.scope.heldElsewhere!(w.targets[0]!)).has(sid(0))).toBe(false);
  });

  it('serves fresh callers that ask at the same moment with one look, not one per caller', async () => {
    const w = await world(30);
    const release = w.hold();
    const asked = w.targets.map((t) => w.scope.heldElsewhere!(t, { fresh: true }));
    release();
    const answers = await Promise.all(asked);
    // The first caller's look, then one look shared by the 29 that asked while it ran: 60 reads, not 30 × 29.
    expect(w.reads()).toBe(60);
    expect(answers.every((held, i) => held.size === 30 && held.get(sid(i)) === `app-${i}`)).toBe(true);
  });

  it('shows a fresh caller a write made after a look under way began', async () => {
    const w = await world(3);
    const release = w.hold();
    const early = w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    await w.real.putCurrent('app-2', token(99), JSON.stringify({ accountSid: AC, apiKeySid: sid(99) }));
    const late = w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    release();
    await early;
    expect((await late).get(sid(99))).toBe('app-2');
  });

  it('serves the deletions parked in a run with one look, once the run has nothing else to do', async () => {
    const w = await world(30);
    // Six targets of the 30 on the account delete, four at work at once: one look, not one per four.
    const deleting = w.targets.slice(0, 6);
    const answers = await w.scope.runTargets(deleting, 4, (t) => w.scope.heldElsewhere!(t, { fresh: true }));
    expect(w.reads()).toBe(30);
    expect(answers.every((held, i) => held.size === 30 && held.get(sid(i)) === `app-${i}`)).toBe(true);
  });

  it('gives a waiting target its place: never more than the pool size at work, every target started', async () => {
    const w = await world(30);
    let working = 0;
    let most = 0;
    const asked: number[] = [];
    const work = async () => {
      most = Math.max(most, ++working);
      await new Promise((resolve) => setTimeout(resolve, 1));
      working--;
    };
    await w.scope.runTargets(w.targets.slice(0, 10), 3, async (t) => {
      await work();
      asked.push(w.reads());
      await w.scope.heldElsewhere!(t, { fresh: true });
      await work();
    });
    expect(most).toBe(3);
    // Every one of the ten asked before any read of a look: they waited together, not three by three.
    expect(asked).toEqual(Array.from({ length: 10 }, () => 0));
    expect(w.reads()).toBe(30);
  });

  it('starts the look once enough deletions wait, while other targets still work', async () => {
    const w = await world(10);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const run = w.scope.runTargets(w.targets, 2, async (t) => {
      // The first target works on (the gate below) while the others ask for fresh looks.
      if (t === w.targets[0]) return held;
      await w.scope.heldElsewhere!(t, { fresh: true });
    });
    // Five waiting callers on ten secrets: two reads per caller, and the look begins.
    await expect.poll(() => w.reads()).toBe(10);
    release();
    await run;
    // The four that asked after it began shared a second look, when nothing else was left to do.
    expect(w.reads()).toBe(20);
  });

  it('gives a target waiting for a look that need not be fresh its place, and makes that look once', async () => {
    const w = await world(6);
    const release = w.hold();
    const started: string[] = [];
    const run = w.scope.runTargets(w.targets, 2, async (t) => {
      started.push(t.name);
      // The first two ask while every read is held: the others start meanwhile and ask the same look.
      return w.scope.heldElsewhere!(t);
    });
    await expect.poll(() => started.length).toBe(6);
    expect(w.reads()).toBe(6);
    release();
    const answers = await run;
    expect(w.reads()).toBe(6);
    // Not fresh: each sees the other five secrets' keys, its own left out.
    expect(answers.every((held, i) => held.size === 5 && !held.has(sid(i)) && held.has(sid((i + 1) % 6)))).toBe(true);
  });

  it('lets at most four targets per place wait parked for that look, so a long look starts no hundreds', async () => {
    const w = await world(10);
    const release = w.hold();
    const started: string[] = [];
    const run = w.scope.runTargets(w.targets, 1, async (t) => {
      started.push(t.name);
      return w.scope.heldElsewhere!(t);
    });
    // Four parked, the fifth keeps its place while it waits: nothing else starts until the look answers.
    await expect.poll(() => started.length).toBe(5);
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(started).toHaveLength(5);
    release();
    await run;
    expect(started).toHaveLength(10);
    expect(w.reads()).toBe(10);
  });

  it('names a key its own secret made current while the caller waited, so it is never deleted', async () => {
    const w = await world(3, { cached: true });
    // The run has read app-0's secret; then a person puts key 99 back as its current value.
    await w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    const unchanged = await w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    expect(unchanged.get(sid(0))).toBe('app-0');
    await w.real.putCurrent('app-0', token(99), JSON.stringify({ accountSid: AC, apiKeySid: sid(99) }));
    const held = await w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    expect(held.get(sid(99))).toBe('app-0');
    expect(held.get(sid(1))).toBe('app-1');
  });

  it("names its own current key when another caller's look saw the change first", async () => {
    const w = await world(3, { cached: true });
    await w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    // A person puts key 99 back as app-0's current value; app-1's look refreshes the run's copy of it.
    await w.real.putCurrent('app-0', token(99), JSON.stringify({ accountSid: AC, apiKeySid: sid(99) }));
    await w.scope.heldElsewhere!(w.targets[1]!, { fresh: true });
    const held = await w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    expect(held.get(sid(99))).toBe('app-0');
  });

  it('names a shared key after the first other holder in configuration order, its own only when current', async () => {
    const w = await world(3);
    // app-0 moves on to key 50 (key 0 stays its previous version); app-2 now also holds app-1's key.
    await w.real.putCurrent('app-0', token(50), JSON.stringify({ accountSid: AC, apiKeySid: sid(50) }));
    await w.real.putCurrent('app-2', token(51), JSON.stringify({ accountSid: AC, apiKeySid: sid(1) }));
    const [a0, a1, fresh0, fresh1] = await Promise.all([
      w.scope.heldElsewhere!(w.targets[0]!),
      w.scope.heldElsewhere!(w.targets[1]!),
      w.scope.heldElsewhere!(w.targets[0]!, { fresh: true }),
      w.scope.heldElsewhere!(w.targets[1]!, { fresh: true }),
    ]);
    expect(Object.fromEntries(a0)).toEqual({ [sid(1)]: 'app-1', [sid(2)]: 'app-2' });
    expect(Object.fromEntries(a1)).toEqual({
      [sid(50)]: 'app-0',
      [sid(0)]: 'app-0',
      [sid(1)]: 'app-2',
      [sid(2)]: 'app-2',
    });
    // Fresh: its own AWSCURRENT key is named (never deleted on an older decision), its previous one is not.
    expect(fresh0.get(sid(50))).toBe('app-0');
    expect(fresh0.has(sid(0))).toBe(false);
    expect(fresh1.get(sid(1))).toBe('app-1');
    expect(fresh1.get(sid(0))).toBe('app-0');
    // Lookups and the whole answer agree.
    for (const held of [a0, a1, fresh0, fresh1]) {
      for (const [key, name] of held) expect(held.get(key)).toBe(name);
      expect(held.size).toBe([...held.keys()].length);
    }
  });

  it('keeps no secret value in what it answers: the SIDs each secret holds, by target', async () => {
    const w = await world(3, { cached: true });
    const held = await w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    expect(held.get(sid(1))).toBe('app-1');
    // Everything the answer reaches (a parked target keeps it until its deletion).
    expect(inspect(held, { depth: Infinity, showHidden: true })).not.toContain('kept-nowhere');
  });

  it('lets go of each secret it read once that read is done, while the rest of the look goes on', async () => {
    const w = await world(12);
    // The last secret's read waits until released; every other read's answer is watched.
    const last = w.targets.at(-1)!.secret.secretId;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const answers: WeakRef<object>[] = [];
    const { real } = w;
    const reading = createRunScope(
      { targets: w.targets, fleets: [] } as unknown as RotatorConfig,
      {
        store: () => ({
          ...real,
          read: async (id: string, options?: object) => {
            const answer = await real.read(id, options);
            if (id === last) await held;
            else if (answer) answers.push(new WeakRef(answer));
            return answer;
          },
        }),
      } as unknown as Runtime,
    );
    const look = reading.heldElsewhere!(w.targets[0]!, { fresh: true });
    while (answers.length < w.targets.length - 1) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 0));
    gc();
    // A look of a thousand secrets lasts seconds: copies kept till its end outlive the young generation.
    expect(answers.filter((a) => a.deref() !== undefined)).toHaveLength(0);
    release();
    expect((await look).get(sid(5))).toBe('app-5');
  });

  it('reads nothing for the only secret on an account: its step checked its labels right before', async () => {
    const w = await world(1);
    expect((await w.scope.heldElsewhere!(w.targets[0]!, { fresh: true })).size).toBe(0);
    expect(w.reads()).toBe(0);
  });
});
