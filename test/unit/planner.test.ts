import { describe, expect, it } from 'vitest';
import { observationWarnings, plan } from '../../src/credentials/named/plan.js';
import { rotationId } from '../../src/core/rotation-id.js';
import { isRotationFrom, keyName, ownerFingerprint } from '../../src/credentials/named/naming.js';
import { PLACEHOLDER_STUCK_AFTER_MS, TAG_CONFIRMED, TAG_CURRENT_SINCE, TAG_PROMOTED } from '../../src/core/labels.js';
import type { LabelledKey, Observation, PlannerSettings } from '../../src/credentials/named/observation.js';
import type { TwilioKey } from '../../src/core/ports.js';

const AC = `AC${'1'.repeat(32)}`;
const sid = (n: number) => `SK${n.toString(16).padStart(32, '0')}`;
const DAY = 86_400_000;
const NOW = Date.parse('2026-11-23T12:00:00Z');
const PREFIX = 'rot-';
const FP = ownerFingerprint(AC, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio/app-AbCdEf');
const OTHER_FP = ownerFingerprint(AC, 'arn:aws:secretsmanager:us-east-1:210987654321:secret:twilio/app-XyZxYz');
const own = (id: string) => keyName(PREFIX, FP, id);

const settings: PlannerSettings = {
  prefix: PREFIX,
  target: 'app',
  maxAgeMs: 30 * DAY,
  orphanGraceMs: 0,
  force: false,
  gate: { minOverlapMs: 3_600_000, maxWaitMs: 7 * DAY, manualConfirm: false },
};

function version(versionId: string, keySid: string, createdAtMs: number): LabelledKey {
  return {
    versionId,
    createdAtMs,
    key: { accountSid: AC, apiKeySid: keySid, apiKeySecret: 'x'.repeat(32) },
    document: {},
  };
}
function key(n: number, friendlyName: string | null, createdAtMs = NOW - DAY): TwilioKey {
  return { sid: sid(n), friendlyName, createdAtMs };
}

function world(
  parts: Partial<Omit<Observation, 'keys' | 'secret'>> & {
    keys: TwilioKey[];
    tags?: Record<string, string>;
    verifiedSids?: string[];
    exists?: boolean;
  },
): Observation {
  const { tags, verifiedSids, exists, ...rest } = parts;
  const versions = [parts.current, parts.pending, parts.previous].filter((v): v is LabelledKey => v !== undefined);
  const hasSecret = exists ?? parts.current !== undefined;
  return {
    nowMs: NOW,
    secretId: 'twilio/app',
    secret: hasSecret
      ? {
          secretId: 'twilio/app',
          identity: 'arn:test',
          versions: versions.map((v) => ({ versionId: v.versionId, stages: [], createdAtMs: v.createdAtMs })),
          allVersionIds: versions.map((v) => v.versionId),
          tags: tags ?? {},
        }
      : undefined,
    ...(hasSecret ? { fingerprint: FP } : {}),
    unreadable: [],
    verified: new Set(verifiedSids ?? []),
    protectedSids: new Set(),
    ...rest,
  };
}

const since = (versionId: string, atMs: number) => ({
  [TAG_CURRENT_SINCE]: `${versionId} ${new Date(atMs).toISOString()}`,
});
const promoted = (from: string, to: string) => ({ [TAG_PROMOTED]: `${from} ${to}` });

describe('planner', () => {
  it('reserves the secret first, so its identity exists before a key is named after it', () => {
    expect(plan(world({ keys: [] }), settings)).toEqual({ kind: 'reserve-secret' });
  });

  it('fills a reserved secret with a first key named prefix + fingerprint + rotation id', () => {
    const id = rotationId('twilio/app', 'genesis', []);
    expect(plan(world({ keys: [], exists: true }), settings)).toEqual({
      kind: 'create-secret',
      versionId: id,
      friendlyName: own(id),
    });
    expect(own(id)).toMatch(new RegExp(`^${PREFIX}${FP}[0-9a-f]{24}$`));
  });

  it("sweeps only keys that carry this target's fingerprint and nothing references", () => {
    const cur = version('v1', sid(1), NOW - DAY);
    const mine = key(2, own('a'.repeat(32)));
    const d = plan(
      world({
        current: cur,
        keys: [
          key(1, 'manual'),
          mine,
          key(3, keyName(PREFIX, OTHER_FP, 'b'.repeat(32))), // another configuration sharing the prefix
          key(4, `${PREFIX}${'c'.repeat(32)}`), // named before fingerprints: not provably ours
          key(5, `${PREFIX}short`),
        ],
        tags: since('v1', NOW - DAY),
      }),
      settings,
    );
    expect(d).toEqual({ kind: 'sweep-orphans', keys: [mine] });
  });

  it('never sweeps an admin credential, nor a key an unreadable version may hold', () => {
    const cur = version('v1', sid(1), NOW - DAY);
    const mine = key(2, own('a'.repeat(32)));
    const base = { current: cur, keys: [key(1, null), mine], tags: since('v1', NOW - DAY) };
    expect(plan(world({ ...base, protectedSids: new Set([sid(2)]) }), settings).kind).toBe('done');
    const named = { stage: 'AWSPREVIOUS', versionId: 'v0', sids: [sid(2)], problem: 'value is not JSON' };
    expect(plan(world({ ...base, unreadable: [named] }), settings).kind).toBe('done');
    // A version that names no key could hold any of them: nothing is swept until it is fixed.
    const mine3 = key(3, own('d'.repeat(32)));
    const blank = { ...named, sids: [] };
    expect(plan(world({ ...base, keys: [...base.keys, mine3], unreadable: [blank] }), settings).kind).toBe('done');
  });

  it('leaves a young unreferenced key alone while the grace period runs: it may be a live racer', () => {
    const cur = version('v1', sid(1), NOW - DAY);
    const young = key(2, own('a'.repeat(32)), NOW - 1000);
    const d = plan(world({ current: cur, keys: [key(1, null), young], tags: since('v1', NOW - DAY) }), {
      ...settings,
      orphanGraceMs: 60_000,
    });
    expect(d.kind).toBe('done');
  });

  it('verifies and then tags a current version that has no current-since record', () => {
    const cur = version('v1', sid(1), NOW);
    expect(plan(world({ current: cur, keys: [key(1, null)] }), settings)).toMatchObject({
      kind: 'verify-current',
      keySid: sid(1),
    });
    expect(plan(world({ current: cur, keys: [key(1, null)], verifiedSids: [sid(1)] }), settings)).toEqual({
      kind: 'mark-current',
      versionId: 'v1',
    });
  });

  it('replaces a current key that never passed verification when a configured key would differ', () => {
    const cur = version('v1', sid(1), NOW);
    const refused = { keySid: sid(1), reason: 'HTTP 401 (Twilio error 70051)' };
    const d = plan(world({ current: cur, keys: [key(1, null)], currentRefused: refused }), settings);
    expect(d).toMatchObject({
      kind: 'start-rotation',
      reason: expect.stringContaining('never passed verification') as string,
    });
    // Once another key is current, the refusal of the old one no longer counts.
    const next = version('v2', sid(2), NOW);
    const after = plan(
      world({
        current: next,
        previous: cur,
        keys: [key(1, null), key(2, null)],
        currentRefused: refused,
        tags: promoted('v1', 'v2'),
      }),
      settings,
    );
    expect(after).toEqual({ kind: 'verify-current', versionId: 'v2', keySid: sid(2) });
  });

  it('refuses to rotate a secret whose current key is an admin credential', () => {
    const cur = version('v1', sid(1), NOW - 40 * DAY);
    const d = plan(
      world({
        current: cur,
        keys: [key(1, 'main')],
        tags: since('v1', NOW - 40 * DAY),
        protectedSids: new Set([sid(1)]),
      }),
      { ...settings, force: true },
    );
    expect(d).toMatchObject({ kind: 'stuck', on: [expect.stringContaining('is an admin credential') as string] });
  });

  it('is done while the current key is younger than maxAge, and starts a rotation when it is due', () => {
    const cur = version('v1', sid(1), NOW - 29 * DAY);
    const young = plan(world({ current: cur, keys: [key(1, null)], tags: since('v1', NOW - 29 * DAY) }), settings);
    expect(young).toEqual({ kind: 'done', current: sid(1), nextDueAtMs: cur.createdAtMs + 30 * DAY });
    const old = { ...cur, createdAtMs: NOW - 31 * DAY };
    const due = plan(world({ current: old, keys: [key(1, null)], tags: since('v1', NOW - 31 * DAY) }), settings);
    const id = rotationId('twilio/app', 'v1', ['v1']);
    expect(due).toMatchObject({ kind: 'start-rotation', versionId: id, friendlyName: own(id) });
  });

  it('rotates when forced or when the current key vanished from Twilio', () => {
    const cur = version('v1', sid(1), NOW - DAY);
    expect(
      plan(world({ current: cur, keys: [key(1, null)], tags: since('v1', NOW) }), { ...settings, force: true }),
    ).toMatchObject({
      kind: 'start-rotation',
      reason: 'forced (--force)',
    });
    expect(plan(world({ current: cur, keys: [], tags: since('v1', NOW) }), settings)).toMatchObject({
      kind: 'start-rotation',
      reason: expect.stringContaining('no longer exists') as string,
    });
  });

  it('never reuses a rotation id the secret already used', () => {
    const first = rotationId('twilio/app', 'v1', ['v1']);
    expect(rotationId('twilio/app', 'v1', ['v1', first])).not.toBe(first);
  });

  it('verifies a pending key, then promotes it naming the version it replaces; drops one whose key is gone', () => {
    const cur = version('v1', sid(1), NOW - 31 * DAY);
    const pend = version('v2', sid(2), NOW);
    const base = { current: cur, pending: pend, tags: since('v1', NOW - 31 * DAY) };
    expect(plan(world({ ...base, keys: [key(1, null), key(2, 'x')] }), settings)).toEqual({
      kind: 'verify-pending',
      versionId: 'v2',
      keySid: sid(2),
    });
    expect(plan(world({ ...base, keys: [key(1, null), key(2, 'x')], verifiedSids: [sid(2)] }), settings)).toEqual({
      kind: 'promote',
      versionId: 'v2',
      keySid: sid(2),
      fromVersionId: 'v1',
    });
    expect(plan(world({ ...base, keys: [key(1, null)] }), settings)).toEqual({
      kind: 'drop-dead-pending',
      versionId: 'v2',
      keySid: sid(2),
    });
  });

  it('leaves a young Secrets Manager rotation alone, and reports it stuck once its version stays empty', () => {
    const cur = version('v1', sid(1), NOW - DAY);
    const base = { current: cur, keys: [key(1, null)], tags: since('v1', NOW - DAY) };
    const young = plan(
      world({ ...base, pendingPlaceholder: { versionId: 'tok', createdAtMs: NOW - 60_000 } }),
      settings,
    );
    expect(young).toMatchObject({ kind: 'busy' });
    const old = plan(
      world({ ...base, pendingPlaceholder: { versionId: 'tok', createdAtMs: NOW - PLACEHOLDER_STUCK_AFTER_MS } }),
      settings,
    );
    expect(old).toMatchObject({
      kind: 'stuck',
      on: [expect.stringMatching(/cancel-rotate-secret.*twilio\/app/) as string],
    });
  });

  describe('consumer gate', () => {
    const cur = version('v2', sid(2), NOW - 2 * 3_600_000);
    const prev = version('v1', sid(1), NOW - 31 * DAY);
    const keys = [key(1, null), key(2, 'x')];
    const tagsAt = (atMs: number) => ({ ...since('v2', atMs), ...promoted('v1', 'v2') });

    it('asks for the gate once the old key of its own promotion is still alive', () => {
      expect(plan(world({ current: cur, previous: prev, keys, tags: tagsAt(NOW - 2 * 3_600_000) }), settings)).toEqual({
        kind: 'check-gate',
        versionId: 'v2',
        expect: sid(2),
        sinceMs: NOW - 2 * 3_600_000,
      });
    });

    it('leaves alone a previous key it did not put there: an adopted AWSPREVIOUS, or another promotion', () => {
      const adopted = world({ current: cur, previous: prev, keys, tags: since('v2', NOW - 2 * 3_600_000) });
      expect(plan(adopted, settings).kind).toBe('done');
      expect(observationWarnings(adopted, settings)).toEqual([
        expect.stringContaining(`AWSPREVIOUS key ${sid(1)} is left alone`) as string,
      ]);
      const stale = world({
        current: cur,
        previous: prev,
        keys,
        tags: { ...since('v2', NOW - 2 * 3_600_000), ...promoted('v0', 'v1') },
      });
      expect(plan(stale, settings).kind).toBe('done');
    });

    it('accepts a promotion made before promotions were recorded when the current key carries its version id', () => {
      const legacyCur = version('a'.repeat(32), sid(2), NOW - 2 * 3_600_000);
      const legacy = world({
        current: legacyCur,
        previous: prev,
        keys: [key(1, null), key(2, `${PREFIX}${'a'.repeat(32)}`)],
        tags: since('a'.repeat(32), NOW - 2 * 3_600_000),
      });
      expect(plan(legacy, settings)).toEqual({
        kind: 'check-gate',
        versionId: 'a'.repeat(32),
        expect: sid(2),
        sinceMs: NOW - 2 * 3_600_000,
      });
    });

    it('never retires an admin credential, even after its own promotion', () => {
      const obs = world({
        current: cur,
        previous: prev,
        keys,
        tags: tagsAt(NOW - 2 * 3_600_000),
        protectedSids: new Set([sid(1)]),
      });
      expect(plan(obs, settings).kind).toBe('done');
    });

    it('waits out the minimum overlap, then verifies the new key again before deleting the old one', () => {
      const early = plan(
        world({
          current: cur,
          previous: prev,
          keys,
          tags: tagsAt(NOW - 60_000),
          gate: { probes: [], confirmed: false },
        }),
        settings,
      );
      expect(early).toMatchObject({ kind: 'waiting', on: [expect.stringContaining('minimum overlap') as string] });
      const ready = world({
        current: cur,
        previous: prev,
        keys,
        tags: tagsAt(NOW - 2 * 3_600_000),
        gate: { probes: [], confirmed: false },
      });
      expect(plan(ready, settings)).toMatchObject({ kind: 'verify-current', keySid: sid(2) });
      expect(plan({ ...ready, verified: new Set([sid(2)]) }, settings)).toEqual({
        kind: 'retire-previous',
        keySid: sid(1),
        versionId: 'v1',
      });
    });

    it('waits on every probe that does not report the new key, and on manual confirmation by name', () => {
      const obs = world({
        current: cur,
        previous: prev,
        keys,
        tags: tagsAt(NOW - 2 * 3_600_000),
        gate: {
          probes: [
            { url: 'http://a', ok: true, reported: sid(2) },
            { url: 'http://b', ok: false, reported: sid(1), problem: `reports ${sid(1)}` },
          ],
          confirmed: false,
        },
      });
      const manual = { ...settings, gate: { ...settings.gate, manualConfirm: true } };
      const d = plan(obs, manual);
      expect(d).toMatchObject({ kind: 'waiting' });
      expect(d.kind === 'waiting' && d.on).toEqual([
        `probe http://b: reports ${sid(1)}`,
        'manual confirmation: run "twilio-key-rotator confirm app"',
      ]);
      const confirmed = plan(
        {
          ...obs,
          gate: { probes: [obs.gate!.probes[0]!], confirmed: true },
          secret: { ...obs.secret!, tags: { ...obs.secret!.tags, [TAG_CONFIRMED]: 'v2' } },
        },
        manual,
      );
      expect(confirmed.kind).toBe('verify-current');
    });

    it('reports stuck past the maximum wait and still deletes nothing', () => {
      const d = plan(
        world({
          current: cur,
          previous: prev,
          keys,
          tags: tagsAt(NOW - 8 * DAY),
          gate: { probes: [{ url: 'http://b', ok: false, problem: 'no answer' }], confirmed: false },
        }),
        settings,
      );
      expect(d).toMatchObject({ kind: 'stuck', kept: sid(1) });
    });

    it('does not start a new rotation while the previous key is alive, even when forced', () => {
      const d = plan(
        world({
          current: cur,
          previous: prev,
          keys,
          tags: tagsAt(NOW - 60_000),
          gate: { probes: [], confirmed: false },
        }),
        { ...settings, force: true },
      );
      expect(d.kind).toBe('waiting');
    });

    it('is done once the previous key is gone from Twilio', () => {
      expect(
        plan(world({ current: cur, previous: prev, keys: [key(2, 'x')], tags: tagsAt(NOW - 60_000) }), settings).kind,
      ).toBe('done');
    });

    it('never deletes the key a current or pending version holds, even if a previous version names it too', () => {
      const d = plan(
        world({ current: cur, previous: version('v1', sid(2), NOW - DAY), keys, tags: tagsAt(NOW - 60_000) }),
        settings,
      );
      expect(d.kind).toBe('done');
    });

    it('reports stuck, not a rotation, when the current key vanished while the previous one serves', () => {
      const d = plan(
        world({ current: cur, previous: prev, keys: [key(1, null)], tags: tagsAt(NOW - 60_000) }),
        settings,
      );
      expect(d).toMatchObject({ kind: 'stuck', kept: sid(1) });
    });
  });
});

describe('ownership facts no late write can undo (issue 19)', () => {
  const settingsNoGrace = { ...settings, orphanGraceMs: 0 };

  it('derives a rotation id exactly as rotationId does, for every counter it may have used', () => {
    const used: string[] = [];
    for (let k = 0; k < 5; k++) {
      const id = rotationId('twilio/app', 'v1', used);
      expect(isRotationFrom('twilio/app', 'v1', id, 4)).toBe(true);
      used.push(id);
    }
    expect(isRotationFrom('twilio/app', 'v0', used[0]!, 100)).toBe(false);
    expect(isRotationFrom('twilio/other', 'v1', used[0]!, 100)).toBe(false);
  });

  it('proves its own promotion from the version ids when the promotion tag names another pair', () => {
    const v1 = 'a'.repeat(32);
    const v2 = rotationId('twilio/app', v1, [v1]);
    const obs = world({
      current: version(v2, sid(2), NOW - 3_600_000),
      previous: version(v1, sid(1), NOW - 31 * DAY),
      keys: [key(1, null), key(2, own(v2))],
      // A killed run's late write: the promotion before the last one.
      tags: { ...since(v2, NOW - 3_600_000), ...promoted('0'.repeat(32), v1) },
    });
    expect(plan(obs, settings)).toEqual({
      kind: 'check-gate',
      versionId: v2,
      expect: sid(2),
      sinceMs: NOW - 3_600_000,
    });
  });

  it('never sweeps a key of its own whose version lost its label, nor one a version of unknown value may hold', () => {
    const cur = version('v3', sid(3), NOW - DAY);
    const v1 = 'b'.repeat(32);
    const served = key(1, own(v1));
    const obs = world({ current: cur, keys: [served, key(3, null)], tags: since('v3', NOW - DAY) });
    // Version v1 exists (no label now, so its value is not read): it held the key.
    obs.secret!.allVersionIds.push(v1);
    expect(plan(obs, settingsNoGrace).kind).toBe('done');
    expect(observationWarnings(obs, settingsNoGrace)).toContainEqual(
      expect.stringContaining(`key ${sid(1)} of this target has no label in the secret, but version ${v1}`),
    );
    // Without that version, nothing ever held it: an orphan.
    obs.secret!.allVersionIds.pop();
    expect(plan(obs, settingsNoGrace)).toEqual({ kind: 'sweep-orphans', keys: [served] });
  });

  it('sweeps nothing it cannot tie to the whole history: ids not all read, or a history the store trimmed', () => {
    const cur = version('v3', sid(3), NOW - DAY);
    const lost = key(1, own('c'.repeat(32)));
    const base = { current: cur, keys: [lost, key(3, null)], tags: since('v3', NOW - DAY) };
    const partial = world(base);
    partial.secret!.versionIdsComplete = false;
    expect(plan(partial, settingsNoGrace).kind).toBe('done');
    const long = world(base);
    for (let i = 0; i < 100; i++) long.secret!.allVersionIds.push(`old-${i}`);
    expect(plan(long, settingsNoGrace).kind).toBe('done');
  });

  it('never retires or sweeps a key another configured target holds', () => {
    const v1 = 'a'.repeat(32);
    const v2 = rotationId('twilio/app', v1, [v1]);
    const gatePassed = {
      current: version(v2, sid(2), NOW - 2 * 3_600_000),
      previous: version(v1, sid(1), NOW - 31 * DAY),
      keys: [key(1, null), key(2, own(v2))],
      tags: since(v2, NOW - 2 * 3_600_000),
      verifiedSids: [sid(2)],
      gate: { probes: [], confirmed: false },
    };
    expect(plan(world(gatePassed), settings)).toMatchObject({ kind: 'retire-previous', keySid: sid(1) });
    const held = world({ ...gatePassed, servedElsewhere: { sids: new Map([[sid(1), 'app2']]) } });
    expect(plan(held, settings).kind).toBe('done');
    const unknown = world({ ...gatePassed, servedElsewhere: { problem: 'AccessDenied' } });
    expect(plan(unknown, settings)).toMatchObject({ kind: 'stuck', kept: sid(1) });
    const orphan = key(5, own('d'.repeat(32)));
    const sweep = world({ ...gatePassed, keys: [...gatePassed.keys, orphan], verifiedSids: [] });
    expect(plan(sweep, settingsNoGrace)).toEqual({ kind: 'sweep-orphans', keys: [orphan] });
    const heldOrphan = { ...sweep, servedElsewhere: { sids: new Map([[orphan.sid, 'app2']]) } };
    expect(plan(heldOrphan, settingsNoGrace).kind).not.toBe('sweep-orphans');
  });
});
