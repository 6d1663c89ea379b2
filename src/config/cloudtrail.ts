import * as z from 'zod/mini';
import type { ConfigIssue } from '../errors.js';
import { SECOND_MS } from '../core/sids.js';
import { httpUrl, positive, text } from './common.js';
import type { CloudTrailConfig } from './types.js';

/**
 * `cloudtrail:` — where the CloudTrail-fed consumer gate looks up GetSecretValue events. Optional: a
 * target with `gate.cloudtrail` and no such block uses stores.aws's region. LookupEvents allows two
 * requests per second per account and Region, 50 events a page; `maxPages` bounds one run's reading.
 */
export const cloudtrailSchema = z.strictObject({
  region: z.optional(text(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1')),
  endpoint: z.optional(httpUrl),
  timeoutSeconds: z._default(positive('seconds', 300), 10),
  maxPages: z._default(
    z
      .number({ error: 'must be a number' })
      .check(
        z.int('must be a whole number'),
        z.minimum(1, 'must be at least 1'),
        z.maximum(10_000, 'must be at most 10000'),
      ),
    100,
  ),
  requestsPerSecond: z._default(positive('requests per second', 2), 2),
});

export type RawCloudTrail = z.infer<typeof cloudtrailSchema>;

/** A target or fleet with CloudTrail evidence needs a region: `cloudtrail.region` or `stores.aws.region`. */
export function checkCloudTrail(
  raw: RawCloudTrail | undefined,
  awsRegion: string | undefined,
  users: readonly string[],
  issues: ConfigIssue[],
): void {
  if (users.length === 0 || raw?.region !== undefined || awsRegion !== undefined) return;
  issues.push({
    path: 'cloudtrail.region',
    message: `is required by ${users.join(', ')} (gate.cloudtrail): set cloudtrail.region or stores.aws.region`,
  });
}

export function convertCloudTrail(
  raw: RawCloudTrail | undefined,
  awsRegion: string | undefined,
  used: boolean,
): CloudTrailConfig | undefined {
  const region = raw?.region ?? awsRegion;
  if ((!raw && !used) || region === undefined) return undefined;
  return {
    region,
    ...(raw?.endpoint ? { endpoint: raw.endpoint } : {}),
    timeoutMs: (raw?.timeoutSeconds ?? 10) * SECOND_MS,
    maxPages: raw?.maxPages ?? 100,
    requestsPerSecond: raw?.requestsPerSecond ?? 2,
  };
}
