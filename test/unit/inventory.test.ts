import { describe, expect, it } from 'vitest';
import { classifyKeys } from '../../src/core/inventory.js';
import type { TwilioKey } from '../../src/core/ports.js';
import { keyClaims } from '../../src/credentials/named/inventory.js';
import { keyName, ownerFingerprint } from '../../src/credentials/named/naming.js';
import type { LabelledKey, Observation, PlannerSettings } from '../../src/credentials/named/observation.js';
import { orphanKeys } from '../../src/credentials/named/plan.js';
import { TAG_PROMOTED } from '../../src/core/labels.js';

/** The audit's classification: pure, from an observation the planner would see, and a key list. */

const AC = `AC${'1'.repeat(32)}`;
const DAY = 86_400_000;
const NOW = Date.parse('2026-11-23T12:00:00Z');
const sid = (n: number) => `SK${n.toString(16).padStart(32, '0')}`;
const FP = ownerFingerprint(AC, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio/app-AbCdEf');
const OTHER_FP = ownerFingerprint(AC, 'arn:aws:secretsmanager:us-east-1:210987654321:secret:twilio/app-XyZxYz');
const settings: PlannerSettings = {
  prefix: 'rot-',
  target: 'app',
  maxAgeMs: 30 * DAY,
  orphanGraceMs: 900_000,
  force: false,
  gate: { minOverlapMs: 3_600_000, maxWaitMs: 7 * DAY, manualConfirm: false },
};
const version = (versionId: string, keySid: string): LabelledKey => ({
  versionId,
  createdAtMs: NOW - DAY,
  key: { accountSid: AC, apiKeySid: keySid, apiKeySecret: 'x'.repeat(32) },
  document: {},
});
const key = (n: number, friendlyName: string | null, ageMs = DAY): TwilioKey => ({
  sid: sid(n),
  friendlyName,
  createdAtMs: NOW - ageMs,
});

const keys = [
  key(1, keyName('rot-', FP, 'a'.repeat(24)), 2 * DAY), // current
  key(2, keyName('rot-', FP, 'b'.repeat(24)), 40 * DAY), // previous, promoted by the rotator
  key(3, keyName('rot-', FP, 'c'.repeat(24)), 3 * DAY), // orphan past the grace
  key(4, keyName('rot-', FP, 'd'.repeat(24)), 60_000), // orphan inside the grace
  key(5, keyName('rot-', OTHER_FP, 'e'.repeat(24)), 5 * DAY), // another deployment's
  key(6, 'Studio API Key', 500 * DAY),
  key(7, 'admin-main', 400 * DAY),
  key(8, 'laptop test key', 200 * DAY),
  key(9, null, DAY),
];
const obs = (over: Partial<Observation> = {}): Observation => ({
  nowMs: NOW,
  secretId: 'twilio/app',
  secret: {
    secretId: 'twilio/app',
    identity: 'arn:test',
    versions: [],
    allVersionIds: ['v1', 'v2'],
    tags: { [TAG_PROMOTED]: 'v2 v1' },
  },
  fingerprint: FP,
  current: version('v1', sid(1)),
  previous: version('v2', sid(2)),
  unreadable: [],
  keys,
  verified: new Set(),
  protectedSids: new Set([sid(7)]),
  ...over,
});

const classify = (o: Observation) =>
  classifyKeys(o.keys, keyClaims(o, settings), new Set([sid(7)]), { nowMs: NOW, olderThanMs: 90 * DAY });

describe('audit classification', () => {
  it('puts every key in one class, and marks only past-grace orphans for cleanup', () => {
    const entries = classify(obs());
    const by = Object.fromEntries(entries.map((e) => [e.sid, e]));
    expect(entries.map((e) => [e.sid, e.class, e.cleanup, e.old])).toEqual([
      [sid(1), 'managed', false, false],
      [sid(2), 'managed', false, false],
      [sid(3), 'rotator-orphan', true, false],
      [sid(4), 'rotator-orphan', false, false],
      [sid(5), 'unmanaged', false, false],
      [sid(6), 'twilio-managed', false, true],
      [sid(7), 'admin', false, true],
      [sid(8), 'unmanaged', false, true],
      [sid(9), 'unmanaged', false, false],
    ]);
    expect(by[sid(1)]!.claims).toEqual([{ target: 'app', role: 'current' }]);
    expect(by[sid(2)]!.claims).toEqual([{ target: 'app', role: 'previous' }]);
    expect(by[sid(4)]!.note).toMatch(/younger than orphanGraceSeconds \(900 s\)/);
    expect(by[sid(5)]!.note).toMatch(/without its fingerprint .*never deleted/);
  });

  it('marks for cleanup exactly the keys the planner would sweep', () => {
    for (const o of [obs(), obs({ previous: undefined }), obs({ keys: keys.slice(2) })]) {
      const candidates = classify(o)
        .filter((e) => e.cleanup)
        .map((e) => e.sid);
      expect(candidates).toEqual(orphanKeys(o, settings).map((k) => k.sid));
    }
  });

  it('cleans up nothing while a version it cannot read may hold any of its keys', () => {
    const o = obs({ unreadable: [{ stage: 'AWSPREVIOUS', versionId: 'v0', sids: [], problem: 'value is not JSON' }] });
    const entries = classify(o);
    expect(entries.filter((e) => e.cleanup)).toEqual([]);
    expect(entries.find((e) => e.sid === sid(3))!.note).toMatch(/cannot be read/);
  });

  it('counts a key named in an unreadable version as managed', () => {
    const o = obs({
      unreadable: [{ stage: 'AWSPREVIOUS', versionId: 'v0', sids: [sid(8)], problem: 'value is not JSON' }],
    });
    expect(classify(o).find((e) => e.sid === sid(8))).toMatchObject({ class: 'managed', cleanup: false });
  });

  it('ranks admin over managed, and managed over a Twilio name or an orphan name', () => {
    const o = obs({ current: version('v1', sid(7)), previous: version('v2', sid(6)) });
    const entries = classify(o);
    expect(entries.find((e) => e.sid === sid(7))!.class).toBe('admin');
    expect(entries.find((e) => e.sid === sid(6))!.class).toBe('managed');
    // The old current key (sid 1) is referenced by nothing now: it is this target's orphan.
    expect(entries.find((e) => e.sid === sid(1))).toMatchObject({ class: 'rotator-orphan', cleanup: true });
  });

  it('names the pending key of a rotation under way as managed, with its role', () => {
    const o = obs({ pending: version('v3', sid(3)) });
    const entry = classify(o).find((e) => e.sid === sid(3))!;
    expect(entry).toMatchObject({ class: 'managed', cleanup: false, claims: [{ target: 'app', role: 'pending' }] });
  });

  it('calls a previous key the rotator did not promote what it is: kept, to delete by hand', () => {
    const o = obs({ secret: { ...obs().secret!, tags: {} } });
    const previous = classify(o).find((e) => e.sid === sid(2))!;
    expect(previous.class).toBe('managed');
    expect(keyClaims(o, settings).find((c) => c.sid === sid(2))!.note).toMatch(/not the rotator's to retire/);
  });
});
