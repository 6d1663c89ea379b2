import { z } from 'zod';

/**
 * The YAML shape. Names carry their units (`Seconds`, `Days`); the loader converts them to the
 * millisecond fields of ./types.ts in one place. Every object is strict: an unknown key is a typo.
 */

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
/** `/twilio/<product>/<resource>/<action>`; nested resources use dots. */
export const PERMISSION = /^\/twilio\/[a-z0-9-]+\/[a-z0-9.-]+\/(read|list|create|update|delete|\*)$/;
/** Rotation ids are 32 hex characters and Twilio allows 64 in a FriendlyName. */
export const MAX_PREFIX_LENGTH = 32;

const positive = (what: string) => z.number({ error: `must be a number (${what})` }).positive(`must be greater than 0 (${what})`);
const nonNegative = (what: string) => z.number({ error: `must be a number (${what})` }).nonnegative(`must be 0 or more (${what})`);

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const location = z.strictObject({
  store: z.enum(['file', 'aws'], { error: 'must be "file" or "aws"' }),
  secretId: z.string().min(1, 'must be a non-empty secret name or ARN'),
});

const probe = z.strictObject({
  url: httpUrl,
  field: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a dot path such as "twilio.keySid"'),
  headerName: z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name').optional(),
  headerValueEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
  timeoutSeconds: positive('seconds').default(5),
});

const gate = z.strictObject({
  minOverlapSeconds: nonNegative('seconds').default(3600),
  maxWaitSeconds: positive('seconds').default(7 * 24 * 3600),
  manualConfirm: z.boolean({ error: 'must be true or false' }).default(false),
  probes: z.array(probe).default([]),
});

const policy = z.union(
  [
    z.literal('inherit'),
    z.strictObject({
      allow: z
        .array(z.string().regex(PERMISSION, 'must look like /twilio/<product>/<resource>/<action>, e.g. /twilio/messaging/messages/list'))
        .min(1, 'must list at least one permission')
        .max(100, 'Twilio allows at most 100 permissions per key'),
    }),
  ],
  { error: 'must be "inherit" or {allow: [permissions…]}' },
);

const target = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, "_", "." or "-"'),
  accountSid: z.string().regex(ACCOUNT_SID, 'must be an Account SID: AC followed by 32 hex characters'),
  region: z.string().regex(/^[a-z]{2}[0-9]$/, 'must be a Twilio region such as us1, ie1 or au1').optional(),
  edge: z.string().regex(/^[a-z]+$/, 'must be a Twilio edge such as ashburn, dublin or sydney').optional(),
  keyType: z.enum(['standard', 'restricted'], { error: 'must be "standard" or "restricted"' }),
  policy: policy.optional(),
  friendlyNamePrefix: z
    .string()
    .min(1, 'must not be empty: it is how the rotator recognises keys it made')
    .max(MAX_PREFIX_LENGTH, `must be at most ${MAX_PREFIX_LENGTH} characters, so prefix + 32-character rotation id fits Twilio's 64`)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'may hold only letters, digits, "_", ".", ":" and "-"'),
  secret: location,
  admin: location,
  maxAgeDays: positive('days').default(30),
  validationUrl: httpUrl.optional(),
  gate: gate.default({ minOverlapSeconds: 3600, maxWaitSeconds: 7 * 24 * 3600, manualConfirm: false, probes: [] }),
});

export const configSchema = z.strictObject({
  twilio: z
    .strictObject({
      baseUrl: z.union([httpUrl, z.record(z.string(), httpUrl)], { error: 'must be a URL or a map of product to URL' }).optional(),
      timeoutSeconds: positive('seconds').default(15),
    })
    .default({ timeoutSeconds: 15 }),
  stores: z
    .strictObject({
      file: z.strictObject({ path: z.string().min(1, 'must be a file path') }).optional(),
      aws: z.strictObject({ region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'), endpoint: httpUrl.optional() }).optional(),
    })
    .default({}),
  retry: z
    .strictObject({
      attempts: z.number().int('must be a whole number').min(1, 'must be at least 1').max(20, 'must be at most 20').default(5),
      budgetSeconds: positive('seconds').default(30),
      minDelayMs: nonNegative('milliseconds').default(200),
    })
    .default({ attempts: 5, budgetSeconds: 30, minDelayMs: 200 }),
  orphanGraceSeconds: nonNegative('seconds').default(900),
  targets: z.array(target).min(1, 'must list at least one target'),
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawTarget = z.infer<typeof target>;
