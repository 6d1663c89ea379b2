import * as z from 'zod/mini';
import { httpUrl, location, nonNegative } from '../../config-kit/fields.js';
import { convertBase, targetBaseShape, type KindConfig } from '../../config-kit/target.js';
import type { SecretLocation, TargetBase } from '../../core/target.js';

export interface AuthTokenTargetConfig extends TargetBase {
  /** The target's own secret when the configuration leaves admin out (selfManaged). */
  admin: SecretLocation;
  kind: 'auth-token';
  /** Wait this long after a promotion before checking that the new token works and the old one is refused. */
  propagationDelayMs: number;
  /** A Twilio URL the token must be able to GET, besides the account itself. */
  validationUrl?: string;
  /** True when `admin` was not given: the Auth Token manages itself, as AWS's TwilioAuthToken type does. */
  selfManaged: boolean;
}

const schema = z.strictObject({
  ...targetBaseShape,
  kind: z.literal('auth-token'),
  // The Auth Token manages itself unless another credential (a Main key) is named.
  admin: z.optional(location),
  propagationDelaySeconds: z._default(nonNegative('seconds', 300), 60),
  validationUrl: z.optional(httpUrl),
});
type Raw = z.infer<typeof schema>;

export const authTokenConfig: KindConfig<Raw, AuthTokenTargetConfig> = {
  schema,
  // The account's Auth Token is exactly what other targets' admin secrets may hold, and the target's
  // own secret is its default admin credential.
  secretMayBeAdmin: true,
  convert: (t) => {
    const admin: SecretLocation = t.admin ?? t.secret;
    return {
      ...convertBase(t, 'auth-token'),
      admin: { ...admin },
      propagationDelayMs: t.propagationDelaySeconds * 1000,
      ...(t.validationUrl !== undefined ? { validationUrl: t.validationUrl } : {}),
      selfManaged:
        t.admin === undefined || (t.admin.store === t.secret.store && t.admin.secretId === t.secret.secretId),
    };
  },
  check(t, at, issues) {
    if (t.validationUrl !== undefined && !/^https:\/\/[a-z0-9.-]+\.twilio\.com\//.test(t.validationUrl)) {
      issues.push({
        path: at('validationUrl'),
        message: 'must be an https://….twilio.com/ URL: the token is sent to it as credentials',
      });
    }
  },
  checkAll(targets, issues) {
    // One account has one Auth Token: two targets rotating it would promote over each other.
    const seen = new Map<string, string>();
    for (const { index, t } of targets) {
      const owner = seen.get(t.accountSid.toUpperCase());
      if (owner !== undefined)
        issues.push({
          path: `targets.${index}.accountSid`,
          message: `already has its Auth Token rotated by target "${owner}"; an account has one Auth Token`,
        });
      else seen.set(t.accountSid.toUpperCase(), t.name);
    }
  },
};
