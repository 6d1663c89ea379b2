import * as z from 'zod/mini';
import { httpUrl, location, text } from '../../config-kit/fields.js';
import { convertBase, targetBaseShape, type KindConfig } from '../../config-kit/target.js';
import type { SecretLocation, TargetBase } from '../../core/target.js';
import { verifyMethodFor } from './verify-method.js';

/** `/twilio/<product>/<resource>/<action>`; nested resources use dots. */
export const PERMISSION = /^\/twilio\/[a-z0-9-]+\/[a-z0-9.-]+\/(read|list|create|update|delete|\*)$/;
/** Key names are prefix + 8-hex fingerprint + 24-hex rotation id, and Twilio allows 64 characters. */
export const MAX_PREFIX_LENGTH = 32;

export type PolicyConfig = { mode: 'inherit' } | { mode: 'explicit'; allow: string[] };

export interface ApiKeyTargetConfig extends TargetBase {
  kind: 'api-key';
  admin: SecretLocation;
  keyType: 'standard' | 'restricted';
  /** Present exactly when keyType is "restricted". */
  policy?: PolicyConfig;
  friendlyNamePrefix: string;
  validationUrl?: string;
}

const VERIFIABLE =
  '/twilio/numbers/incoming-phone-numbers/list, /twilio/messaging/messages/list nor /twilio/iam/api-keys/read';
const CANNOT_PROVE = 'the rotator cannot prove a new key works without a URL the key may GET';
const OWN_PREFIX = "each target needs a prefix that is not a prefix of another's";

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

const schema = z.strictObject({
  ...targetBaseShape,
  // An API key is managed with an admin credential, always named (it keeps its place among the shared fields).
  admin: location,
  kind: z.literal('api-key'),
  keyType: z.enum(['standard', 'restricted'], { error: 'must be "standard" or "restricted"' }),
  policy: z.optional(policy),
  friendlyNamePrefix: z
    .string({ error: 'must be a string' })
    .check(
      z.minLength(1, 'must not be empty: it is how the rotator recognises keys it made'),
      z.maxLength(
        MAX_PREFIX_LENGTH,
        `must be at most ${MAX_PREFIX_LENGTH} characters, so prefix + 32 characters fits Twilio's 64`,
      ),
      z.regex(/^[A-Za-z0-9_.:-]*$/, 'may hold only letters, digits, "_", ".", ":" and "-"'),
    ),
  validationUrl: z.optional(httpUrl),
});
type Raw = z.infer<typeof schema>;

function checkPolicy(t: Raw, issue: (field: string, message: string) => void): void {
  if (t.keyType === 'standard') {
    if (t.policy !== undefined) issue('policy', 'is only for keyType "restricted"; remove it or change keyType');
    return;
  }
  if (t.policy === undefined)
    return issue('policy', 'is required for keyType "restricted": "inherit" or {allow: [permissions…]}');
  if (t.region !== undefined && t.region !== 'us1')
    issue('region', 'Restricted keys exist only in us1; use keyType "standard" or drop region');
  const unprovable = t.policy !== 'inherit' && verifyMethodFor({ allow: t.policy.allow }) === undefined;
  if (unprovable && t.validationUrl === undefined)
    issue('validationUrl', `is required: the policy grants neither ${VERIFIABLE}, so ${CANNOT_PROVE}`);
}

export const apiKeyConfig: KindConfig<Raw, ApiKeyTargetConfig> = {
  schema,
  secretMayBeAdmin: false,
  convert: (t) => ({
    ...convertBase(t, 'api-key'),
    admin: { ...t.admin },
    keyType: t.keyType,
    ...(t.policy !== undefined
      ? {
          policy:
            t.policy === 'inherit'
              ? { mode: 'inherit' as const }
              : { mode: 'explicit' as const, allow: [...t.policy.allow] },
        }
      : {}),
    friendlyNamePrefix: t.friendlyNamePrefix,
    ...(t.validationUrl !== undefined ? { validationUrl: t.validationUrl } : {}),
  }),
  check(t, at, issues) {
    const issue = (field: string, message: string) => void issues.push({ path: at(field), message });
    checkPolicy(t, issue);
    if (t.validationUrl !== undefined && !/^https:\/\/[a-z0-9.-]+\.twilio\.com\//.test(t.validationUrl))
      issue('validationUrl', 'must be an https://….twilio.com/ URL: the new key is sent to it as credentials');
  },
  // Within one file, overlapping prefixes on one account are surely a mistake; across files the
  // owner fingerprint in every key name keeps deployments apart.
  checkAll(targets, issues) {
    // Sorted by account and prefix, every prefix that starts another sits right before it and the ones
    // between: one sort instead of comparing every pair (a config can list a thousand targets).
    type Entry = (typeof targets)[number];
    const key = (e: Entry) => `${e.t.accountSid.toUpperCase()}\n${e.t.friendlyNamePrefix}`;
    const sorted = [...targets].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const overlaps: { first: Entry; second: Entry }[] = [];
    sorted.forEach((a, n) => {
      for (let m = n + 1; m < sorted.length && key(sorted[m]!).startsWith(key(a)); m++) {
        const b = sorted[m]!;
        overlaps.push(a.index < b.index ? { first: a, second: b } : { first: b, second: a });
      }
    });
    overlaps.sort((x, y) => x.first.index - y.first.index || x.second.index - y.second.index);
    for (const { first, second } of overlaps)
      issues.push({
        path: `targets.${second.index}.friendlyNamePrefix`,
        message: `overlaps target "${first.t.name}"'s prefix on the same account; ${OWN_PREFIX}`,
      });
  },
};
