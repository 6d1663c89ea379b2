import { describe, expect, it } from 'vitest';
import { CURRENT, PENDING, PREVIOUS, TAG_PROMOTED } from '../../src/core/labels.js';
import type { TargetResult } from '../../src/core/outcome.js';
import type { SecretStore } from '../../src/core/ports.js';
import { keyName, ownerFingerprint } from '../../src/credentials/named/naming.js';
import { audit } from '../../src/engine/audit.js';
import { confirm, rotate } from '../../src/engine/commands.js';
import { RemoteError } from '../../src/errors.js';
import { AC, fakeWorld, fakeWorldOf, type FakeWorld } from '../support/fakes.js';

/**
 * Issue 19, the API-key half: a key consumers were ever served is retired only through the consumer
 * gate. Each test is a repro that broke on the code before it (engine over in-memory fakes).
 */

const run = async (w: FakeWorld, options: Parameters<typeof rotate>[2] = {}): Promise<TargetResult[]> =>
  rotate(w.config, w.runtime, options);
const one = async (w: FakeWorld, options: Parameters<typeof rotate>[2] = {}) => (await run(w, options))[0]!;
const steps = (r: TargetResult) => r.steps.map((s) => s.step);
const HOUR = 3_600_000;

async function keyIn(store: SecretStore, secretId: string, stage: string): Promise<string | undefined> {
  const v = (await store.read(secretId))?.versions.find((x) => x.stages.includes(stage));
  return v?.value ? (JSON.parse(v.value) as { apiKeySid: string }).apiKeySid : undefined;
}
async function versionOf(store: SecretStore, secretId: string, stage: string): Promise<string | undefined> {
  return (await store.read(secretId))?.versions.find((x) => x.stages.includes(stage))?.versionId;
}
/** Keys on the fake account named for this target (its fingerprint). */
async function ownKeys(w: FakeWorld, secretId = 'twilio/app'): Promise<string[]> {
  const fp = ownerFingerprint(AC, (await w.store.read(secretId))!.identity);
  return [...w.twilio.keys.values()].filter((k) => k.friendlyName?.startsWith(`rot-${fp}`)).map((k) => k.sid);
}

/** A target mid-gate: K1 (version 1) previous and alive, K2 current. */
async function waitingAtGate(w: FakeWorld) {
  await one(w);
  const k1 = (await keyIn(w.store, 'twilio/app', CURRENT))!;
  expect(await one(w, { force: true })).toMatchObject({ kind: 'waiting', kept: k1 });
  return { k1, k2: (await keyIn(w.store, 'twilio/app', CURRENT))! };
}

describe('a key a version of the secret held is never an orphan', () => {
  it('keeps the gate-held key after a value is put over it by hand, past orphanGraceSeconds; reports it', async () => {
    const w = await fakeWorld({}, { orphanGraceSeconds: 60 });
    const { k1 } = await waitingAtGate(w);
    // A person replaces the value (the Console, or secret put --replace before it checked the gate).
    const manual = w.twilio.seed('hand-made');
    const value = JSON.stringify({ accountSid: AC, apiKeySid: manual.sid, apiKeySecret: manual.secret });
    await w.store.putCurrent('twilio/app', 'f'.repeat(32), value);
    w.advance(2 * HOUR);
    const after = await one(w);
    expect(steps(after)).not.toContain('sweep-orphans');
    expect(w.twilio.keys.has(k1)).toBe(true);
    expect(w.twilio.writes.filter((x) => x === `remove ${k1}`)).toEqual([]);
    expect(w.logger.lines).toContainEqual({
      level: 'warn',
      message: expect.stringMatching(new RegExp(`key ${k1} of this target has no label.*never deletes it`)) as string,
    });
    expect(after.seen?.orphans).toContain(k1);
  });

  it('audit --cleanup leaves such a key alone and calls it served, not stored nowhere', async () => {
    const w = await fakeWorld({}, { orphanGraceSeconds: 60 });
    const { k1 } = await waitingAtGate(w);
    const manual = w.twilio.seed('hand-made');
    const value = JSON.stringify({ accountSid: AC, apiKeySid: manual.sid, apiKeySecret: manual.secret });
    await w.store.putCurrent('twilio/app', 'f'.repeat(32), value);
    w.advance(2 * HOUR);
    const report = await audit(w.config, w.runtime, { olderThanDays: 90, cleanup: 'revoke' });
    const entry = report.accounts[0]!.keys.find((k) => k.sid === k1)!;
    expect(entry).toMatchObject({ class: 'managed', cleanup: false, claims: [{ target: 'app', role: 'served' }] });
    expect(w.twilio.keys.has(k1)).toBe(true);
  });

  it('still sweeps a key whose store write never happened, and a racer key that lost its token', async () => {
    const w = await fakeWorld({}, { orphanGraceSeconds: 60 });
    await one(w);
    const fp = ownerFingerprint(AC, (await w.store.read('twilio/app'))!.identity);
    // Killed between the key's creation and the store write: no version has its token.
    const unstored = w.twilio.seed(keyName('rot-', fp, 'b'.repeat(32)));
    // A racer that lost: the version its token names holds the winner's key.
    const current = (await versionOf(w.store, 'twilio/app', CURRENT))!;
    const loser = w.twilio.seed(keyName('rot-', fp, current));
    w.advance(2 * HOUR);
    expect(steps(await one(w))).toEqual(['sweep-orphans']);
    expect(w.twilio.keys.has(unstored.sid)).toBe(false);
    expect(w.twilio.keys.has(loser.sid)).toBe(false);
  });

  it('deletes a refused pending key before dropping its label: a crash leaves no served-looking key', async () => {
    const w = await fakeWorld();
    await one(w);
    const current = (await keyIn(w.store, 'twilio/app', CURRENT))!;
    const real = w.twilio.verifier();
    // Twilio refuses every new key, and the first deletion of one fails (a crash at that point).
    w.runtime.verifier = () => ({
      verify: (key, how) =>
        key.sid !== current
          ? Promise.resolve({ ok: false as const, definitive: true, reason: 'HTTP 401 (Twilio error 20003)' })
          : real.verify(key, how),
    });
    w.twilio.failing = ['remove'];
    expect((await one(w, { force: true })).kind).toBe('failed');
    // Nothing was unlabelled before the key was gone: the next run withdraws it again and finishes.
    await one(w);
    expect(await ownKeys(w)).toEqual([current]);
    expect(await versionOf(w.store, 'twilio/app', PENDING)).toBeUndefined();
  });
});

