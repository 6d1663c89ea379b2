import * as z from 'zod/mini';
import { location, section, text, wholeNumber } from '../config-kit/fields.js';
import { convertWindow, type RawWindow } from '../config-kit/schedule.js';
import { checkBase, type RawTargetBase } from '../config-kit/target.js';
import { ACCOUNT_SID } from '../core/sids.js';
import type { SecretLocation } from '../core/target.js';
import { KINDS, type TargetOfKind } from '../credentials/registry.js';
import type { ConfigIssue } from '../errors.js';
import { valueAt } from './issues.js';
import type { FleetConfig, TargetConfig } from './types.js';

/**
 * Subaccount fleets: one API-key target template, expanded at run time over a parent account's active
 * subaccounts into targets `<fleet>-<subaccount SID>`, each with its own secret and, as admin, the
 * subaccount's Auth Token from the parent's Accounts list (in memory only; why: README "Subaccount fleets").
 */

const FLEET_KIND = 'api-key';
const member = KINDS[FLEET_KIND].config;
type Member = TargetOfKind<typeof FLEET_KIND>;
/** Stands in for a subaccount SID while the template is validated. */
const PLACEHOLDER_SID = `AC${'0'.repeat(32)}`;
export const ACCOUNT_SID_SLOT = '{accountSid}';
/** A fleet name plus "-" and a 34-character SID fits the 64 characters a target name may have. */
const FLEET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,28}$/;
const SUBACCOUNT = text(ACCOUNT_SID, 'must be a subaccount SID: AC followed by 32 hex characters');
const REPLACES_PARENT = "rotating it would replace the parent's credential; use another secret";
const OR_EXCLUDE = 'use another secret or exclude that subaccount';
const OWN_SECRET = 'every subaccount needs its own secret';
const PARENT_OWN_SECRET =
  'is named like a member secret of this fleet; the parent credential needs a secret of its own';

export const fleetSchema = z.strictObject({
  name: text(FLEET_NAME, 'must be 1-29 letters, digits, "_", "." or "-" (members are named <fleet>-<subaccount SID>)'),
  parentAccountSid: text(ACCOUNT_SID, 'must be an Account SID: AC followed by 32 hex characters'),
  /** The parent's Account SID + Auth Token ({"accountSid", "authToken"}). */
  admin: location,
  subaccounts: section({
    friendlyNamePrefix: z.optional(z.string({ error: 'must be a string' }).check(z.minLength(1, 'must not be empty'))),
    include: z.optional(z.array(SUBACCOUNT)),
    exclude: z._default(z.array(SUBACCOUNT), []),
    // Twilio's default subaccount limit is 1,000; ten times that is the most one fleet will page through.
    max: z._default(wholeNumber(1, 10_000), 1000),
  }),
  /** An API-key target without name, accountSid and admin; secret.secretId holds `{accountSid}`. */
  template: z.record(z.string(), z.unknown(), {
    error: 'must be a mapping: an API-key target without name, accountSid and admin',
  }),
});
export type RawFleet = z.infer<typeof fleetSchema>;

/** The template as an API-key target of one subaccount (or of the placeholder while validating). */
function templateTarget(fleet: RawFleet, subaccountSid: string): Record<string, unknown> {
  const t = fleet.template;
  const secret = t.secret as { secretId?: unknown } | undefined;
  return {
    kind: FLEET_KIND,
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
const SET_BY_FLEET = 'is set by the fleet for each subaccount; remove it from the template';
const SLOT_EXAMPLE = `twilio/tenants/${ACCOUNT_SID_SLOT}`;
const KIND_FIXED = 'is always "api-key" in a fleet (a subaccount\'s Auth Token is rotated by a target of its own)';

/**
 * Checks one fleet's template: a valid API-key target once the fleet fills in name, accountSid and
 * admin, whose secret name holds `{accountSid}`. Problems go under `fleets.<i>.template.…`.
 */
function checkTemplate(fleet: RawFleet, i: number, issues: ConfigIssue[], env: NodeJS.ProcessEnv): Member | undefined {
  const at = (field: string) => `fleets.${i}.template${field ? `.${field}` : ''}`;
  const problem = (field: string, message: string) => issues.push({ path: at(field), message });
  const t = fleet.template;
  for (const fixed of TEMPLATE_FIXED.filter((f) => Object.hasOwn(t, f)))
    problem(fixed, fixed === 'kind' ? KIND_FIXED : SET_BY_FLEET);
  const secretId = (t.secret as { secretId?: unknown } | undefined)?.secretId;
  if (typeof secretId === 'string' && !secretId.includes(ACCOUNT_SID_SLOT))
    problem('secret.secretId', `must contain ${ACCOUNT_SID_SLOT}, e.g. "${SLOT_EXAMPLE}": ${OWN_SECRET}`);
  if (TEMPLATE_FIXED.some((f) => Object.hasOwn(t, f))) return undefined;
  const parsed = member.schema.safeParse(templateTarget(fleet, PLACEHOLDER_SID));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const keys = (issue as { keys?: string[] }).keys?.map((k) => `"${k}"`).join(', ') ?? '';
      const unknown = `unknown key(s) ${keys} (check the spelling; see config/example.yaml)`;
      const required = issue.code === 'invalid_type' && valueAt(t, issue.path) === undefined;
      const message = required ? 'is required' : issue.code === 'unrecognized_keys' ? unknown : issue.message;
      problem(issue.path.map(String).join('.'), message);
    }
    return undefined;
  }
  const before = issues.length;
  // The shared fields' own checks too: the gate a member gets is the template's.
  checkBase(parsed.data as RawTargetBase, at, issues, env);
  member.check(parsed.data, at, issues);
  return issues.length > before ? undefined : member.convert(parsed.data);
}

