import * as z from 'zod/mini';
import { location, text } from '../../config-kit/fields.js';
import { convertBase, targetBaseShape, type KindConfig } from '../../config-kit/target.js';
import type { SecretLocation, TargetBase } from '../../core/target.js';
import { MAX_PREFIX_LENGTH, PERMISSION } from '../api-key/config.js';

/** Twilio's token lifetime bounds for an OAuth app: 1 minute to 30 days (docs/oauth-apps.md F5). */
export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 30 * 24 * 3600;
/** The two reads the verification may make with a Bearer token, by the permission each needs. */
export const VERIFY_READS = {
  '/twilio/messaging/messages/list': 'list-messages',
  '/twilio/numbers/incoming-phone-numbers/list': 'list-incoming-phone-numbers',
} as const;

export interface OAuthAppTargetConfig extends TargetBase {
  kind: 'oauth-app';
  /** The credential that manages the account's OAuth apps. */
  admin: SecretLocation;
  /** What every new app may do; Twilio's Restricted-key permission strings. */
  policy: { allow: string[]; deny?: string[] };
  accessTokenTtlSeconds: number;
  friendlyNamePrefix: string;
  /** A Twilio URL the app's token may GET, when the policy grants neither read of VERIFY_READS. */
  validationUrl?: string;
}

const permissions = z
  .array(text(PERMISSION, 'must look like /twilio/<product>/<resource>/<action>, e.g. /twilio/messaging/messages/list'))
  .check(z.maxLength(100, 'Twilio allows at most 100 permissions'));

const schema = z.strictObject({
  ...targetBaseShape,
  // Apps are managed with an admin credential, always named.
  admin: location,
  kind: z.literal('oauth-app'),
  policy: z.strictObject({
    allow: permissions.check(z.minLength(1, 'must list at least one permission: an app without one can do nothing')),
    deny: z.optional(permissions),
  }),
  accessTokenTtlSeconds: z._default(
    z
      .number({ error: 'must be a number of seconds' })
      .check(
        z.int('must be whole seconds'),
        z.gte(MIN_TTL_SECONDS, `must be at least ${MIN_TTL_SECONDS} (Twilio's minimum, 1 minute)`),
        z.lte(MAX_TTL_SECONDS, `must be at most ${MAX_TTL_SECONDS} (Twilio's maximum, 30 days)`),
      ),
    3600,
  ),
  friendlyNamePrefix: text(
    new RegExp(`^[A-Za-z0-9_.:-]{1,${MAX_PREFIX_LENGTH}}$`),
    `must be 1-${MAX_PREFIX_LENGTH} letters, digits, "_", ".", ":" or "-": it is how the rotator recognises its apps`,
  ),
  validationUrl: z.optional(
    text(/^https:\/\/[a-z0-9.-]+\.twilio\.com\//, 'must be an https://….twilio.com/ URL: the token is sent to it'),
  ),
});
type Raw = z.infer<typeof schema>;

const CANNOT_PROVE = 'so the rotator cannot prove a new app works without a URL its token may GET';

export const oauthAppConfig: KindConfig<Raw, OAuthAppTargetConfig> = {
  schema,
  secretMayBeAdmin: false,
  convert: (t) => ({
    ...convertBase(t, 'oauth-app'),
    admin: { ...t.admin },
    policy: { allow: [...t.policy.allow], ...(t.policy.deny ? { deny: [...t.policy.deny] } : {}) },
    accessTokenTtlSeconds: t.accessTokenTtlSeconds,
    friendlyNamePrefix: t.friendlyNamePrefix,
    ...(t.validationUrl !== undefined ? { validationUrl: t.validationUrl } : {}),
  }),
  check(t, at, issues) {
    if (t.region !== undefined && t.region !== 'us1')
      issues.push({ path: at('region'), message: 'OAuth apps exist only in us1 (Public Beta); drop region' });
    const denied = new Set(t.policy.deny ?? []);
    const reads = Object.keys(VERIFY_READS).filter((p) => t.policy.allow.includes(p) && !denied.has(p));
    if (t.validationUrl === undefined && reads.length === 0)
      issues.push({
        path: at('validationUrl'),
        message: `is required: the policy grants neither ${Object.keys(VERIFY_READS).join(' nor ')}, ${CANNOT_PROVE}`,
      });
  },
};
