import { describe, expect, it, vi } from 'vitest';
import { CURRENT, PENDING, PREVIOUS, TAG_CURRENT_SINCE, TAG_LAST_ERROR, TAG_PROMOTED } from '../../src/core/labels.js';
import type { TargetResult } from '../../src/core/outcome.js';
import { keyName, ownerFingerprint } from '../../src/credentials/named/naming.js';
import { rotate } from '../../src/engine/commands.js';
import { reconcileTarget } from '../../src/engine/reconcile.js';
import { createRunScope } from '../../src/engine/scope.js';
import { RemoteError } from '../../src/errors.js';
import { AC, DAY, fakeWorld, type FakeWorld } from '../support/fakes.js';

/**
 * The engine's loop and every API-key step and outcome, over in-memory fakes at the ports: no
 * sockets, no files, a clock the test moves. The emulator suites cover the same flows over HTTP.
 */

const run = async (w: FakeWorld, options: Parameters<typeof rotate>[2] = {}): Promise<TargetResult> =>
  (await rotate(w.config, w.runtime, options))[0]!;
const steps = (r: TargetResult) => r.steps.map((s) => s.step);
/** The entry's deadline signal once it has passed (the Lambda's reason begins "out of time"). */
const pastDeadline = () => AbortSignal.abort(new Error('out of time'));
const stored = async (w: FakeWorld, stage: string) => {
  const v = (await w.store.read('twilio/app'))?.versions.find((x) => x.stages.includes(stage));
  return v?.value ? (JSON.parse(v.value) as { apiKeySid: string }) : undefined;
};

