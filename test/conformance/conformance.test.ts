import { describe, expect, it } from 'vitest';
import type { StoreName } from '../../src/config/types.js';
import type { SecretStore } from '../../src/core/ports.js';
import type { Runtime } from '../../src/core/runtime.js';
import type { RotationEventName } from '../../src/credentials/kind.js';
import { kindOf } from '../../src/credentials/registry.js';
import { audit } from '../../src/engine/audit.js';
import { abort, confirm, rotate, status } from '../../src/engine/commands.js';
import { rotateNow } from '../../src/engine/emergency.js';
import { rotationStep } from '../../src/engine/protocol.js';
import { FIXTURES, type KindWorld } from './kinds.js';

/**
 * The kind conformance suite: every registered kind, the toy counter kind of test/ included, passes
 * the same commands through the engine's drivers — rotate, the dry run (no mutating call), status,
 * confirm, rotate --now, audit where the kind offers it, Secrets Manager's protocol, and a crash before
 * and after every mutating call of a rotation. In-memory worlds; the kinds' own suites (test/crash,
 * test/race, test/lambda) drive the built-in kinds through real processes and the emulators.
 */

/** Calls that change something at a provider or in a store; everything else only reads. */
const MUTATING = new Set([
  'reserve',
  'create',
  'putCurrent',
  'putPending',
  'promote',
  'abandonPending',
  'setTags',
  'remove',
  'createSecondary',
  'deleteSecondary',
  'issue',
  'revoke',
]);

/**
 * The runtime with every mutating call counted, and from call number `crashAt` on, dead: that call
 * fails before it starts ("before") or after it took effect ("after"), and so does every later one,
 * as if the process had been killed there.
 */
