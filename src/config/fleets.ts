import * as z from 'zod/mini';
import { apiKeyConfig } from '../credentials/api-key/config.js';
import type { ConfigIssue } from '../errors.js';
import { location, text } from './common.js';
import { convertWindow } from './schedule.js';
import { ACCOUNT_SID } from '../core/sids.js';
import type { ApiKeyTargetConfig } from '../credentials/api-key/config.js';
import type { FleetConfig, SecretLocation, TargetConfig } from './types.js';

/**
 * Subaccount fleets: one API-key target template, expanded at run time over a parent account's
 * active subaccounts (Twilio's 2010 Accounts list, read with the parent's Account SID + Auth Token).
 * Each subaccount becomes a target named `<fleet>-<subaccount SID>` whose secret name is the
 * template's with `{accountSid}` replaced, and whose admin credential is the subaccount's own Auth
 * Token as the parent's list returns it (held in memory for the run, never stored or printed).
 * Twilio lets no parent API key (Main included) reach a subaccount, and IAM's /v1/Keys only takes
 * the account's own credential, so this is the one way a fleet can be managed without a stored
 * secret per subaccount.
 */

/** Stands in for a subaccount SID while the template is validated. */
const PLACEHOLDER_SID = `AC${'0'.repeat(32)}`;
export const ACCOUNT_SID_SLOT = '{accountSid}';
/** A fleet name plus "-" and a 34-character SID fits the 64 characters a target name may have. */
const FLEET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,28}$/;
export const DEFAULT_MAX_SUBACCOUNTS = 1000;
/** Twilio's default subaccount limit is 1,000; ten times that is the most one fleet will page through. */
export const MAX_SUBACCOUNTS = 10_000;

const templateSchema = z.record(z.string(), z.unknown(), {
  error: 'must be a mapping: an API-key target without name, accountSid and admin',
});

export const fleetSchema = z.strictObject({
  name: text(FLEET_NAME, 'must be 1-29 letters, digits, "_", "." or "-" (members are named <fleet>-<subaccount SID>)'),
  parentAccountSid: text(ACCOUNT_SID, 'must be an Account SID: AC followed by 32 hex characters'),
  /** The parent's Account SID + Auth Token ({"accountSid", "authToken"}). */
  admin: location,
  subaccounts: z._default(
    z.strictObject({
      friendlyNamePrefix: z.optional(
        z.string({ error: 'must be a string' }).check(z.minLength(1, 'must not be empty')),
      ),
      include: z.optional(z.array(text(ACCOUNT_SID, 'must be a subaccount SID: AC followed by 32 hex characters'))),
      exclude: z._default(z.array(text(ACCOUNT_SID, 'must be a subaccount SID: AC followed by 32 hex characters')), []),
      max: z._default(
        z
          .number({ error: 'must be a number' })
          .check(
            z.int('must be a whole number'),
            z.minimum(1, 'must be at least 1'),
            z.maximum(MAX_SUBACCOUNTS, `must be at most ${MAX_SUBACCOUNTS}`),
          ),
        DEFAULT_MAX_SUBACCOUNTS,
      ),
    }),
    { exclude: [], max: DEFAULT_MAX_SUBACCOUNTS },
  ),
  /** An API-key target without name, accountSid and admin; secret.secretId holds `{accountSid}`. */
  template: templateSchema,
});
export type RawFleet = z.infer<typeof fleetSchema>;

/** The template as an API-key target of one subaccount (or of the placeholder while validating). */
function templateTarget(fleet: RawFleet, subaccountSid: string): Record<string, unknown> {
  const t = fleet.template;
  const secret = t.secret as { secretId?: unknown } | undefined;
  return {
    kind: 'api-key',
    ...t,
    name: `${fleet.name}-${subaccountSid}`,
    accountSid: subaccountSid,
    admin: fleet.admin,
    ...(secret && typeof secret === 'object' && typeof secret.secretId === 'string'
      ? { secret: { ...secret, secretId: secret.secretId.split(ACCOUNT_SID_SLOT).join(subaccountSid) } }
      : {}),
  };
}

const TEMPLATE_FIXED = ['name', 'accountSid', 'admin', 'kind'] as const;

/**
 * Checks one fleet: its template must be a valid API-key target once the fleet fills in name,
 * accountSid and admin, and its secret name must hold `{accountSid}` so that every subaccount gets
 * its own secret. Problems are reported under `fleets.<i>.template.…`.
 */