describe('engine over fakes: the API-key flow', () => {
  it('creates the secret and its first key on the first run, then has nothing to do', async () => {
    const w = await fakeWorld();
    const first = await run(w);
    expect(steps(first)).toEqual(['reserve-secret', 'create-secret', 'verify-current', 'mark-current']);
    expect(first).toMatchObject({ kind: 'done', credential: 'api-key' });
    expect(w.twilio.writes).toHaveLength(1);
    const again = await run(w);
    expect(steps(again)).toEqual([]);
    expect(w.twilio.writes).toHaveLength(1);
  });

  it('rotates when forced, waits out the overlap, then retires the old key', async () => {
    const w = await fakeWorld();
    await run(w);
    const old = (await stored(w, CURRENT))!.apiKeySid;
    const forced = await run(w, { force: true });
    // The new key was proven before promotion in this run: the promotion marks it current at once.
    expect(steps(forced)).toEqual(['start-rotation', 'verify-pending', 'promote']);
    expect(forced).toMatchObject({
      kind: 'waiting',
      kept: old,
      on: [expect.stringContaining('minimum overlap') as string],
    });
    w.advance(3_600_000);
    const later = await run(w);
    expect(steps(later)).toEqual(['verify-current', 'retire-previous']);
    expect(later).toMatchObject({ kind: 'done' });
    expect(w.twilio.keys.has(old)).toBe(false);
    expect((await stored(w, PREVIOUS))?.apiKeySid).toBe(old);
  });

  it('finishes a promotion cut off before its tags: the next run writes the record and the stamp', async () => {
    const w = await fakeWorld();
    await run(w);
    const setTags = w.store.setTags.bind(w.store);
    let cut = true;
    w.store.setTags = (secretId, tags) => {
      if (cut && TAG_CURRENT_SINCE in tags) {
        cut = false;
        return Promise.reject(new Error('the run was cut off after the move'));
      }
      return setTags(secretId, tags);
    };
    expect(await run(w, { force: true })).toMatchObject({ kind: 'failed', step: 'promote' });
    const versions = (await w.store.read('twilio/app'))!.versions;
    const id = (stage: string) => versions.find((v) => v.stages.includes(stage))!.versionId;
    const later = await run(w);
    expect(steps(later)).toEqual(['verify-current', 'mark-current']);
    const tags = (await w.store.read('twilio/app'))!.tags;
    expect(tags[TAG_PROMOTED]).toBe(`${id(PREVIOUS)} ${id(CURRENT)}`);
    expect(tags[TAG_CURRENT_SINCE]?.split(' ')[0]).toBe(id(CURRENT));
  });

  it('rotates a key older than maxAgeDays without being forced', async () => {
    const w = await fakeWorld({ maxAgeDays: 30, gate: { minOverlapSeconds: 0 } });
    await run(w);
    w.advance(31 * DAY);
    const due = await run(w);
    expect(steps(due)[0]).toBe('start-rotation');
    expect(due.steps[0]!.detail).toContain('days old');
  });

  it('waits for every probe to report the new key', async () => {
    const w = await fakeWorld({
      gate: { minOverlapSeconds: 0, probes: [{ url: 'http://consumer.internal/health', field: 'keySid' }] },
    });
    await run(w);
    const old = (await stored(w, CURRENT))!.apiKeySid;
    w.reports = [old];
    expect(await run(w, { force: true })).toMatchObject({
      kind: 'waiting',
      on: [expect.stringContaining('probe http://consumer.internal/health') as string],
    });
    w.reports = [(await stored(w, CURRENT))!.apiKeySid];
    expect(await run(w)).toMatchObject({ kind: 'done' });
    expect(w.twilio.keys.has(old)).toBe(false);
  });

  it('reports stuck past the maximum wait and deletes nothing', async () => {
    const w = await fakeWorld({ gate: { minOverlapSeconds: 0, maxWaitSeconds: 60, manualConfirm: true } });
    await run(w);
    const old = (await stored(w, CURRENT))!.apiKeySid;
    await run(w, { force: true });
    w.advance(61_000);
    expect(await run(w)).toMatchObject({ kind: 'stuck', kept: old });
    expect(w.twilio.keys.has(old)).toBe(true);
  });

  it('sweeps a key of its own that nothing references, and never one of another deployment', async () => {
    const w = await fakeWorld();
    await run(w);
    const identity = (await w.store.read('twilio/app'))!.identity;
    const orphan = w.twilio.seed(keyName('rot-', ownerFingerprint(AC, identity), 'b'.repeat(32)));
    const foreign = w.twilio.seed(keyName('rot-', ownerFingerprint(AC, 'somebody-else'), 'c'.repeat(32)));
    const r = await run(w);
    expect(steps(r)).toEqual(['sweep-orphans']);
    expect(w.twilio.keys.has(orphan.sid)).toBe(false);
    expect(w.twilio.keys.has(foreign.sid)).toBe(true);
    expect(w.logger.lines).toContainEqual({ level: 'warn', message: expect.stringContaining(foreign.sid) as string });
  });

  it('withdraws and deletes a new key that Twilio refuses, records the error, and keeps the current key', async () => {
    const w = await fakeWorld();
    await run(w);
    const current = (await stored(w, CURRENT))!.apiKeySid;
    const real = w.twilio.verifier();
    w.runtime.verifier = () => ({
      verify: (key, how) =>
        key.sid === current
          ? real.verify(key, how)
          : Promise.resolve({ ok: false, definitive: true, reason: 'HTTP 401' }),
    });
    const r = await run(w, { force: true });
    expect(r).toMatchObject({ kind: 'failed', step: 'verify-pending' });
    expect(await stored(w, PENDING)).toBeUndefined();
    expect([...w.twilio.keys.keys()]).toEqual([current]);
    expect((await w.store.read('twilio/app'))!.tags[TAG_LAST_ERROR]).toMatch(/verify-pending/);
    expect(w.logger.lines.filter((l) => l.level === 'error')).not.toEqual([]);
  });

  it('loses a race cleanly: another rotator stored the rotation first, so our key is revoked', async () => {
    const w = await fakeWorld();
    await run(w);
    // Another rotator stores the same rotation id a moment before this one does.
    const store = w.store;
    w.runtime.store = () => ({
      ...store,
      putPending: async (id, token, value) => {
        await store.putPending(
          id,
          token,
          JSON.stringify({ accountSid: AC, apiKeySid: `SK${'e'.repeat(32)}`, apiKeySecret: 'x'.repeat(32) }),
        );
        return store.putPending(id, token, value);
      },
    });
    const before = w.twilio.keys.size;
    const r = await run(w, { force: true });
    expect(r).toMatchObject({ kind: 'lost-race' });
    expect(w.twilio.keys.size).toBe(before);
  });

  it('leaves a Secrets Manager rotation alone while young and reports it stuck when old', async () => {
    const w = await fakeWorld();
    await run(w);
    const table = w.store.table as Record<
      string,
      { versions: { versionId: string; stages: string[]; createdAt: string }[] }
    >;
    for (const v of table['twilio/app']!.versions) v.stages = v.stages.filter((s) => s !== PENDING);
    table['twilio/app']!.versions.push({
      versionId: 'tok',
      stages: [PENDING],
      createdAt: new Date(w.now()).toISOString(),
    });
    expect(await run(w)).toMatchObject({ kind: 'busy' });
    w.advance(3_600_000);
    expect(await run(w)).toMatchObject({ kind: 'stuck' });
  });

  it('stops before a step once past the deadline, and the next run resumes', async () => {
    const w = await fakeWorld();
    const r = await reconcileTarget(w.config.targets[0]!, w.runtime, createRunScope(w.config, w.runtime), {
      signal: pastDeadline(),
    });
    expect(r).toMatchObject({ kind: 'deferred', detail: 'stopped before reserve-secret: out of time' });
    expect(await w.store.read('twilio/app')).toBeUndefined();
    expect(await run(w)).toMatchObject({ kind: 'done' });
  });

  it('does not start a target once the run is out of time', async () => {
    const w = await fakeWorld();
    const r = await run(w, { signal: pastDeadline() });
    expect(r).toMatchObject({ kind: 'deferred', detail: 'not started: the run was out of time', steps: [] });
    expect(w.twilio.writes).toEqual([]);
  });

  it('fails a run whose Twilio call keeps failing, writes nothing when nothing changed, resumes later', async () => {
    const w = await fakeWorld();
    w.twilio.failing = ['list'];
    const r = await run(w);
    expect(r).toMatchObject({ kind: 'failed', step: 'observe' });
    expect(await w.store.read('twilio/app')).toBeUndefined();
    expect(await run(w)).toMatchObject({ kind: 'done' });
  });

  it('plans a whole rotation in a dry run over the same loop, changing nothing', async () => {
    const w = await fakeWorld();
    await run(w);
    const writes = w.twilio.writes.length;
    const before = JSON.stringify(w.store.table);
    const r = await run(w, { dryRun: true, force: true });
    expect(r.kind).toBe('planned');
    const plan = r.kind === 'planned' ? r.plan : [];
    expect(plan[0]).toMatch(/^create key "rot-[0-9a-f]{8}[0-9a-f]{24}" and store it as AWSPENDING/);
    expect(plan).toContain('verify the pending key SK(new): GET IncomingPhoneNumbers (PageSize=1) with the key');
    expect(plan.at(-1)).toMatch(/^then nothing yet: keep SK[0-9a-f]{32} until minimum overlap/);
    expect(w.twilio.writes.length).toBe(writes);
    expect(JSON.stringify(w.store.table)).toBe(before);
  });

  it('takes off an AWSPENDING label a promotion left on the current version (a crash between moves)', async () => {
    const w = await fakeWorld();
    await run(w);
    const table = w.store.table as Record<string, { versions: { stages: string[] }[] }>;
    table['twilio/app']!.versions.find((v) => v.stages.includes(CURRENT))!.stages.push(PENDING);
    const r = await run(w);
    expect(steps(r)).toEqual(['clear-pending-label']);
    expect((await w.store.read('twilio/app'))!.versions.some((v) => v.stages.includes(PENDING))).toBe(false);
    expect(r).toMatchObject({ kind: 'done' });
  });

  describe('Twilio refuses the admin Auth Token mid-run (HTTP 401)', () => {
    /** Every list answers 401, as Twilio does for a token another run has just promoted away. */
    const refusing = (w: FakeWorld, onRefusal: () => Promise<unknown> = () => Promise.resolve()) => {
      const original = w.runtime;
      w.runtime = {
        ...original,
        keys: (admin, target) => ({
          ...original.keys(admin, target),
          list: async () => {
            await onRefusal();
            throw new RemoteError(
              'twilio',
              'ListKeys',
              { status: 401, code: 20003, retryable: false },
              'Twilio ListKeys failed: HTTP 401, Twilio error 20003 (Authenticate)',
            );
          },
        }),
      };
    };

    it('stands down (deferred, not failed) when the admin secret meanwhile holds a new token', async () => {
      const w = await fakeWorld();
      await run(w);
      // Another run promoted the token and refreshed this admin secret, after this run had read it.
      refusing(w, () =>
        w.store.putCurrent(
          'twilio/admin',
          'b'.repeat(32),
          JSON.stringify({ accountSid: AC, authToken: 'e'.repeat(32) }),
        ),
      );
      const r = await run(w, { force: true });
      expect(r).toMatchObject({
        kind: 'deferred',
        detail: expect.stringContaining('another run promoted the Auth Token') as string,
      });
      expect((await w.store.read('twilio/app'))!.tags[TAG_LAST_ERROR]).toBeUndefined();
    });

    it('fails as before when the admin secret still holds the refused token', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout'] });
      try {
        const w = await fakeWorld();
        await run(w);
        refusing(w);
        const pending = run(w, { force: true });
        await vi.runAllTimersAsync();
        expect(await pending).toMatchObject({
          kind: 'failed',
          step: 'observe',
          error: expect.stringContaining('401') as string,
        });
      } finally {
        vi.useRealTimers();
      }
    });
  });
});
