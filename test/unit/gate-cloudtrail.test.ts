import { describe, expect, it } from 'vitest';
import { gateBlockers } from '../../src/core/gate.js';
import { readVerdict, type SecretReadEvent } from '../../src/core/reads.js';

/** The CloudTrail evidence of the consumer gate, as a pure decision over read events and a fixed clock. */

const MIN = 60_000;
const DAY = 86_400_000;
const SINCE = Date.UTC(2026, 5, 10, 12, 0, 0);
const NEW = 'b'.repeat(32);
const OLD = 'a'.repeat(32);
const BILLING = 'arn:aws:iam::123456789012:role/billing-api';
const REPORTS = 'arn:aws:iam::123456789012:user/reports';
const ROTATOR = 'arn:aws:iam::123456789012:role/twilio-key-rotator';
const settings = { lookbackMs: 7 * DAY, deliveryDelayMs: 15 * MIN, ignorePrincipals: [ROTATOR] };
const at = { nowMs: SINCE + 25 * MIN, sinceMs: SINCE, versionId: NEW, stages: ['AWSCURRENT'] };
const read = (principal: string, atMs: number, extra: Partial<SecretReadEvent> = {}): SecretReadEvent => ({
  principal,
  atMs,
  failed: false,
  ...extra,
});
const behind = (who: string, detail: string) => `CloudTrail evidence: ${who} is still on the old version (${detail})`;
const log = (...reads: SecretReadEvent[]) => ({ reads, fromMs: SINCE - 7 * DAY });

describe('CloudTrail evidence', () => {
  it('waits out the delivery delay after the promotion before it judges anyone', () => {
    // 15 minutes of delivery delay, plus 5 for the skew between the rotator's clock and AWS's.
    const v = readVerdict(log(), settings, { ...at, nowMs: SINCE + 19 * MIN });
    expect(v.on).toEqual([
      expect.stringContaining('reads before the promotion are all known at 2026-06-10T12:20:00Z') as string,
    ]);
    expect(readVerdict(log(), settings, { ...at, nowMs: SINCE + 20 * MIN }).on).toEqual([]);
  });

  it('names each reader before the promotion that has not read the new version since, with its last read', () => {
    const v = readVerdict(
      log(
        read(BILLING, SINCE - 2 * DAY),
        read(REPORTS, SINCE - DAY),
        read(REPORTS, SINCE + MIN, { versionStage: 'AWSPREVIOUS' }),
      ),
      settings,
      at,
    );
    expect(v.readers).toBe(2);
    expect(v.on).toEqual([
      behind(BILLING, 'last read 2026-06-08T12:00:00Z, no read since the promotion'),
      behind(REPORTS, 'last read 2026-06-10T12:01:00Z, asked for AWSPREVIOUS'),
    ]);
  });

  it('passes once every reader has read the new version: AWSCURRENT by default, or its VersionId', () => {
    const v = readVerdict(
      log(
        read(BILLING, SINCE - DAY),
        read(REPORTS, SINCE - DAY, { versionId: OLD }),
        read(BILLING, SINCE + 6 * MIN),
        read(REPORTS, SINCE + 2 * MIN, { versionId: NEW }),
      ),
      settings,
      at,
    );
    expect(v).toEqual({ on: [], behind: [], readers: 2 });
  });

  it('counts an explicit AWSPENDING read as the new version when the new version is pending (Auth Token)', () => {
    const pendingAt = { ...at, stages: ['AWSPENDING'] };
    const before = read(BILLING, SINCE - DAY);
    expect(readVerdict(log(before, read(BILLING, SINCE + 6 * MIN)), settings, pendingAt).behind).toHaveLength(1);
    expect(
      readVerdict(log(before, read(BILLING, SINCE + 6 * MIN, { versionStage: 'AWSPENDING' })), settings, pendingAt).on,
    ).toEqual([]);
  });

  it('holds a reader that went back to the old version after reading the new one', () => {
    const v = readVerdict(
      log(read(BILLING, SINCE - DAY), read(BILLING, SINCE + MIN), read(BILLING, SINCE + 2 * MIN, { versionId: OLD })),
      settings,
      at,
    );
    expect(v.behind.map((b) => b.principal)).toEqual([BILLING]);
  });

  it('ignores configured principals (globs; sessions by their role), failed calls and reads outside the window', () => {
    const v = readVerdict(
      log(
        read(ROTATOR, SINCE - DAY, { sessionArn: 'arn:aws:sts::123456789012:assumed-role/twilio-key-rotator/x' }),
        read(REPORTS, SINCE - DAY, { failed: true }),
        read(BILLING, SINCE - 8 * DAY),
        read('arn:aws:iam::123456789012:role/ci-deploy', SINCE - DAY),
      ),
      { ...settings, ignorePrincipals: [ROTATOR, 'arn:aws:iam::*:role/ci-*'] },
      at,
    );
    expect(v).toEqual({ on: [], behind: [], readers: 0 });
  });

  it('does not trust a read by stage within five minutes of the promotion: AWS may have answered it before', () => {
    // The rotator's clock may be up to five minutes behind AWS's: this read may have got the old value.
    const early = read(BILLING, SINCE + 4 * MIN);
    expect(readVerdict(log(early), settings, at).behind).toEqual([
      { principal: BILLING, lastReadMs: SINCE + 4 * MIN, asked: 'AWSCURRENT' },
    ]);
    expect(readVerdict(log(early, read(BILLING, SINCE + 5 * MIN)), settings, at).on).toEqual([]);
    // Its VersionId says which version it read, whatever the clocks.
    expect(readVerdict(log(read(BILLING, SINCE + 4 * MIN, { versionId: NEW })), settings, at).on).toEqual([]);
  });

  it('names ten principals and counts the rest', () => {
    const many = Array.from({ length: 13 }, (_, i) => read(`arn:aws:iam::123456789012:user/u${i}`, SINCE - DAY + i));
    const v = readVerdict(log(...many), settings, at);
    expect(v.behind).toHaveLength(13);
    expect(v.on).toHaveLength(11);
    expect(v.on.at(-1)).toBe('CloudTrail evidence: 3 more principals are still on the old version');
  });

  it('waits, naming why, when the events could not be read or do not reach back to the window', () => {
    expect(readVerdict({ problem: 'LookupEvents was refused' }, settings, at).on).toEqual([
      'CloudTrail evidence: LookupEvents was refused',
    ]);
    expect(readVerdict({ reads: [], fromMs: SINCE - DAY }, settings, at).on[0]).toMatch(/the lookup started at/);
  });

  it('keeps the gate closed when CloudTrail evidence is configured but was not gathered', () => {
    const gateSettings = { minOverlapMs: 0, maxWaitMs: DAY, manualConfirm: false, cloudtrail: settings };
    const where = { nowMs: at.nowMs, sinceMs: SINCE, expect: 'SK1', target: 'app' };
    expect(gateBlockers({ probes: [], confirmed: false }, gateSettings, where)).toEqual([
      'CloudTrail evidence: not gathered in this run',
    ]);
    const passed = { probes: [], confirmed: false, reads: { on: [], behind: [], readers: 1 } };
    expect(gateBlockers(passed, gateSettings, where)).toEqual([]);
  });
});