function instrument(real: Runtime, crash?: { at: number; when: 'before' | 'after' }) {
  const state = { calls: 0, dead: false };
  const killed = () => new Error('killed (conformance crash point)');
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value: unknown = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function' || !MUTATING.has(String(prop))) return value;
        return async (...args: unknown[]) => {
          if (state.dead) throw killed();
          const n = ++state.calls;
          if (crash?.at === n && crash.when === 'before') {
            state.dead = true;
            throw killed();
          }
          const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          if (crash?.at === n) {
            state.dead = true;
            throw killed();
          }
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

/**
 * The store as Secrets Manager's RotateSecret leaves it: version `token` labelled AWSPENDING with no
 * value, until a write fills it.
 */
function rotateSecret(store: SecretStore, token: string, atMs: number): SecretStore {
  const read: SecretStore['read'] = async (id, options) => {
    const secret = await store.read(id, options);
    if (!secret || secret.allVersionIds.includes(token)) return secret;
    const versions = secret.versions.map((v) => ({ ...v, stages: v.stages.filter((x) => x !== 'AWSPENDING') }));
    const placeholder = { versionId: token, stages: ['AWSPENDING'], createdAtMs: atMs };
    return { ...secret, versions: [...versions, placeholder], allVersionIds: [...secret.allVersionIds, token] };
  };
  return new Proxy(store, { get: (obj, prop) => (prop === 'read' ? read : Reflect.get(obj, prop)) });
}

const one = async (w: KindWorld, runtime: Runtime, options: Parameters<typeof rotate>[2] = {}) => {
  const [result] = await rotate(w.config, runtime, { targets: [w.target], ...options });
  return result!;
};

const currentRef = async (w: KindWorld) => (await status(w.config, w.runtime, [w.target]))[0]!.current;

/** A forced rotation through its gate: rotate --force, confirm, rotate. Errors are results, as in a crash. */
async function forcedRotation(w: KindWorld, runtime: Runtime): Promise<void> {
  await one(w, runtime, { force: true });
  await confirm(w.config, runtime, w.target).catch(() => undefined);
  await one(w, runtime);
}

describe.each(FIXTURES)('kind $kind', (fixture) => {
  it('rotates: a forced rotation waits at its gate until confirmed, then is done with a new credential', async () => {
    const w = await fixture.world();
    expect((await one(w, w.runtime)).kind).toBe('done');
    const before = await currentRef(w);
    expect((await one(w, w.runtime, { force: true })).kind).toBe('waiting');
    const row = (await status(w.config, w.runtime, [w.target]))[0]!;
    expect(row).toMatchObject({ kind: fixture.kind, step: 'waiting', attention: false });
    const confirmed = await confirm(w.config, w.runtime, w.target);
    expect(confirmed.target).toBe(w.target);
    expect((await one(w, w.runtime)).kind).toBe('done');
    const after = await currentRef(w);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(await w.live()).toEqual([after]);
  });

  it('dry run plans a forced rotation and makes no mutating call', async () => {
    const w = await fixture.world();
    await one(w, w.runtime);
    const { runtime, state } = instrument(w.runtime);
    const result = await one(w, runtime, { dryRun: true, force: true });
    expect(result.kind).toBe('planned');
    expect(result.kind === 'planned' && result.plan.length).toBeGreaterThan(0);
    expect(state.calls).toBe(0);
  });

  it('status reads without writing and names the next step', async () => {
    const w = await fixture.world();
    await one(w, w.runtime);
    const { runtime, state } = instrument(w.runtime);
    const [row] = await status(w.config, runtime, [w.target]);
    expect(row).toMatchObject({ target: w.target, kind: fixture.kind, step: 'done', attention: false });
    expect(row!.current).toMatch(kindOf({ kind: fixture.kind }).words.ref);
    expect(state.calls).toBe(0);
  });

  it('confirm refuses when nothing waits, and writes nothing', async () => {
    const w = await fixture.world();
    await one(w, w.runtime);
    const { runtime, state } = instrument(w.runtime);
    await expect(confirm(w.config, runtime, w.target)).rejects.toThrow(/nothing waits for a confirmation/);
    expect(state.calls).toBe(0);
  });

  it('rotate --now finishes: the credential it replaced is gone', async () => {
    const w = await fixture.world();
    await one(w, w.runtime);
    const leaked = await currentRef(w);
    const sleep = (ms: number) => Promise.resolve(w.advance(ms));
    const now = await rotateNow(w.config, w.runtime, w.target, { overlapMs: 5000, sleep });
    expect(now.finished).toBe(true);
    expect(await w.live()).not.toContain(leaked);
  });

  it.runIf(kindOf({ kind: fixture.kind }).capabilities.audit !== undefined)(
    'audit reads the account whole',
    async () => {
      const w = await fixture.world();
      await one(w, w.runtime);
      const report = await audit(w.config, w.runtime, { olderThanDays: 0 });
      expect(report.accounts.flatMap((a) => a.errors)).toEqual([]);
    },
  );

  it.runIf(kindOf({ kind: fixture.kind }).capabilities.audit === undefined)(
    'audit leaves a kind without the capability out, assuming no admin credential',
    async () => {
      const w = await fixture.world();
      await one(w, w.runtime);
      const report = await audit(w.config, w.runtime, { olderThanDays: 0 });
      expect(report.accounts).toEqual([]);
    },
  );

  it.runIf(kindOf({ kind: fixture.kind }).capabilities.abort !== undefined)(
    'abort backs out a rotation waiting at its gate',
    async () => {
      const w = await fixture.world();
      await one(w, w.runtime);
      const before = await currentRef(w);
      await one(w, w.runtime, { force: true });
      await abort(w.config, w.runtime, w.target);
      expect((await one(w, w.runtime)).kind).toBe('done');
      expect(await currentRef(w)).toBe(before);
    },
  );

  it("Secrets Manager's four events rotate to the event's token; the gate still decides", async () => {
    const w = await fixture.world();
    await one(w, w.runtime);
    const target = w.config.targets.find((t) => t.name === w.target)!;
    const token = 'c0ffee00-0000-4000-8000-000000000001';
    const runtime = { ...w.runtime, store: (n: StoreName) => rotateSecret(w.runtime.store(n), token, w.runtime.now()) };
    const event = (Step: RotationEventName) => ({ Step, SecretId: target.secret.secretId, ClientRequestToken: token });
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      let done = await rotationStep(event(step), w.config, runtime).catch((err: Error) => err);
      // A kind that promotes only past the gate (an Auth Token) fails finishSecret until it passes.
      if (done instanceof Error && step === 'finishSecret') {
        await confirm(w.config, runtime, w.target);
        done = await rotationStep(event(step), w.config, runtime).catch((err: Error) => err);
      }
      expect(done, step).not.toBeInstanceOf(Error);
      // A repeated event (Secrets Manager retries) finds its work done.
      await expect(rotationStep(event(step), w.config, runtime)).resolves.toBeTypeOf('string');
    }
    expect((await status(w.config, w.runtime, [w.target]))[0]!.currentVersionId).toBe(token);
    await confirm(w.config, w.runtime, w.target).catch(() => undefined);
    let result = await one(w, w.runtime);
    for (let pass = 0; pass < 3 && result.kind !== 'done'; pass++) {
      w.advance(60_000);
      result = await one(w, w.runtime);
    }
    expect(result.kind).toBe('done');
    expect(await w.live()).toEqual([await currentRef(w)]);
  });

  it('survives a kill before and after every mutating call: done, or what is in doubt kept and said', async () => {
    const counted = await fixture.world();
    await one(counted, counted.runtime);
    const { runtime, state } = instrument(counted.runtime);
    await forcedRotation(counted, runtime);
    expect(state.calls).toBeGreaterThan(2);
    for (let at = 1; at <= state.calls; at++) {
      for (const when of ['before', 'after'] as const) {
        const w = await fixture.world();
        await one(w, w.runtime);
        await forcedRotation(w, instrument(w.runtime, { at, when }).runtime);
        // The next runs, alive, bring it home: a confirmation where the gate waits.
        let result = await one(w, w.runtime);
        for (let pass = 0; pass < 4 && result.kind !== 'done'; pass++) {
          // The next run comes later: a creation announced by the killed run is no longer in flight.
          w.advance(10 * 60_000);
          await confirm(w.config, w.runtime, w.target).catch(() => undefined);
          result = await one(w, w.runtime);
        }
        const where = `killed ${when} mutating call ${at}`;
        if (result.kind !== 'done') {
          // A credential the rotator cannot prove its own is kept and a person told: allowed, never silent.
          const said = JSON.stringify(result);
          expect(['failed', 'stuck'], `${where}: ${said}`).toContain(result.kind);
          expect(said, where).toMatch(/kept/);
        }
        const current = await currentRef(w);
        expect(await w.live(), where).toContain(current);
        expect((await w.live()).length, where).toBeLessThanOrEqual(2);
      }
    }
  });
});
