import { afterEach, describe, expect, it } from 'vitest';
import { cloudTrailReads } from '../../src/adapters/cloudtrail/reads.js';
import type { StoredSecret } from '../../src/core/ports.js';
import { startCloudTrailEmulator, type CloudTrailEmulator } from '../emulators/cloudtrail/index.js';

/** The CloudTrail adapter over the real SDK: one walk per run, extended backwards, bounded in pages. */

const ACCOUNT = '123456789012';
const ARN = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/one-AbCdEf`;
const OTHER = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/two-GhIjKl`;
const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 5, 10, 12, 0, 0);
const secret = (identity: string, secretId: string): StoredSecret => ({
  secretId,
  identity,
  versions: [],
  allVersionIds: [],
  tags: {},
});

let ct: CloudTrailEmulator | undefined;
afterEach(async () => {
  await ct?.close();
  ct = undefined;
});

async function withReads(count: number, everyMs: number) {
  ct = await startCloudTrailEmulator({ now: () => NOW, rateLimit: { requests: 1000, perMs: 1000 } });
  for (let i = 0; i < count; i++)
    ct.record({
      atMs: NOW - (i + 1) * everyMs,
      accessKeyId: i % 2 ? 'AKIDA' : 'AKIDB',
      region: 'us-east-1',
      accountId: ACCOUNT,
      requestParameters: { secretId: i % 3 === 0 ? 'app/two' : ARN },
      ...(i % 3 === 0 ? { secretArn: OTHER } : { secretArn: ARN }),
    });
  return ct;
}

const options = (url: string, maxPages = 100) => ({
  region: 'us-east-1',
  endpoint: url,
  timeoutMs: 2000,
  maxPages,
  requestsPerSecond: 2,
  retry: { attempts: 3, budgetMs: 10_000, minDelayMs: 5 },
  now: () => NOW,
  credentials: { accessKeyId: 'AKIDROTATOR', secretAccessKey: 'x' },
});

describe('CloudTrail reads', () => {
  it('walks once for every secret, filters by ARN, and walks further back only for the missing part', async () => {
    const trail = await withReads(30, HOUR);
    const reads = cloudTrailReads(options(trail.url));
    try {
      const one = await reads.reads(secret(ARN, 'app/one'), NOW - 10.5 * HOUR);
      expect(one).toMatchObject({ fromMs: NOW - 10.5 * HOUR });
      expect('reads' in one && one.reads.length).toBe(6); // i = 1,2,4,5,7,8 of 0..9
      const two = await reads.reads(secret(OTHER, 'app/two'), NOW - 10.5 * HOUR);
      expect('reads' in two && two.reads.length).toBe(4); // i = 0,3,6,9
      expect(trail.controls.log).toHaveLength(1);
      const wider = await reads.reads(secret(ARN, 'app/one'), NOW - 30.5 * HOUR);
      expect('reads' in wider && wider.reads.length).toBe(20);
      expect(trail.controls.log).toHaveLength(2);
    } finally {
      reads.close();
    }
  });

  it('stops at cloudtrail.maxPages and says the evidence is incomplete', async () => {
    const trail = await withReads(120, 60_000);
    const reads = cloudTrailReads(options(trail.url, 2));
    try {
      const result = await reads.reads(secret(ARN, 'app/one'), NOW - 3 * HOUR);
      expect(result).toEqual({
        problem:
          'more than cloudtrail.maxPages (2) pages of GetSecretValue events in this run; ' +
          'raise it or shorten gate.cloudtrail.lookbackDays',
      });
      expect(trail.controls.log).toHaveLength(2);
    } finally {
      reads.close();
    }
  });

  it('retries a throttled lookup within the retry budget', async () => {
    const trail = await withReads(5, HOUR);
    trail.controls.setFaults({ sequence: ['throttle', 'throttle'] });
    const reads = cloudTrailReads(options(trail.url));
    try {
      const result = await reads.reads(secret(ARN, 'app/one'), NOW - 6 * HOUR);
      expect('reads' in result && result.reads.length).toBe(3);
      expect(trail.controls.log.map((e) => e.status)).toEqual([400, 400, 200]);
    } finally {
      reads.close();
    }
  });
});