describe('irreversible steps look again right before acting', () => {
  it('keeps a refused pending key that another run promoted while this one verified it', async () => {
    const w = await fakeWorld();
    await one(w);
    const old = (await keyIn(w.store, 'twilio/app', CURRENT))!;
    const real = w.twilio.verifier();
    w.runtime.verifier = () => ({
      verify: async (key, how) => {
        if (key.sid === old) return real.verify(key, how);
        // Another run, whose check passed, promotes the version while this one is refused (propagation).
        const pending = await versionOf(w.store, 'twilio/app', PENDING);
        await w.store.promote('twilio/app', pending!);
        return { ok: false as const, definitive: true, reason: 'HTTP 401 (Twilio error 20003)' };
      },
    });
    await one(w, { force: true });
    const current = (await keyIn(w.store, 'twilio/app', CURRENT))!;
    expect(current).not.toBe(old);
    expect(w.twilio.keys.has(current)).toBe(true);
    expect(w.twilio.writes).not.toContain(`remove ${current}`);
  });
});

describe('the promotion record cannot be undone by a late write', () => {
  it("holds the gate when a killed run's promotion tag lands after later runs; never sweeps the old key", async () => {
    const w = await fakeWorld({ gate: { minOverlapSeconds: 3600, maxWaitSeconds: 7 * 86400 } });
    const store = w.store;
    await one(w);
    // Run A promotes, but its TagResource is held in flight and the run is killed there.
    const late: Record<string, string>[] = [];
    w.runtime.store = () => ({
      ...store,
      read: store.read.bind(store),
      setTags: (secretId, tags) => {
        if (tags[TAG_PROMOTED] !== undefined && late.length === 0) {
          late.push({ ...tags });
          return Promise.reject(new Error('killed while TagResource was in flight'));
        }
        return store.setTags(secretId, tags);
      },
    });
    expect((await one(w, { force: true })).kind).toBe('failed');
    expect(late).toHaveLength(1);
    // Run B finishes that rotation and retires the first key; run C starts the next one.
    w.advance(HOUR);
    expect(await one(w)).toMatchObject({ kind: 'waiting' });
    w.advance(HOUR);
    expect(await one(w)).toMatchObject({ kind: 'done' });
    const c = await one(w, { force: true });
    const k2 = (await keyIn(store, 'twilio/app', PREVIOUS))!;
    expect(c).toMatchObject({ kind: 'waiting', kept: k2 });
    // Run A's write lands now, naming the promotion before the last.
    await store.setTags('twilio/app', late[0]!);
    expect((await store.read('twilio/app'))!.tags[TAG_PROMOTED]).toBe(late[0]![TAG_PROMOTED]);
    const d = await one(w, { force: true });
    expect(d).toMatchObject({ kind: 'waiting', kept: k2 });
    expect(steps(d)).not.toContain('start-rotation');
    expect(await ownKeys(w)).toHaveLength(2);
    w.advance(HOUR);
    const e = await one(w);
    expect(steps(e)).toEqual(['verify-current', 'retire-previous']);
    expect(w.twilio.keys.has(k2)).toBe(false);
    expect(await ownKeys(w)).toEqual([await keyIn(store, 'twilio/app', CURRENT)]);
  });
});

