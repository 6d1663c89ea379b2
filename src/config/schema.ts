import * as z from 'zod/mini';

/**
 * The YAML shape. Names carry their units (`Seconds`, `Days`); the loader converts them to the
 * millisecond fields of ./types.ts in one place. Every object is strict: an unknown key is a typo.
 * Written with zod/mini, which tree-shakes: the Lambda bundle carries only the checks used here.
 */

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
/** `/twilio/<product>/<resource>/<action>`; nested resources use dots. */
export const PERMISSION = /^\/twilio\/[a-z0-9-]+\/[a-z0-9.-]+\/(read|list|create|update|delete|\*)$/;
/** Rotation ids are 32 hex characters and Twilio allows 64 in a FriendlyName. */
export const MAX_PREFIX_LENGTH = 32;

/**
 * Numbers have an upper bound as well as a lower one: a value that passes validation must not fail
 * later, after changes were made (1e300 days overflowed a date; 2^31 ms overflowed a timer).
 */
const positive = (what: string, max: number) =>
  z
    .number({ error: `must be a number (${what})` })
    .check(z.positive(`must be greater than 0 (${what})`), z.maximum(max, `must be at most ${max} (${what})`));
const nonNegative = (what: string, max: number) =>
  z
    .number({ error: `must be a number (${what})` })
    .check(z.nonnegative(`must be 0 or more (${what})`), z.maximum(max, `must be at most ${max} (${what})`));

const YEAR_SECONDS = 365 * 24 * 3600;
const text = (pattern: RegExp, message: string) =>
  z.string({ error: 'must be a string' }).check(z.regex(pattern, message));

/** URLs are printed in logs and status, so they may not carry credentials; headers carry those. */
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).check(
  z.refine((u: string) => {
    try {
      const url = new URL(u);
      return url.username === '' && url.password === '';
    } catch {
      return true;
    }
  }, 'must not carry credentials (user:password@); they would be printed wherever the URL is'),
);

const location = z.strictObject({
  store: z.enum(['file', 'aws'], { error: 'must be "file" or "aws"' }),
  secretId: z.string({ error: 'must be a string' }).check(z.minLength(1, 'must be a non-empty secret name or ARN')),
});

const probe = z.strictObject({
  url: httpUrl,
  field: text(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dot path such as "twilio.keySid"'),
  headerName: z.optional(text(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')),
  headerValueEnv: z.optional(text(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')),
  timeoutSeconds: z._default(positive('seconds', 60), 5),
});

const GATE_DEFAULT = { minOverlapSeconds: 3600, maxWaitSeconds: 7 * 24 * 3600, manualConfirm: false, probes: [] };
const gate = z.strictObject({
  minOverlapSeconds: z._default(nonNegative('seconds', YEAR_SECONDS), GATE_DEFAULT.minOverlapSeconds),
  maxWaitSeconds: z._default(positive('seconds', YEAR_SECONDS), GATE_DEFAULT.maxWaitSeconds),
  manualConfirm: z._default(z.boolean({ error: 'must be true or false' }), false),
  probes: z._default(z.array(probe), []),
});

const policy = z.union(
  [
    z.literal('inherit'),
    z.strictObject({
      allow: z
        .array(
          text(
            PERMISSION,
            'must look like /twilio/<product>/<resource>/<action>, e.g. /twilio/messaging/messages/list',
          ),
        )
        .check(
          z.minLength(1, 'must list at least one permission'),
          z.maxLength(100, 'Twilio allows at most 100 permissions per key'),
        ),
    }),
  ],
  { error: 'must be "inherit" or {allow: [permissions…]}' },
);

export const targetSchema = z.strictObject({
  name: text(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, "_", "." or "-"'),
  accountSid: text(ACCOUNT_SID, 'must be an Account SID: AC followed by 32 hex characters'),
  region: z.optional(text(/^[a-z]{2}[0-9]$/, 'must be a Twilio region such as us1, ie1 or au1')),
  edge: z.optional(text(/^[a-z]+$/, 'must be a Twilio edge such as ashburn, dublin or sydney')),
  keyType: z.enum(['standard', 'restricted'], { error: 'must be "standard" or "restricted"' }),
  policy: z.optional(policy),
  friendlyNamePrefix: z
    .string({ error: 'must be a string' })
    .check(
      z.minLength(1, 'must not be empty: it is how the rotator recognises keys it made'),
      z.maxLength(
        MAX_PREFIX_LENGTH,
        `must be at most ${MAX_PREFIX_LENGTH} characters, so prefix + 32-character rotation id fits Twilio's 64`,
      ),
      z.regex(/^[A-Za-z0-9_.:-]*$/, 'may hold only letters, digits, "_", ".", ":" and "-"'),
    ),
  secret: location,
  admin: location,
  maxAgeDays: z._default(positive('days', 3650), 30),
  validationUrl: z.optional(httpUrl),
  gate: z._default(gate, GATE_DEFAULT),
});

export const storesSchema = z.strictObject({
  file: z.optional(
    z.strictObject({ path: z.string({ error: 'must be a string' }).check(z.minLength(1, 'must be a file path')) }),
  ),
  aws: z.optional(
    z.strictObject({
      region: text(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'),
      endpoint: z.optional(httpUrl),
      timeoutSeconds: z._default(positive('seconds', 300), 10),
    }),
  ),
});

export const configSchema = z.strictObject({
  twilio: z._default(
    z.strictObject({
      baseUrl: z.optional(
        z.union([httpUrl, z.record(z.string(), httpUrl)], { error: 'must be a URL or a map of product to URL' }),
      ),
      timeoutSeconds: z._default(positive('seconds', 300), 15),
    }),
    { timeoutSeconds: 15 },
  ),
  stores: z._default(storesSchema, {}),
  retry: z._default(
    z.strictObject({
      attempts: z._default(
        z
          .number({ error: 'must be a number' })
          .check(
            z.int('must be a whole number'),
            z.minimum(1, 'must be at least 1'),
            z.maximum(20, 'must be at most 20'),
          ),
        5,
      ),
      budgetSeconds: z._default(positive('seconds', 3600), 30),
      minDelayMs: z._default(nonNegative('milliseconds', 60_000), 200),
    }),
    { attempts: 5, budgetSeconds: 30, minDelayMs: 200 },
  ),
  orphanGraceSeconds: z._default(nonNegative('seconds', 30 * 24 * 3600), 900),
  targets: z.array(targetSchema).check(z.minLength(1, 'must list at least one target')),
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawTarget = z.infer<typeof targetSchema>;
