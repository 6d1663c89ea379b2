import * as z from 'zod/mini';
import { awsRegion, httpUrl, positive, present, wholeNumber } from '../config-kit/fields.js';
import { SECOND_MS } from '../core/sids.js';
import type { ConfigIssue } from '../errors.js';

/**
 * `cloudtrail:` — where the CloudTrail gate looks up GetSecretValue events (stores.aws's region when
 * absent). LookupEvents allows 2 requests per second per account and Region, 50 events a page.
 */
export const cloudtrailSchema = z.strictObject({
  region: z.optional(awsRegion),
  endpoint: z.optional(httpUrl),
  timeoutSeconds: z._default(positive('seconds', 300), 10),
  maxPages: z._default(wholeNumber(1, 10_000), 100),
  requestsPerSecond: z._default(positive('requests per second', 2), 2),
});

type RawCloudTrail = z.infer<typeof cloudtrailSchema>;

/** A target or fleet with CloudTrail evidence needs a region: `cloudtrail.region` or `stores.aws.region`. */
export function checkCloudTrail(
  raw: RawCloudTrail | undefined,
  awsRegion: string | undefined,
  users: readonly string[],
  issues: ConfigIssue[],
): void {
  if (users.length === 0 || raw?.region !== undefined || awsRegion !== undefined) return;
  const message = `is required by ${users.join(', ')} (gate.cloudtrail): set cloudtrail.region or stores.aws.region`;
  issues.push({ path: 'cloudtrail.region', message });
}

export function convertCloudTrail(raw: RawCloudTrail | undefined, awsRegion: string | undefined, used: boolean) {
  const region = raw?.region ?? awsRegion;
  if ((!raw && !used) || region === undefined) return undefined;
  const { endpoint, timeoutSeconds, maxPages, requestsPerSecond } = raw ?? cloudtrailSchema.parse({});
  return {
    region,
    ...present('endpoint', endpoint),
    timeoutMs: timeoutSeconds * SECOND_MS,
    maxPages,
    requestsPerSecond,
  };
}
