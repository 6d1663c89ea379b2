import * as z from 'zod/mini';
import { awsRegion, flag, httpUrl, nonNegative, positive, section, wholeNumber } from '../config-kit/fields.js';
import { cronExpression, timezone } from '../config-kit/schedule.js';
import { KINDS } from '../credentials/registry.js';
import { alertsSchema, metricsSchema } from './alerts.js';
import { cloudtrailSchema } from './cloudtrail.js';
import { fleetSchema } from './fleets.js';
import { leakReportsSchema } from './leaks.js';

/**
 * The whole YAML shape. A target's shape belongs to its credential kind (src/credentials/<kind>/
 * config.ts); `kind` defaults to "api-key" and every field outside targets is optional, so older
 * configurations load unchanged.
 */

export const DEFAULT_KIND = 'api-key';

const kindNames = Object.keys(KINDS).map((k) => `"${k}"`);
export const targetSchema = z.discriminatedUnion(
  'kind',
  Object.values(KINDS).map((k) => k.config.schema) as unknown as [z.ZodMiniObject, ...z.ZodMiniObject[]],
  {
    error: `kind must be ${kindNames.slice(0, -1).join(', ')}${kindNames.length > 1 ? ' or ' : ''}${kindNames.at(-1)}`,
  },
);

export const storesSchema = z.strictObject({
  file: z.optional(
    z.strictObject({ path: z.string({ error: 'must be a string' }).check(z.minLength(1, 'must be a file path')) }),
  ),
  aws: z.optional(
    z.strictObject({
      region: awsRegion,
      endpoint: z.optional(httpUrl),
      timeoutSeconds: z._default(positive('seconds', 300), 10),
      // A nothing-due run from ListSecrets + BatchGetSecretValue (README "Fleets"); needs both on Resource "*".
      sweep: z._default(
        z.enum(['per-target', 'batched'], { error: 'must be "per-target" or "batched"' }),
        'per-target',
      ),
    }),
  ),
});

const PORT = 'must be 0 (any free port) to 65535';
const HOST = /^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[?[0-9A-Fa-f:.]+\]?)$/;
/** `daemon:`, which the CLI and the Lambda ignore; runOnStart runs every target before the first tick. */
export const daemonSchema = z.strictObject({
  schedule: z._default(cronExpression, '*/15 * * * *'),
  timezone: z._default(timezone, 'UTC'),
  runOnStart: z._default(flag, true),
  watchConfig: z._default(flag, false),
  health: z.optional(
    z.strictObject({
      port: z
        .number({ error: 'must be a number' })
        .check(z.int('must be a whole number'), z.minimum(0, PORT), z.maximum(65535, PORT)),
      host: z._default(
        z.string({ error: 'must be a string' }).check(z.regex(HOST, 'must be a host name or an IP address')),
        '127.0.0.1',
      ),
    }),
  ),
});

export const configSchema = z.strictObject({
  twilio: section({
    baseUrl: z.optional(
      z.union([httpUrl, z.record(z.string(), httpUrl)], { error: 'must be a URL or a map of product to URL' }),
    ),
    timeoutSeconds: z._default(positive('seconds', 300), 15),
  }),
  stores: z._default(storesSchema, {}),
  retry: section({
    attempts: z._default(wholeNumber(1, 20), 5),
    budgetSeconds: z._default(positive('seconds', 3600), 30),
    minDelayMs: z._default(nonNegative('milliseconds', 60_000), 200),
  }),
  orphanGraceSeconds: z._default(nonNegative('seconds', 30 * 24 * 3600), 900),
  // Targets in flight at once, and requests in flight to one Twilio account.
  concurrency: section({
    targets: z._default(wholeNumber(1, 100), 8),
    perAccount: z._default(wholeNumber(1, 100), 10),
  }),
  alerts: alertsSchema,
  metrics: metricsSchema,
  cloudtrail: z.optional(cloudtrailSchema),
  leakReports: z.optional(leakReportsSchema),
  daemon: z.optional(daemonSchema),
  // At least one target or fleet (validate.ts).
  targets: z._default(z.array(targetSchema), []),
  fleets: z._default(z.array(fleetSchema), []),
});

export type RawConfig = z.infer<typeof configSchema>;
