import { describe, expect, it } from 'vitest';
import { CURRENT, PENDING } from '../../src/core/labels.js';
import type { TargetResult } from '../../src/core/outcome.js';
import type { AuthTokens, SecretStore, StoredSecret } from '../../src/core/ports.js';
import { TAG_PENDING_SINCE, TAG_SECONDARY_INTENT, TAG_UNSTORED } from '../../src/credentials/auth-token/observation.js';
import { tokenFingerprint } from '../../src/credentials/auth-token/shape.js';
import { abort, rotate } from '../../src/engine/commands.js';
import { RemoteError, UsageError } from '../../src/errors.js';
import { fakeTokenWorld, type FakeWorld } from '../support/fakes.js';

/**
 * The Auth Token rotator deletes or promotes only a secondary it can prove is this target's: one
 * whose value it holds, checked on Twilio right before it acts. A secondary whose value it does not
 * hold (someone else's, or its own whose creation answer was lost) is kept and reported, whatever
 * kills, failures, lost answers and people acting meanwhile. Over in-memory fakes (test/support/fakes.ts).
 */

const run = async (w: FakeWorld, options: Parameters<typeof rotate>[2] = {}): Promise<TargetResult> =>
  (await rotate(w.config, w.runtime, { targets: ['token'], ...options }))[0]!;
const steps = (r: TargetResult) => r.steps.map((s) => s.step);
const tags = async (w: FakeWorld) => (await w.store.read('twilio/token'))!.tags;
const token = async (w: FakeWorld, stage: string) => {
  const v = (await w.store.read('twilio/token'))?.versions.find((x) => x.stages.includes(stage));
  return v?.value ? (JSON.parse(v.value) as { authToken: string }).authToken : undefined;
};
const FOREIGN = 'someone-elses-secondary-token-000';
/** Past the creation window, when a run takes over an announcement whose run stopped. */
const pastWindow = (w: FakeWorld) => w.advance(2 * w.config.retry.budgetMs + 5000 + 1000);

/** The world's Auth Token API with `createSecondary` replaced. */
function createWith(w: FakeWorld, create: (real: AuthTokens) => ReturnType<AuthTokens['createSecondary']>): void {
  w.runtime = {
    ...w.runtime,
    authTokens: () => {
      const real = w.twilio.authTokens();
      return { ...real, createSecondary: () => create(real) };
    },
  };
}

/** The world's store with `read` wrapped: `hook` sees each read and may answer it instead. */
function readWith(
  w: FakeWorld,
  hook: (fresh: boolean, real: () => Promise<StoredSecret | undefined>) => Promise<StoredSecret | undefined>,
): void {
  const real = w.store;
  const store: SecretStore = Object.create(real) as SecretStore;
  store.read = (id, options) => hook(options?.fresh === true, () => real.read(id, options));
  w.runtime = { ...w.runtime, store: () => store };
}

