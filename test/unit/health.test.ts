import { describe, expect, it } from 'vitest';
import {
  assess,
  decide,
  formatHealth,
  healthTagChanges,
  nextHealth,
  parseHealth,
  PROBLEMS,
  TAG_ALERT_PREFIX,
  type Health,
} from '../../src/core/health.js';
import type { TargetResult } from '../../src/core/outcome.js';

/** The pure decisions behind alerts: what a result shows, what is due, what the state becomes. */

const NOW = Date.parse('2026-11-30T12:00:00Z');
const HOUR = 3_600_000;
const settings = { noun: 'key', maxAgeMs: 30 * 24 * HOUR, graceMs: 7 * 24 * HOUR };
const base = { target: 'app', credential: 'api-key', steps: [] };
const seen = { rotationsStarted: 0, rotationsCompleted: 0, tags: {} };

describe('health state in tags', () => {
  it('fits Secrets Manager tags (keys up to 128, values up to 256, its character set) and reads back', () => {
    const health: Health = {};
    for (const p of PROBLEMS) health[p] = { sinceMs: NOW - 9_999_999_999, notifiedAtMs: NOW };
    const tags = healthTagChanges({}, health);
    expect(Object.keys(tags)).toHaveLength(PROBLEMS.length);
    for (const [k, v] of Object.entries(tags)) {
      expect(k).toMatch(/^[A-Za-z0-9 _.:/=+@-]{1,128}$/);
      expect(v).toMatch(/^[A-Za-z0-9 _.:/=+@-]{0,256}$/);
    }
    expect(parseHealth(tags)).toEqual(health);
    expect(formatHealth({ sinceMs: NOW })).toBe('since=2026-11-30T12:00:00.000Z notified=-');
    expect(parseHealth({ [`${TAG_ALERT_PREFIX}stuck`]: 'since=2026-11-30T12:00:00.000Z notified=-' })).toEqual({
      stuck: { sinceMs: NOW },
    });
  });

  it('ignores cleared and malformed tags, and writes only what changed', () => {
    expect(parseHealth({ [`${TAG_ALERT_PREFIX}stuck`]: '', [`${TAG_ALERT_PREFIX}key-overdue`]: 'garbage' })).toEqual(
      {},
    );
    const open: Health = { stuck: { sinceMs: NOW } };
    expect(healthTagChanges(open, open)).toEqual({});
    expect(healthTagChanges(open, {})).toEqual({ [`${TAG_ALERT_PREFIX}stuck`]: '' });
  });
});

describe('assess', () => {
  it('reports a gone current credential, not the stuck target it leaves', () => {
    const result: TargetResult = {
      ...base,
      kind: 'stuck',
      on: ['the current key was deleted'],
      sinceMs: NOW,
      seen: { ...seen, goneAtStart: 'SK1' },
    };
    const a = assess(result, settings, NOW);
    expect(a.found.map((f) => f.problem)).toEqual(['current-missing']);
    expect(a.judged.has('stuck')).toBe(true);
  });

  it('judges nothing about failures from a run cut short, nor about the credential without a look', () => {
    const deferred = assess({ ...base, kind: 'deferred', detail: 'out of time' }, settings, NOW);
    expect([...deferred.judged]).toEqual([]);
    const blind = assess({ ...base, kind: 'failed', step: 'read-state', error: 'x' }, settings, NOW);
    expect(blind.found.map((f) => f.problem)).toEqual(['step-failed']);
    expect([...blind.judged].sort()).toEqual(['foreign-secondary', 'step-failed', 'verification-failed']);
  });
});

describe('decide and nextHealth', () => {
  const failed: TargetResult = { ...base, kind: 'failed', step: 'observe', error: 'boom', seen };
  const done: TargetResult = { ...base, kind: 'done', current: 'SK1', nextDueAtMs: NOW, seen };

  it('retries an alert no channel received, and forgets a problem that cleared before anyone heard of it', () => {
    const a = assess(failed, settings, NOW);
    const first = decide({}, a, NOW, 24 * HOUR);
    const undelivered = nextHealth({}, a, first, () => false, NOW);
    expect(undelivered).toEqual({ 'step-failed': { sinceMs: NOW } });
    expect(decide(undelivered, a, NOW + HOUR, 24 * HOUR)).toHaveLength(1);

    const cleared = assess(done, settings, NOW + HOUR);
    expect(decide(undelivered, cleared, NOW + HOUR, 24 * HOUR)).toEqual([]);
    expect(nextHealth(undelivered, cleared, [], () => true, NOW + HOUR)).toEqual({});
  });

  it('keeps a resolve due until a channel takes it, and keeps problems a run could not judge', () => {
    const open: Health = {
      'step-failed': { sinceMs: NOW, notifiedAtMs: NOW },
      stuck: { sinceMs: NOW, notifiedAtMs: NOW },
    };
    const a = assess(done, settings, NOW + HOUR);
    const notices = decide(open, a, NOW + HOUR, 24 * HOUR);
    expect(notices).toEqual([
      { action: 'resolve', problem: 'step-failed', sinceMs: NOW },
      { action: 'resolve', problem: 'stuck', sinceMs: NOW },
    ]);
    expect(nextHealth(open, a, notices, () => false, NOW + HOUR)).toEqual(open);
    expect(nextHealth(open, a, notices, () => true, NOW + HOUR)).toEqual({});

    const cutShort = assess({ ...base, kind: 'deferred', detail: 'out of time' }, settings, NOW + HOUR);
    expect(decide(open, cutShort, NOW + HOUR, 24 * HOUR)).toEqual([]);
    expect(nextHealth(open, cutShort, [], () => true, NOW + HOUR)).toEqual(open);
  });
});