describe('confirm uses the promotion proof retirement uses', () => {
  it('accepts a confirmation while the gate waits, when a stale promotion tag names an older promotion', async () => {
    const w = await fakeWorld({ gate: { minOverlapSeconds: 0, maxWaitSeconds: 7 * 86400, manualConfirm: true } });
    const { k1, k2 } = await waitingAtGate(w);
    // A killed run's late TagResource names a promotion that is not the current one.
    await w.store.setTags('twilio/app', { [TAG_PROMOTED]: `${'a'.repeat(32)} ${'b'.repeat(32)}` });
    const confirmed = await confirm(w.config, w.runtime, 'app');
    expect(confirmed).toMatchObject({ target: 'app', keySid: k2 });
    expect(steps(await one(w))).toEqual(['verify-current', 'retire-previous']);
    expect(w.twilio.keys.has(k1)).toBe(false);
  });

  it('refuses, writing nothing, once the old key is retired', async () => {
    const w = await fakeWorld({ gate: { minOverlapSeconds: 0, maxWaitSeconds: 7 * 86400 } });
    await one(w);
    await one(w, { force: true });
    const before = (await w.store.read('twilio/app'))!.tags;
    await expect(confirm(w.config, w.runtime, 'app')).rejects.toThrow(/nothing waits for a confirmation/);
    expect((await w.store.read('twilio/app'))!.tags).toEqual(before);
  });
});

describe('a key another configured target serves is never retired', () => {
  const target = (name: string) => ({
    name,
    accountSid: AC,
    keyType: 'standard',
    friendlyNamePrefix: `${name}-`,
    secret: { store: 'file', secretId: `twilio/${name}` },
    admin: { store: 'file', secretId: 'twilio/admin' },
    gate: { minOverlapSeconds: 3600, maxWaitSeconds: 7 * 86400 },
  });

  it("keeps an adopted key both secrets hold after one target's gate passes, and says why", async () => {
    const w = await fakeWorldOf([target('app'), target('app2')], {});
    const shared = w.twilio.seed('adopted by hand');
    const value = JSON.stringify({ accountSid: AC, apiKeySid: shared.sid, apiKeySecret: shared.secret });
    await w.store.create('twilio/app', 'd'.repeat(32), value);
    await w.store.create('twilio/app2', 'e'.repeat(32), value);
    await run(w);
    const forced = await one(w, { force: true, targets: ['app'] });
    expect(steps(forced)).toContain('promote');
    w.advance(2 * HOUR);
    const [app, app2] = await run(w);
    expect(steps(app!)).not.toContain('retire-previous');
    expect(app).toMatchObject({ kind: 'done' });
    expect(w.twilio.keys.has(shared.sid)).toBe(true);
    expect(w.twilio.writes).not.toContain(`remove ${shared.sid}`);
    expect(app2).toMatchObject({ kind: 'done', current: shared.sid });
    expect(w.logger.lines).toContainEqual({
      level: 'warn',
      message: expect.stringContaining(`AWSPREVIOUS key ${shared.sid} is left alone: target "app2"'s secret holds it`),
    });
  });

  it('keeps the key and reports stuck when another target on the account cannot be read', async () => {
    const w = await fakeWorldOf([target('app'), target('app2')], {});
    const shared = w.twilio.seed('adopted by hand');
    const value = JSON.stringify({ accountSid: AC, apiKeySid: shared.sid, apiKeySecret: shared.secret });
    await w.store.create('twilio/app', 'd'.repeat(32), value);
    await w.store.create('twilio/app2', 'e'.repeat(32), value);
    await run(w);
    await one(w, { force: true, targets: ['app'] });
    w.advance(2 * HOUR);
    const store = w.store;
    const denied = new RemoteError(
      'secrets-manager',
      'GetSecretValue',
      { retryable: false, code: 'AccessDeniedException' },
      'Secrets Manager GetSecretValue on twilio/app2 failed: AccessDeniedException',
    );
    w.runtime.store = () => ({
      ...store,
      read: (secretId, options) =>
        secretId === 'twilio/app2' ? Promise.reject(denied) : store.read(secretId, options),
    });
    const r = await one(w, { targets: ['app'] });
    expect(r).toMatchObject({
      kind: 'stuck',
      kept: shared.sid,
      on: [expect.stringMatching(/cannot tell whether another target's secret holds the previous key .*AccessDenied/)],
    });
    expect(w.twilio.keys.has(shared.sid)).toBe(true);
  });

  it('never sweeps as an orphan a key of its own that another target now serves', async () => {
    const w = await fakeWorldOf([target('app'), target('app2')], { orphanGraceSeconds: 0 });
    await run(w);
    const fp = ownerFingerprint(AC, (await w.store.read('twilio/app'))!.identity);
    const k = w.twilio.seed(keyName('app-', fp, 'c'.repeat(32)));
    const value = JSON.stringify({ accountSid: AC, apiKeySid: k.sid, apiKeySecret: k.secret });
    await w.store.putCurrent('twilio/app2', '9'.repeat(32), value);
    w.advance(HOUR);
    const [app] = await run(w, { targets: ['app'] });
    expect(steps(app!)).not.toContain('sweep-orphans');
    expect(w.twilio.keys.has(k.sid)).toBe(true);
  });
});
