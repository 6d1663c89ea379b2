import { describe, expect, it } from 'vitest';
import { plan } from '../../src/core/planner.js';
import { rotationId } from '../../src/core/rotation-id.js';
import {
  TAG_CONFIRMED,
  TAG_CURRENT_SINCE,
  type LabelledKey,
  type Observation,
  type PlannerSettings,
} from '../../src/core/state.js';
import type { TwilioKey } from '../../src/core/ports.js';

const AC = `AC${'1'.repeat(32)}`;
const sid = (n: number) => `SK${n.toString(16).padStart(32, '0')}`;
const DAY = 86_400_000;
const NOW = Date.parse('2026-11-23T12:00:00Z');
const PREFIX = 'rot-';

const settings: PlannerSettings = {
  prefix: PREFIX,
  maxAgeMs: 30 * DAY,
  orphanGraceMs: 0,
  force: false,
  gate: { minOverlapMs: 3_600_000, maxWaitMs: 7 * DAY, manualConfirm: false, probeCount: 0 },
};

function version(versionId: string, keySid: string, createdAtMs: number): LabelledKey {
  return { versionId, createdAtMs, key: { accountSid: AC, apiKeySid: keySid, apiKeySecret: 'x'.repeat(32) } };
}
function key(n: number, friendlyName: string | null, createdAtMs = NOW - DAY): TwilioKey {
  return { sid: sid(n), friendlyName, createdAtMs };
}

function world(parts: {
  current?: LabelledKey;
  pending?: LabelledKey;
  previous?: LabelledKey;
  keys: TwilioKey[];
  tags?: Record<string, string>;
  verified?: string[];
  gate?: Observation['gate'];
  nowMs?: number;
}): Observation {
  const versions = [parts.current, parts.pending, parts.previous].filter((v): v is LabelledKey => v !== undefined);
  return {
    nowMs: parts.nowMs ?? NOW,
    secretId: 'twilio/app',
    secret: parts.current
      ? {
          secretId: 'twilio/app',
          versions: versions.map((v) => ({ versionId: v.versionId, stages: [], createdAtMs: v.createdAtMs })),
          allVersionIds: versions.map((v) => v.versionId),
          tags: parts.tags ?? {},
        }
      : undefined,
    keys: parts.keys,
    verified: new Set(parts.verified ?? []),
    ...(parts.current ? { current: parts.current } : {}),
    ...(parts.pending ? { pending: parts.pending } : {}),
    ...(parts.previous ? { previous: parts.previous } : {}),
    ...(parts.gate ? { gate: parts.gate } : {}),
  };
}

const since = (versionId: string, atMs: number) => ({
  [TAG_CURRENT_SINCE]: `${versionId} ${new Date(atMs).toISOString()}`,
});