describe('Auth Token: a secondary whose value the rotator does not hold is kept', () => {
  it('withdraws its announcement at once on a first-attempt 70002: a kill in the wait deletes nothing', async () => {
    const w = await fakeTokenWorld();
    w.twilio.secondary = FOREIGN;
    let freshReads = 0;
    readWith(w, (fresh, real) => {
      // Twilio answered 70002; the run dies in its settling wait, at its second look at the store.
      if (fresh && ++freshReads === 2) return Promise.reject(new Error('killed during the settling wait'));
      return real();
    });
    expect(await run(w, { force: true })).toMatchObject({ kind: 'failed' });
    expect(freshReads).toBe(2);
    expect((await tags(w))[TAG_SECONDARY_INTENT] ?? '').toBe('');
    w.runtime = { ...w.runtime, store: () => w.store };
    pastWindow(w);
    const later = await run(w, { force: true });
    expect(later).toMatchObject({ kind: 'failed', reason: 'foreign-secondary' });
    expect(w.twilio.secondary).toBe(FOREIGN);
    expect(w.twilio.writes).not.toContain('deleteSecondary');
  });

  it('keeps a secondary a person made after a create that failed with 5xx on every retry', async () => {
    const w = await fakeTokenWorld();
    w.twilio.failing = ['createSecondary'];
    expect(await run(w, { force: true })).toMatchObject({ kind: 'failed', step: 'start-rotation' });
    // The outcome is unknown: the announcement stays, so other runs wait out the creation window.
    expect((await tags(w))[TAG_SECONDARY_INTENT]).toMatch(/ /);
    w.twilio.secondary = FOREIGN;
    pastWindow(w);
    const r = await run(w, { force: true });
    expect(steps(r)).toEqual(['abandon-creation', 'start-rotation']);
    expect(r).toMatchObject({ kind: 'failed', reason: 'foreign-secondary' });
    expect(w.twilio.secondary).toBe(FOREIGN);
    expect(w.twilio.writes).not.toContain('deleteSecondary');
    // The report says a run of this rotator may have made it, and when, so a person can tell.
    expect(r.kind === 'failed' && r.error).toMatch(/may be this rotator's own, or someone else's/);
    expect(r.kind === 'failed' && r.error).toMatch(/if nobody else made a secondary on this account/);
  });

  it('keeps a secondary a person made within the hour after a create that never reached Twilio', async () => {
    const w = await fakeTokenWorld();
    let dropped = false;
    createWith(w, (real) => {
      if (dropped) return real.createSecondary();
      dropped = true;
      const err = new RemoteError(
        'twilio',
        'CreateSecondaryAuthToken',
        { retryable: true },
        'Twilio CreateSecondaryAuthToken failed: network error (ECONNRESET)',
      );
      return Promise.reject(err);
    });
    expect(await run(w, { force: true })).toMatchObject({ kind: 'failed', step: 'start-rotation' });
    w.advance(600_000);
    w.twilio.secondary = FOREIGN;
    const r = await run(w, { force: true });
    expect(r).toMatchObject({ kind: 'failed', reason: 'foreign-secondary' });
    expect(w.twilio.secondary).toBe(FOREIGN);
    expect(w.twilio.writes).not.toContain('deleteSecondary');
    // Once the person removes it, the next run rotates and forgets the record.
    w.twilio.secondary = undefined;
    expect(await run(w, { force: true })).toMatchObject({ kind: 'waiting' });
    expect((await tags(w))[TAG_UNSTORED] ?? '').toBe('');
  });

  it('calls a secondary met after a lost create answer likely its own; keeps it for --replace-secondary', async () => {
    const w = await fakeTokenWorld();
    createWith(w, async (real) => {
      // Twilio made the secondary, the answer was lost, the retry met it (what the adapter reports).
      const made = await real.createSecondary();
      return typeof made === 'object' ? 'exists-after-unknown' : made;
    });
    const lost = w.twilio.authTokens();
    const r = await run(w, { force: true });
    const made = w.twilio.secondary;
    expect(made).toBeDefined();
    expect(r).toMatchObject({ kind: 'failed', reason: 'foreign-secondary' });
    const error = r.kind === 'failed' ? r.error : '';
    expect(error).toMatch(/probably this rotator's own/);
    expect(error).toMatch(/rotate --target token --replace-secondary/);
    expect(error).not.toMatch(/find out whose/);
    expect((await tags(w))[TAG_SECONDARY_INTENT] ?? '').toBe('');
    expect((await tags(w))[TAG_UNSTORED]).toMatch(/^[0-9a-f]{32} \d{4}-/);
    // A plain rerun still keeps it, and still says whose it probably is.
    w.runtime = { ...w.runtime, authTokens: () => lost };
    const again = await run(w, { force: true });
    expect(again.kind === 'failed' && again.error).toMatch(/probably this rotator's own/);
    expect(w.twilio.secondary).toBe(made);
    expect(w.twilio.writes).not.toContain('deleteSecondary');
    const replaced = await run(w, { force: true, replaceSecondary: true });
    expect(replaced).toMatchObject({ kind: 'waiting' });
    expect(await token(w, PENDING)).toBe(w.twilio.secondary);
    expect((await tags(w))[TAG_UNSTORED] ?? '').toBe('');
  });

  it('refuses --replace-secondary when the secondary is the token AWSCURRENT serves, deleting nothing', async () => {
    const w = await fakeTokenWorld();
    // A rotation made by hand, left half-done: the stored token is the account's secondary.
    const served = w.twilio.primary;
    w.twilio.secondary = served;
    w.twilio.primary = 'the-new-primary-nobody-stored-0000';
    const r = await run(w, { force: true, replaceSecondary: true });
    expect(r).toMatchObject({ kind: 'stuck', on: [expect.stringMatching(/is the account's secondary/) as string] });
    expect(w.twilio.secondary).toBe(served);
    expect(w.twilio.writes).toEqual([]);
  });

  it('re-asks Twilio about AWSCURRENT right before a --replace-secondary deletion, and refuses', async () => {
    const w = await fakeTokenWorld();
    const served = w.twilio.primary;
    w.twilio.secondary = served;
    w.twilio.primary = 'the-new-primary-nobody-stored-0000';
    const real = w.twilio.tokenVerifier();
    let first = true;
    w.runtime = {
      ...w.runtime,
      tokenVerifier: () => ({
        check: (sid, t) => {
          // The run's first look is out of date: Twilio says otherwise when asked again.
          if (first && t === served) return ((first = false), Promise.resolve({ ok: true, primary: true }));
          return real.check(sid, t);
        },
      }),
    };
    const r = await run(w, { force: true, replaceSecondary: true });
    expect(r).toMatchObject({ kind: 'failed', step: 'start-rotation' });
    expect(r.kind === 'failed' && r.error).toMatch(/--replace-secondary refused: .*AWSCURRENT.*nothing was deleted/);
    expect(w.twilio.secondary).toBe(served);
    expect(w.twilio.writes).not.toContain('deleteSecondary');
  });
});

describe('Auth Token: irreversible steps re-read their facts', () => {
  it('does not promote a secondary swapped in while the gate probes ran', async () => {
    const w = await fakeTokenWorld({
      gate: { minOverlapSeconds: 0, probes: [{ url: 'http://consumer.internal/health', field: 'tokenRef' }] },
    });
    const old = w.twilio.primary;
    await run(w, { force: true });
    const ours = w.twilio.secondary!;
    const runtime = w.runtime;
    w.runtime = {
      ...runtime,
      probe: async (t, expect, pattern) => {
        // A person replaces the secondary in the Console while the consumers are asked.
        w.twilio.secondary = 'swapped-in-by-a-person-000000000';
        return runtime.probe(t, expect, pattern);
      },
    };
    w.reports = [tokenFingerprint(ours)];
    const r = await run(w);
    expect(r).toMatchObject({ kind: 'failed', step: 'promote' });
    expect(r.kind === 'failed' && r.error).toMatch(/stopped working right before its promotion.*Nothing was promoted/);
    expect(w.twilio.primary).toBe(old);
    expect(w.twilio.secondary).toBe('swapped-in-by-a-person-000000000');
    expect(await token(w, CURRENT)).toBe(old);
  });

  it('stands down, not stuck, when another run promoted the token after this run read the secret', async () => {
    const w = await fakeTokenWorld({ gate: { minOverlapSeconds: 0 } });
    const stale = await w.store.read('twilio/token');
    // Another run rotates the token all the way while this one holds its first read.
    await run(w, { force: true });
    expect(await run(w)).toMatchObject({ kind: 'done' });
    // What the run remembers (a cached copy, or the batched sweep's) is the old secret, until it
    // asks the store itself.
    let asked = false;
    readWith(w, (fresh, real) => {
      asked ||= fresh;
      return asked ? real() : Promise.resolve(stale);
    });
    const r = await run(w);
    expect(r).toMatchObject({
      kind: 'busy',
      reason: expect.stringContaining('another run promoted the Auth Token') as string,
    });
    // No "current token gone" alert either: the run's look is the store's present state.
    expect(r.seen?.goneAtStart).toBeUndefined();
  });
});

describe('Auth Token: abort', () => {
  it('after a promotion exits 2 (a usage error) and says the old token is already dead', async () => {
    const w = await fakeTokenWorld({ gate: { minOverlapSeconds: 0 } });
    const old = tokenFingerprint(w.twilio.primary);
    await run(w, { force: true });
    expect(await run(w)).toMatchObject({ kind: 'done' });
    const attempt = abort(w.config, w.runtime, 'token');
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(new RegExp(`the old token ${old} is already dead`));
    expect(await token(w, CURRENT)).toBe(w.twilio.primary);
  });

  it('racing a promotion: the token it authenticates with is refused, and it exits 2, not 1', async () => {
    const w = await fakeTokenWorld();
    await run(w, { force: true });
    w.runtime = {
      ...w.runtime,
      authTokens: () => ({
        ...w.twilio.authTokens(),
        deleteSecondary: () => {
          // A rotate run promotes the secondary just before abort deletes it: abort's token is dead.
          w.twilio.primary = w.twilio.secondary!;
          w.twilio.secondary = undefined;
          const refused = { status: 401, code: 20003, retryable: false };
          return Promise.reject(new RemoteError('twilio', 'DeleteSecondaryAuthToken', refused, 'HTTP 401'));
        },
      }),
    };
    const attempt = abort(w.config, w.runtime, 'token');
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(/is already dead on Twilio/);
    expect(await token(w, PENDING)).toBe(w.twilio.primary);
  });

  it('with no rotation ever made says there is nothing to abort', async () => {
    const w = await fakeTokenWorld();
    expect((await abort(w.config, w.runtime, 'token')).detail).toMatch(/nothing to abort/);
    expect((await tags(w))[TAG_PENDING_SINCE]).toBeUndefined();
  });
});
