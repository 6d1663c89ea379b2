import { describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/core/runtime.js';
import { TAG_PAUSED } from '../../src/core/rollback.js';
import { kindOf } from '../../src/credentials/registry.js';
import { rotate, status } from '../../src/engine/commands.js';
import { rollback } from '../../src/engine/rollback.js';
import { UsageError } from '../../src/errors.js';
import { FIXTURES, type KindWorld } from './kinds.js';

/**
 * `rollback` over every registered kind (the conformance suite's worlds, ./kinds.ts): a kind whose
 * rollback acts puts the previous credential back during the overlap, revokes the new one, and leaves
 * the target paused, also when killed before or after any of its changing calls and run again; a kind
 * whose rollback only refuses, or that has none, changes nothing. A new kind joins by its FIXTURES line.
 */

const MUTATING = new Set(['promote', 'setTags', 'remove', 'revoke', 'deleteSecondary', 'abandonPending']);

/** The runtime with its changing calls counted; from call `at` on every one fails, as after a kill. */
function killAt(real: Runtime, at: number, when: 'before' | 'after') {
  const state = { calls: 0, dead: false };
  const killed = () => new Error('killed (rollback crash point)');
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value: unknown = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function' || !MUTATING.has(String(prop))) return value;
        return async (...args: unknown[]) => {
          if (state.dead) throw killed();
          const n = ++state.calls;
          if (n === at && when === 'before') state.dead = true;
          if (state.dead) throw killed();
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          if (n === at) state.dead = true;
          if (state.dead) throw killed();
          return result;
        };
      },
    });
  const runtime: Runtime = {
    ...real,
    store: (name) => wrap(real.store(name)),
    keys: (admin, target) => wrap(real.keys(admin, target)),
    authTokens: (admin, target) => wrap(real.authTokens(admin, target)),
    ports: Object.fromEntries(Object.entries(real.ports ?? {}).map(([k, v]) => [k, wrap(v as object)])),
  };
  return { runtime, state };
}

const one = async (w: KindWorld, options: Parameters<typeof rotate>[2] = {}) =>
  (await rotate(w.config, w.runtime, { targets: [w.target], ...options }))[0]!;
const row = async (w: KindWorld) => (await status(w.config, w.runtime, [w.target]))[0]!;

/** A rotation in its overlap: the first credential, then a forced rotation waiting at its gate. */
async function overlap(w: KindWorld): Promise<{ old: string; made: string | undefined }> {
  await one(w);
  const old = (await row(w)).current!;
  expect((await one(w, { force: true })).kind).toBe('waiting');
  const made = (await w.live()).find((ref) => ref !== old);
  return { old, made };
}

const acting = FIXTURES.filter((f) => kindOf({ kind: f.kind }).capabilities.rollback?.act !== undefined);
const refusing = FIXTURES.filter((f) => !acting.includes(f));

describe.each(acting)('rollback of kind $kind', (fixture) => {
  it('puts the previous credential back, revokes the new one and pauses the target', async () => {
    const w = await fixture.world();
    const { old, made } = await overlap(w);
    expect(made).toBeDefined();
    const report = await rollback(w.config, w.runtime, w.target);
    expect(report).toMatchObject({ state: 'rolled-back', to: { ref: old }, from: { ref: made } });
    expect((await row(w)).current).toBe(old);
    expect(await w.live()).toEqual([old]);
    expect(await one(w)).toMatchObject({ kind: 'deferred', reason: 'paused' });
  });

  it('finishes on a rerun after a kill before or after each changing call', async () => {
    const clean = await fixture.world();
    await overlap(clean);
    const counted = killAt(clean.runtime, Number.MAX_SAFE_INTEGER, 'after');
    await rollback(clean.config, counted.runtime, clean.target);
    expect(counted.state.calls).toBeGreaterThan(1);
    for (let at = 1; at <= counted.state.calls; at++)
      for (const when of ['before', 'after'] as const) {
        const w = await fixture.world();
        const { old } = await overlap(w);
        const where = `killed ${when} changing call #${at}`;
        const { runtime } = killAt(w.runtime, at, when);
        await expect(rollback(w.config, runtime, w.target), where).rejects.toThrow(/killed/);
        expect(await w.live(), `${where}: the current credential is alive`).toContain((await row(w)).current);
        await rollback(w.config, w.runtime, w.target);
        expect((await row(w)).current, where).toBe(old);
        expect(await w.live(), where).toEqual([old]);
      }
  });
});

describe.each(refusing)('rollback of kind $kind', (fixture) => {
  it('refuses during and after a rotation, changing nothing', async () => {
    const w = await fixture.world();
    await overlap(w);
    const store = w.runtime.store('aws');
    const before = JSON.stringify(await store.read(w.config.targets[0]!.secret.secretId));
    await expect(rollback(w.config, w.runtime, w.target)).rejects.toBeInstanceOf(UsageError);
    expect(JSON.stringify(await store.read(w.config.targets[0]!.secret.secretId))).toBe(before);
    expect((await store.read(w.config.targets[0]!.secret.secretId))?.tags[TAG_PAUSED]).toBeUndefined();
  });
});