export function checkFleet(fleet: RawFleet, i: number, issues: ConfigIssue[]): ApiKeyTargetConfig | undefined {
  const at = (field: string) => `fleets.${i}.${field}`;
  const t = fleet.template;
  for (const fixed of TEMPLATE_FIXED) {
    if (Object.hasOwn(t, fixed))
      issues.push({
        path: at(`template.${fixed}`),
        message:
          fixed === 'kind'
            ? 'is always "api-key" in a fleet (a subaccount\'s Auth Token is rotated by a target of its own)'
            : `is set by the fleet for each subaccount; remove it from the template`,
      });
  }
  const secretId = (t.secret as { secretId?: unknown } | undefined)?.secretId;
  if (typeof secretId === 'string' && !secretId.includes(ACCOUNT_SID_SLOT))
    issues.push({
      path: at('template.secret.secretId'),
      message: `must contain ${ACCOUNT_SID_SLOT}, e.g. "twilio/tenants/${ACCOUNT_SID_SLOT}": every subaccount needs its own secret`,
    });
  if (TEMPLATE_FIXED.some((f) => Object.hasOwn(t, f))) return undefined;
  const parsed = apiKeyConfig.schema.safeParse(templateTarget(fleet, PLACEHOLDER_SID));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(String).join('.');
      issues.push({
        path: at(`template${path ? `.${path}` : ''}`),
        message:
          issue.code === 'invalid_type' && valueAt(t, issue.path) === undefined
            ? 'is required'
            : issue.code === 'unrecognized_keys'
              ? `unknown key(s) ${(issue as { keys?: string[] }).keys?.map((k) => `"${k}"`).join(', ') ?? ''} (check the spelling; see config/example.yaml)`
              : issue.message,
      });
    }
    return undefined;
  }
  const before = issues.length;
  apiKeyConfig.check(parsed.data, (field) => at(`template.${field}`), issues);
  if (issues.length > before) return undefined;
  return apiKeyConfig.convert(parsed.data);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let here = input;
  for (const key of path) {
    if (here === null || typeof here !== 'object') return undefined;
    here = (here as Record<PropertyKey, unknown>)[key];
  }
  return here;
}

/** The converted fleet; its template is kept raw and converted again, already validated, per member. */
export function convertFleet(fleet: RawFleet, timezone: string): FleetConfig {
  return {
    name: fleet.name,
    parentAccountSid: fleet.parentAccountSid,
    admin: { ...fleet.admin },
    subaccounts: {
      ...(fleet.subaccounts.friendlyNamePrefix !== undefined
        ? { friendlyNamePrefix: fleet.subaccounts.friendlyNamePrefix }
        : {}),
      ...(fleet.subaccounts.include !== undefined
        ? { include: fleet.subaccounts.include.map((s) => s.toUpperCase()) }
        : {}),
      exclude: fleet.subaccounts.exclude.map((s) => s.toUpperCase()),
      max: fleet.subaccounts.max,
    },
    secret: (fleet.template as { secret: SecretLocation }).secret,
    member: (subaccountSid: string) => {
      const parsed = apiKeyConfig.schema.parse(templateTarget(fleet, subaccountSid));
      return {
        ...apiKeyConfig.convert(parsed),
        ...(parsed.window ? { window: convertWindow(parsed.window, timezone) } : {}),
        fleet: { name: fleet.name, parentAccountSid: fleet.parentAccountSid },
      };
    },
  };
}

/** Does `secretId` look like one of this fleet's member secrets? */
export function isMemberSecret(fleet: Pick<FleetConfig, 'secret'>, loc: SecretLocation): boolean {
  if (loc.store !== fleet.secret.store) return false;
  const [head = '', ...rest] = fleet.secret.secretId.split(ACCOUNT_SID_SLOT);
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^${escape(head)}${rest.map((p) => `AC[0-9a-fA-F]{32}${escape(p)}`).join('')}$`);
  return pattern.test(loc.secretId);
}

/** Is `name` what fleet `fleet` calls one of its members (`<fleet>-<subaccount SID>`)? */
export const isMemberName = (fleet: string, name: string) =>
  name.length === fleet.length + 35 && name.startsWith(`${fleet}-`) && ACCOUNT_SID.test(name.slice(fleet.length + 1));

/** A configured API-key target on the member's subaccount whose prefix overlaps the member's. */
export function prefixClash(member: TargetConfig, targets: readonly TargetConfig[]): string | undefined {
  if (member.kind !== 'api-key') return undefined;
  return targets.find(
    (t) =>
      t.kind === 'api-key' &&
      t.accountSid.toUpperCase() === member.accountSid.toUpperCase() &&
      (t.friendlyNamePrefix.startsWith(member.friendlyNamePrefix) ||
        member.friendlyNamePrefix.startsWith(t.friendlyNamePrefix)),
  )?.name;
}