describe('planner', () => {
  it('creates the secret on the first run, with a rotation id derived from the secret id', () => {
    const d = plan(world({ keys: [] }), settings);
    expect(d).toEqual({
      kind: 'create-secret',
      versionId: rotationId('twilio/app', 'genesis', []),
      friendlyName: PREFIX + rotationId('twilio/app', 'genesis', []),
    });
  });

  it('sweeps its own unreferenced keys before anything else, and never a key it did not make', () => {
    const cur = version('v1', sid(1), NOW - DAY);
    const d = plan(
      world({
        current: cur,
        keys: [
          key(1, 'manual'),
          key(2, `${PREFIX}${'a'.repeat(32)}`),
          key(3, 'someone-else'),
          key(4, `${PREFIX}short`),
        ],
        tags: since('v1', NOW - DAY),
      }),
      settings,
    );
    expect(d).toEqual({ kind: 'sweep-orphans', keys: [key(2, `${PREFIX}${'a'.repeat(32)}`)] });
  });

  it('leaves a young unreferenced key alone while the grace period runs: it may be a live racer', () => {
    const cur = version('v1', sid(1), NOW - DAY);
    const young = key(2, `${PREFIX}${'a'.repeat(32)}`, NOW - 1000);
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
    expect(plan(world({ current: cur, keys: [key(1, null)], verified: [sid(1)] }), settings)).toEqual({
      kind: 'mark-current',
      versionId: 'v1',
    });
  });

  it('is done while the current key is younger than maxAge, and starts a rotation when it is due', () => {
    const cur = version('v1', sid(1), NOW - 29 * DAY);
    const young = plan(world({ current: cur, keys: [key(1, null)], tags: since('v1', NOW - 29 * DAY) }), settings);
    expect(young).toEqual({ kind: 'done', currentKeySid: sid(1), nextDueAtMs: cur.createdAtMs + 30 * DAY });
    const old = { ...cur, createdAtMs: NOW - 31 * DAY };
    const due = plan(world({ current: old, keys: [key(1, null)], tags: since('v1', NOW - 31 * DAY) }), settings);
    expect(due).toMatchObject({ kind: 'start-rotation', versionId: rotationId('twilio/app', 'v1', ['v1']) });
  });

  it('rotates when forced or when the current key vanished from Twilio', () => {
    const cur = version('v1', sid(1), NOW - DAY);
    expect(
      plan(world({ current: cur, keys: [key(1, null)], tags: since('v1', NOW) }), { ...settings, force: true }),
    ).toMatchObject({ kind: 'start-rotation', reason: 'forced (--force)' });
    expect(plan(world({ current: cur, keys: [], tags: since('v1', NOW) }), settings)).toMatchObject({
      kind: 'start-rotation',
      reason: expect.stringContaining('no longer exists') as string,
    });
  });

  it('never reuses a rotation id the secret already used', () => {
    const first = rotationId('twilio/app', 'v1', ['v1']);
    expect(rotationId('twilio/app', 'v1', ['v1', first])).not.toBe(first);
  });

  it('verifies a pending key, then promotes it; drops a pending whose key is gone', () => {
    const cur = version('v1', sid(1), NOW - 31 * DAY);
    const pend = version('v2', sid(2), NOW);
    const base = { current: cur, pending: pend, tags: since('v1', NOW - 31 * DAY) };
    expect(plan(world({ ...base, keys: [key(1, null), key(2, 'x')] }), settings)).toEqual({
      kind: 'verify-pending',
      versionId: 'v2',
      keySid: sid(2),
    });
    expect(plan(world({ ...base, keys: [key(1, null), key(2, 'x')], verified: [sid(2)] }), settings)).toEqual({
      kind: 'promote',
      versionId: 'v2',
      keySid: sid(2),
    });
    expect(plan(world({ ...base, keys: [key(1, null)] }), settings)).toEqual({
      kind: 'drop-dead-pending',
      versionId: 'v2',
      keySid: sid(2),
    });
  });

  describe('consumer gate', () => {
    const cur = version('v2', sid(2), NOW - 2 * 3_600_000);
    const prev = version('v1', sid(1), NOW - 31 * DAY);
    const keys = [key(1, null), key(2, 'x')];

    it('asks for the gate once the old key is still alive', () => {
      expect(
        plan(world({ current: cur, previous: prev, keys, tags: since('v2', NOW - 2 * 3_600_000) }), settings),
      ).toEqual({ kind: 'check-gate', keySid: sid(1) });
    });

    it('waits out the minimum overlap, then verifies the new key again before deleting the old one', () => {
      const early = plan(
        world({
          current: cur,
          previous: prev,
          keys,
          tags: since('v2', NOW - 60_000),
          gate: { sinceMs: NOW, probes: [], confirmed: false },
        }),
        settings,
      );
      expect(early).toMatchObject({ kind: 'waiting', on: [expect.stringContaining('minimum overlap') as string] });
      const ready = world({
        current: cur,
        previous: prev,
        keys,
        tags: since('v2', NOW - 2 * 3_600_000),
        gate: { sinceMs: NOW, probes: [], confirmed: false },
      });
      expect(plan(ready, settings)).toMatchObject({ kind: 'verify-current', keySid: sid(2) });
      expect(plan({ ...ready, verified: new Set([sid(2)]) }, settings)).toEqual({
        kind: 'retire-previous',
        keySid: sid(1),
        versionId: 'v1',
      });
    });

    it('waits on every probe that does not report the new key, and on manual confirmation', () => {
      const obs = world({
        current: cur,
        previous: prev,
        keys,
        tags: since('v2', NOW - 2 * 3_600_000),
        gate: {
          sinceMs: NOW,
          probes: [
            { url: 'http://a', ok: true, reported: sid(2) },
            { url: 'http://b', ok: false, reported: sid(1), problem: `reports ${sid(1)}` },
          ],
          confirmed: false,
        },
      });
      const d = plan(obs, { ...settings, gate: { ...settings.gate, manualConfirm: true } });
      expect(d).toMatchObject({ kind: 'waiting' });
      expect(d.kind === 'waiting' && d.on).toEqual([
        `probe http://b: reports ${sid(1)}`,
        expect.stringContaining('manual confirmation') as string,
      ]);
      const confirmed = plan(
        {
          ...obs,
          gate: { ...obs.gate!, probes: [obs.gate!.probes[0]!], confirmed: true },
          secret: { ...obs.secret!, tags: { ...obs.secret!.tags, [TAG_CONFIRMED]: 'v2' } },
        },
        { ...settings, gate: { ...settings.gate, manualConfirm: true } },
      );
      expect(confirmed.kind).toBe('verify-current');
    });

    it('reports stuck past the maximum wait and still deletes nothing', () => {
      const d = plan(
        world({
          current: cur,
          previous: prev,
          keys,
          tags: since('v2', NOW - 8 * DAY),
          gate: { sinceMs: NOW, probes: [{ url: 'http://b', ok: false, problem: 'no answer' }], confirmed: false },
        }),
        settings,
      );
      expect(d).toMatchObject({ kind: 'stuck', previousKeySid: sid(1) });
    });

    it('does not start a new rotation while the previous key is alive, even when forced', () => {
      const d = plan(
        world({
          current: cur,
          previous: prev,
          keys,
          tags: since('v2', NOW - 60_000),
          gate: { sinceMs: NOW, probes: [], confirmed: false },
        }),
        { ...settings, force: true },
      );
      expect(d.kind).toBe('waiting');
    });

    it('is done once the previous key is gone from Twilio', () => {
      expect(
        plan(world({ current: cur, previous: prev, keys: [key(2, 'x')], tags: since('v2', NOW - 60_000) }), settings)
          .kind,
      ).toBe('done');
    });

    it('never deletes the key a current or pending version holds, even if a previous version names it too', () => {
      const d = plan(
        world({ current: cur, previous: version('v1', sid(2), NOW - DAY), keys, tags: since('v2', NOW - 60_000) }),
        settings,
      );
      expect(d.kind).toBe('done');
    });
  });
});