type Stores = Partial<Record<SecretLocation['store'], unknown>>;
type Located = { index: number; t: { name: string; kind: string; secret: SecretLocation; admin?: SecretLocation } };
const sameSecret = (a: SecretLocation, b: SecretLocation) => a.store === b.store && a.secretId === b.secretId;

/** Each fleet's own checks, and what a fleet's members could collide with among the targets. */
export function checkFleets(
  stores: Stores,
  fleets: readonly RawFleet[],
  targets: readonly Located[],
  issues: ConfigIssue[],
  targetCount: number,
  env: NodeJS.ProcessEnv,
): void {
  if (targetCount === 0 && fleets.length === 0)
    issues.push({ path: 'targets', message: 'must list at least one target (or a subaccount fleet under fleets:)' });
  const problem = (path: string, message: string) => issues.push({ path, message });
  const needStore = (path: string, store: SecretLocation['store']) => {
    if (!stores[store]) problem(path, `uses the ${store} store, but stores.${store} is not configured`);
  };
  const targetNames = new Set(targets.map(({ t }) => t.name));
  const fleetNames = new Set<string>();
  const templates = new Map<string, string>();
  fleets.forEach((fleet, i) => {
    const at = (field: string) => `fleets.${i}.${field}`;
    const taken = fleetNames.has(fleet.name) ? 'fleet' : targetNames.has(fleet.name) ? 'target' : undefined;
    if (taken) problem(at('name'), `duplicates another ${taken}'s name "${fleet.name}"`);
    fleetNames.add(fleet.name);
    needStore(at('admin.store'), fleet.admin.store);
    const memberName = `is the name fleet "${fleet.name}" gives one of its members; rename the target`;
    for (const { index, t } of targets)
      if (isMemberName(fleet.name, t.name)) problem(`targets.${index}.name`, memberName);
    const checked = checkTemplate(fleet, i, issues, env);
    if (!checked) return;
    needStore(at('template.secret.store'), checked.secret.store);
    const secret = fleet.template.secret as SecretLocation;
    const key = `${secret.store}:${secret.secretId}`;
    const other = templates.get(key);
    if (other !== undefined)
      problem(at('template.secret.secretId'), `is also fleet "${other}"'s; two fleets must not share secrets`);
    templates.set(key, fleet.name);
    if (isMemberSecret({ secret }, fleet.admin)) problem(at('admin.secretId'), PARENT_OWN_SECRET);
    const memberSecret = `is named like a member secret of fleet "${fleet.name}" (${secret.secretId}); ${OR_EXCLUDE}`;
    for (const { index, t } of targets) {
      for (const role of ['secret', 'admin'] as const)
        if (isMemberSecret({ secret }, role === 'secret' ? t.secret : (t.admin ?? t.secret)))
          problem(`targets.${index}.${role}.secretId`, memberSecret);
      // A rotated secret must never be a fleet's admin: rotating it would replace the parent credential.
      const kind = KINDS[t.kind as keyof typeof KINDS]?.config;
      if (kind && !kind.secretMayBeAdmin && sameSecret(t.secret, fleet.admin))
        problem(`targets.${index}.secret.secretId`, `is the admin secret of fleet "${fleet.name}": ${REPLACES_PARENT}`);
    }
  });
}

/**
 * The converted fleet (subaccount SIDs upper case; `secret` still holds `{accountSid}`); its template is
 * kept raw and converted again, already validated, per member.
 */
export function convertFleet(fleet: RawFleet, timezone: string) {
  const { friendlyNamePrefix, include, exclude, max } = fleet.subaccounts;
  return {
    name: fleet.name,
    parentAccountSid: fleet.parentAccountSid,
    admin: { ...fleet.admin },
    subaccounts: {
      ...(friendlyNamePrefix !== undefined ? { friendlyNamePrefix } : {}),
      ...(include !== undefined ? { include: include.map((s) => s.toUpperCase()) } : {}),
      exclude: exclude.map((s) => s.toUpperCase()),
      max,
    },
    secret: fleet.template.secret as SecretLocation,
    member: (subaccountSid: string): Member => {
      const parsed = member.schema.parse(templateTarget(fleet, subaccountSid));
      const window = (parsed as { window?: RawWindow }).window;
      return {
        ...member.convert(parsed),
        ...(window ? { window: convertWindow(window, timezone) } : {}),
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
  if (member.kind !== FLEET_KIND) return undefined;
  return targets.find(
    (t) =>
      t.kind === FLEET_KIND &&
      t.accountSid.toUpperCase() === member.accountSid.toUpperCase() &&
      (t.friendlyNamePrefix.startsWith(member.friendlyNamePrefix) ||
        member.friendlyNamePrefix.startsWith(t.friendlyNamePrefix)),
  )?.name;
}
