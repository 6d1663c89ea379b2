import { describe, expect, it } from 'vitest';
import { CURRENT, PENDING, PREVIOUS } from '../../src/core/labels.js';
import type { TargetResult } from '../../src/core/outcome.js';
import { TAG_SECONDARY_INTENT, TAG_UNSTORED } from '../../src/credentials/auth-token/observation.js';
import { tokenFingerprint } from '../../src/credentials/auth-token/shape.js';
import { abort, rotate } from '../../src/engine/commands.js';
import { AC, fakeTokenWorld, type FakeWorld } from '../support/fakes.js';

/** The Auth Token flow's every step and outcome over in-memory fakes (the emulator suites do it over HTTP). */

const run = async (w: FakeWorld, options: Parameters<typeof rotate>[2] = {}): Promise<TargetResult> =>
  (await rotate(w.config, w.runtime, { targets: ['token'], ...options }))[0]!;
const steps = (r: TargetResult) => r.steps.map((s) => s.step);
const token = async (w: FakeWorld, stage: string, secretId = 'twilio/token') => {
  const v = (await w.store.read(secretId))?.versions.find((x) => x.stages.includes(stage));
  return v?.value ? (JSON.parse(v.value) as { authToken: string }).authToken : undefined;
};

describe('engine over fakes: the Auth Token flow', () => {
  it('has nothing to do while the token is young, after checking that it works', async () => {
    const w = await fakeTokenWorld();
    const r = await run(w);
    expect(r).toMatchObject({ kind: 'done', credential: 'auth-token', current: tokenFingerprint(w.twilio.primary) });
    expect(w.twilio.writes).toEqual([]);
  });

  it('creates a secondary, waits for the gate before promoting, promotes, then settles', async () => {
    const w = await fakeTokenWorld();
    const old = w.twilio.primary;
    const first = await run(w, { force: true });
    expect(steps(first)).toEqual(['start-rotation', 'mark-pending']);
    expect(first).toMatchObject({ kind: 'waiting', kept: tokenFingerprint(old) });
    const secondary = w.twilio.secondary!;
    expect(await token(w, PENDING)).toBe(secondary);
    expect(w.twilio.primary).toBe(old); // nothing promoted yet: every consumer still works
    w.advance(3_600_000);
    const second = await run(w);
    expect(steps(second)).toEqual(['promote', 'settle']);
    expect(second).toMatchObject({ kind: 'done', current: tokenFingerprint(secondary) });
    expect(w.twilio.primary).toBe(secondary);
    expect([await token(w, CURRENT), await token(w, PREVIOUS), await token(w, PENDING)]).toEqual([
      secondary,
      old,
      undefined,
    ]);
  });

  it('waits the propagation delay after promoting before it checks that the old token is refused', async () => {
    const w = await fakeTokenWorld({ propagationDelaySeconds: 60, gate: { minOverlapSeconds: 0 } });
    // With no overlap asked for, the gate is open at once: one run creates and promotes.
    const promoted = await run(w, { force: true });
    expect(steps(promoted)).toEqual(['start-rotation', 'mark-pending', 'promote']);
    expect(promoted).toMatchObject({
      kind: 'waiting',
      on: [expect.stringMatching(/propagation delay: 60 s to go/) as string],
    });
    w.advance(60_000);
    expect(steps(await run(w))).toEqual(['settle']);
  });

  it('promotes only once every probe reports the new token by its fingerprint', async () => {
    const w = await fakeTokenWorld({
      gate: { minOverlapSeconds: 0, probes: [{ url: 'http://consumer.internal/health', field: 'tokenRef' }] },
    });
    w.reports = [tokenFingerprint(w.twilio.primary)];
    await run(w, { force: true });
    expect(await run(w)).toMatchObject({
      kind: 'waiting',
      on: [expect.stringContaining('probe http://consumer.internal/health') as string],
    });
    expect(w.twilio.writes).not.toContain('promote');
    w.reports = [tokenFingerprint(w.twilio.secondary!)];
    expect(await run(w)).toMatchObject({ kind: 'done' });
    expect(w.twilio.writes).toContain('promote');
  });

  it('refuses to start while a secondary it did not create exists; --replace-secondary replaces it', async () => {
    const w = await fakeTokenWorld();
    w.twilio.secondary = 'someone-elses-secondary-token-000';
    const r = await run(w, { force: true });
    expect(r).toMatchObject({
      kind: 'failed',
      step: 'start-rotation',
      error: expect.stringContaining('--replace-secondary') as string,
    });
    expect(w.twilio.secondary).toBe('someone-elses-secondary-token-000');
    expect(await token(w, PENDING)).toBeUndefined();
    expect((await w.store.read('twilio/token'))!.tags[TAG_SECONDARY_INTENT]).toBe('');
    const replaced = await run(w, { force: true, replaceSecondary: true });
    expect(replaced).toMatchObject({ kind: 'waiting' });
    expect(w.twilio.secondary).not.toBe('someone-elses-secondary-token-000');
    expect(await token(w, PENDING)).toBe(w.twilio.secondary);
  });

  it('finishes a promotion Twilio made when the labels did not follow (a crash between the two)', async () => {
    const w = await fakeTokenWorld();
    await run(w, { force: true });
    w.advance(3_600_000);
    await w.twilio.authTokens().promote(); // the process died right after this call
    const r = await run(w);
    expect(steps(r)).toEqual(['finish-promotion', 'settle']);
    expect(await token(w, CURRENT)).toBe(w.twilio.primary);
  });

  it('keeps a secondary announced but never stored (a crash before the write): not provably its own', async () => {
    const w = await fakeTokenWorld();
    await w.store.setTags('twilio/token', {
      [TAG_SECONDARY_INTENT]: `${'d'.repeat(32)} ${new Date(w.now()).toISOString()} abcd1234`,
    });
    w.twilio.secondary = 'unreadable-orphan-secondary-0000';
    // Within the creation window the announcing run may still be storing its token: leave it be.
    expect(await run(w)).toMatchObject({
      kind: 'busy',
      reason: expect.stringContaining('being created by another run') as string,
    });
    expect(w.twilio.secondary).toBe('unreadable-orphan-secondary-0000');
    w.advance(2 * w.config.retry.budgetMs + 5000);
    // The same run writes the announcement off, then tries the creation again: only that tells
    // whether a secondary exists. One does; it is kept, and said to be maybe this rotator's own.
    const r = await run(w);
    expect(steps(r)).toEqual(['abandon-creation', 'start-rotation']);
    expect(r).toMatchObject({ kind: 'failed', reason: 'foreign-secondary' });
    const error = r.kind === 'failed' ? r.error : '';
    expect(error).toMatch(/may be this rotator's own, or someone else's: a run of rotation d{32} stopped/);
    expect(w.twilio.secondary).toBe('unreadable-orphan-secondary-0000');
    expect((await w.store.read('twilio/token'))!.tags[TAG_UNSTORED]).toMatch(/^d{32} /);
    expect((await w.store.read('twilio/token'))!.tags[TAG_SECONDARY_INTENT]).toBe('');
    // Every later run says the same, deleting nothing, until a person replaces it.
    expect(await run(w)).toMatchObject({ kind: 'failed', reason: 'foreign-secondary' });
    expect(w.twilio.writes).not.toContain('deleteSecondary');
    expect(await run(w, { replaceSecondary: true })).toMatchObject({ kind: 'waiting' });
    expect(w.twilio.secondary).not.toBe('unreadable-orphan-secondary-0000');
    expect((await w.store.read('twilio/token'))!.tags[TAG_UNSTORED]).toBe('');
  });

  it('tries a creation again after one whose outcome was unknown, and rotates when no secondary was left', async () => {
    const w = await fakeTokenWorld();
    w.twilio.failing = ['createSecondary'];
    expect(await run(w, { force: true })).toMatchObject({ kind: 'failed', step: 'start-rotation' });
    w.advance(2 * w.config.retry.budgetMs + 5000);
    const r = await run(w);
    expect(steps(r)).toEqual(['abandon-creation', 'start-rotation', 'mark-pending']);
    expect(await token(w, PENDING)).toBe(w.twilio.secondary);
    expect((await w.store.read('twilio/token'))!.tags[TAG_UNSTORED]).toBe('');
  });

  it('drops a pending token whose secondary was deleted outside the rotator, and starts over when due', async () => {
    const w = await fakeTokenWorld();
    await run(w, { force: true });
    await w.twilio.authTokens().deleteSecondary();
    const r = await run(w, { force: true });
    expect(steps(r)).toEqual(['drop-dead-pending', 'start-rotation', 'mark-pending']);
  });

  it('keeps other targets working: an admin secret holding the old token gets the new one at once', async () => {
    const w = await fakeTokenWorld({ gate: { minOverlapSeconds: 0 } }, [
      {
        name: 'app',
        accountSid: AC,
        keyType: 'standard',
        friendlyNamePrefix: 'rot-',
        secret: { store: 'file', secretId: 'twilio/app' },
        admin: { store: 'file', secretId: 'twilio/admin-copy' },
      },
    ]);
    await w.store.create(
      'twilio/admin-copy',
      'e'.repeat(32),
      JSON.stringify({ accountSid: AC, authToken: w.twilio.primary, note: 'kept' }),
    );
    await run(w, { force: true });
    await run(w);
    const copy = JSON.parse(
      (await w.store.read('twilio/admin-copy'))!.versions.find((v) => v.stages.includes(CURRENT))!.value!,
    ) as Record<string, string>;
    expect(copy).toEqual({ accountSid: AC, authToken: w.twilio.primary, note: 'kept' });
    // The API-key target now works with the new token.
    expect(await rotate(w.config, w.runtime, { targets: ['app'] })).toMatchObject([{ kind: 'done' }]);
  });

  it('manages itself across promotions: the next rotation authenticates with the promoted token', async () => {
    const w = await fakeTokenWorld({ gate: { minOverlapSeconds: 0 } });
    for (let i = 0; i < 3; i++) {
      await run(w, { force: true });
      expect(await run(w)).toMatchObject({ kind: 'done', current: tokenFingerprint(w.twilio.primary) });
    }
    expect(await token(w, CURRENT)).toBe(w.twilio.primary);
  });

  it('aborts before promotion: deletes its secondary, drops AWSPENDING; nothing to back out after', async () => {
    const w = await fakeTokenWorld();
    const old = w.twilio.primary;
    await run(w, { force: true });
    const out = await abort(w.config, w.runtime, 'token');
    expect(out.detail).toMatch(/deleted it on Twilio; dropped AWSPENDING/);
    expect(w.twilio.secondary).toBeUndefined();
    expect(await token(w, PENDING)).toBeUndefined();
    expect(w.twilio.primary).toBe(old);
    const w2 = await fakeTokenWorld();
    await run(w2, { force: true });
    await w2.twilio.authTokens().promote();
    await expect(abort(w2.config, w2.runtime, 'token')).rejects.toThrow(
      /is the primary token, and the old token tf_[0-9a-f]{16} is already dead/,
    );
  });

  it('reports stuck when Twilio refuses the current token (changed outside), and changes nothing', async () => {
    const w = await fakeTokenWorld();
    w.twilio.primary = 'rotated-in-the-console-00000000000';
    const r = await run(w, { force: true });
    expect(r).toMatchObject({
      kind: 'stuck',
      on: [expect.stringContaining('refuses the current Auth Token') as string],
    });
    expect(w.twilio.writes).toEqual([]);
  });

  it('plans the whole rotation in a dry run over the same loop, changing nothing', async () => {
    const w = await fakeTokenWorld();
    const before = JSON.stringify(w.store.table);
    const r = await run(w, { dryRun: true, force: true });
    const plan = r.kind === 'planned' ? r.plan : [];
    expect(plan[0]).toMatch(/^create a secondary Auth Token and store it as AWSPENDING/);
    expect(plan.at(-1)).toMatch(/^then nothing yet: keep tf_[0-9a-f]{16} until minimum overlap/);
    expect(w.twilio.writes).toEqual([]);
    expect(w.twilio.secondary).toBeUndefined();
    expect(JSON.stringify(w.store.table)).toBe(before);
  });

  it('takes off an AWSPENDING label a promotion left on the current version (a crash between moves)', async () => {
    const w = await fakeTokenWorld({ gate: { minOverlapSeconds: 0 } });
    await run(w, { force: true });
    const table = w.store.table as Record<string, { versions: { stages: string[] }[] }>;
    table['twilio/token']!.versions.find((v) => v.stages.includes(CURRENT))!.stages.push(PENDING);
    const r = await run(w);
    expect(steps(r)).toEqual(['clear-pending-label']);
    expect(await token(w, PENDING)).toBeUndefined();
    expect(r).toMatchObject({ kind: 'done', current: tokenFingerprint(w.twilio.primary) });
  });
});
