import { prefixClash } from '../config/fleets.js';
import type { FleetConfig, RotatorConfig, TargetConfig } from '../config/types.js';
import { alertFor } from '../core/alert.js';
import type { TargetResult } from '../core/outcome.js';
import type { RunScope, Runtime } from '../core/runtime.js';
import type { AdminCredential } from '../core/secret-values.js';
import { accountToken, isAccountToken } from '../credentials/registry.js';
import { errorMessage, RotationError } from '../errors.js';
import { redact } from '../redact.js';
import { channelsFor, deliver, newId } from './alerts.js';
import { createRunScope } from './scope.js';

/**
 * Fleet expansion (engine/targets.ts): one API-key target per active subaccount the filters pass, its
 * admin credential the subaccount's Auth Token from the parent's list (held for the run, never stored).
 * A fleet not listed fails whole and changes nothing; nothing is deleted because a list got shorter.
 */

/** A name resolution could not make a target of: a fleet not listed, a member skipped or not listed. */
export interface Unresolved {
  result: TargetResult;
  /** The reason alone (status). */
  why: string;
  /** Where and how the audit reports it. */
  account: string;
  label: string;
  /** A whole fleet that could not be listed: alerted by its name after a real run. */
  fleet?: FleetConfig;
}

export interface Expansion {
  members: TargetConfig[];
  admins: Map<string, AdminCredential>;
  unresolved: Unresolved[];
}

const failed = (fleet: FleetConfig, target: string, error: string, whole = false): Unresolved => ({
  result: { target, credential: template(fleet).kind, steps: [], kind: 'failed', step: 'expand-fleet', error },
  why: error,
  account: fleet.parentAccountSid,
  label: `fleet ${fleet.name}: ${whole ? 'its subaccounts could not be listed' : target}`,
  ...(whole ? { fleet } : {}),
});

/** The fleet's member template (its kind, channels and schedule), as for the parent account itself. */
export const template = (fleet: FleetConfig) => fleet.member(fleet.parentAccountSid);

export async function expandFleets(config: RotatorConfig, runtime: Runtime, fleets: FleetConfig[]): Promise<Expansion> {
  const admins = new Map<string, AdminCredential>();
  const out: Expansion = { members: [], admins, unresolved: [] };
  const taken = new Map(config.targets.map((t) => [`${t.secret.store}:${t.secret.secretId}`, t.name]));
  const scope = createRunScope(config, runtime);
  for (const fleet of fleets) {
    try {
      for (const member of await membersOf(fleet, runtime, scope, admins)) {
        const key = `${member.secret.store}:${member.secret.secretId}`;
        const owner = taken.get(key);
        const clash = prefixClash(member, config.targets);
        const overlap = `target "${clash}" rotates keys on the same subaccount with an overlapping friendlyNamePrefix`;
        if (owner !== undefined) {
          const why = `its secret "${member.secret.secretId}" is already target "${owner}"'s; the member is skipped`;
          out.unresolved.push(failed(fleet, member.name, why));
        } else if (clash) {
          const why = `${overlap}; exclude the subaccount from the fleet or change a prefix`;
          out.unresolved.push(failed(fleet, member.name, why));
        } else {
          taken.set(key, member.name);
          out.members.push(member);
        }
      }
    } catch (err) {
      const error = redact(errorMessage(err));
      const context = { target: fleet.name, step: 'expand-fleet' };
      runtime.logger.error(
        `fleet ${fleet.name}: its subaccounts could not be listed, so none of them ran: ${error}`,
        context,
      );
      out.unresolved.push(failed(fleet, fleet.name, error, true));
    }
  }
  return out;
}

async function membersOf(
  fleet: FleetConfig,
  runtime: Runtime,
  scope: RunScope,
  admins: Map<string, AdminCredential>,
): Promise<TargetConfig[]> {
  const { store, secretId } = fleet.admin;
  const value = `{"accountSid": "${fleet.parentAccountSid}", "authToken": "…"}`;
  const parent = await scope.admin(fleet.admin, fleet.name).catch((err: unknown) => {
    // readAdmin's advice lists every admin shape a target may use; a fleet takes one only.
    if (err instanceof RotationError && err.step === 'read-admin') {
      const missing = `fleet admin secret "${secretId}" (${store} store) does not exist or has no current value`;
      const put = `twilio-key-rotator secret put ${secretId} --store ${store}`;
      throw new RotationError(fleet.name, 'read-admin', `${missing}; store the parent's ${value} (${put})`);
    }
    throw err;
  });
  if (!isAccountToken(parent) || parent.accountSid.toUpperCase() !== fleet.parentAccountSid.toUpperCase()) {
    const must = `fleet admin secret "${secretId}" must hold the parent's Account SID + Auth Token (${value})`;
    const why = "Twilio answers subaccounts' tokens to no other credential";
    throw new Error(`${must}: ${why}, and no parent API key (Main included) may reach a subaccount`);
  }
  if (!runtime.subaccounts) throw new Error('this runtime cannot list subaccounts');
  const { region, edge } = template(fleet);
  const where = { ...(region ? { region } : {}), ...(edge ? { edge } : {}) };
  const listed = await runtime.subaccounts(parent, where).list({ limit: fleet.subaccounts.max });
  const { friendlyNamePrefix, include, exclude } = fleet.subaccounts;
  const chosen = listed.filter(
    (s) =>
      (friendlyNamePrefix === undefined || s.friendlyName.startsWith(friendlyNamePrefix)) &&
      (include === undefined || include.includes(s.accountSid.toUpperCase())) &&
      !exclude.includes(s.accountSid.toUpperCase()),
  );
  const members = `${chosen.length} of ${listed.length} active subaccounts of ${fleet.parentAccountSid} are members`;
  runtime.logger.info(`fleet ${fleet.name}: ${members}`, { target: fleet.name, step: 'expand-fleet' });
  return chosen
    .sort((a, b) => a.accountSid.localeCompare(b.accountSid))
    .map((s) => {
      const member = fleet.member(s.accountSid);
      admins.set(member.name, accountToken(s.accountSid, s.authToken));
      return member;
    });
}

/**
 * A fleet not listed ran no member, so after a real run it is reported by its name: a step-failed alert
 * on its members' channels and a failed run in the metrics. Its alert state has nowhere to live (the
 * parent's secret is only read): the alert repeats, under one dedup key, and no resolve follows.
 */
export async function reportUnresolved(
  config: RotatorConfig,
  runtime: Runtime,
  unresolved: readonly Unresolved[],
): Promise<void> {
  const nowMs = runtime.now();
  for (const { fleet, result } of unresolved) {
    if (!fleet || result.kind !== 'failed') continue;
    runtime.metrics?.({ target: fleet.name, atMs: nowMs, values: { TargetsChecked: 1, RotationsFailed: 1 } });
    const channels = channelsFor(template(fleet), runtime.alertChannels ?? []);
    if (channels.length === 0) continue;
    const title = "the fleet's subaccounts could not be listed, so none of its members ran";
    const error = { message: result.error };
    const finding = { problem: 'step-failed' as const, title, details: [], refs: [], step: result.step, error };
    const subject = { target: fleet.name, credential: result.credential, account: fleet.parentAccountSid };
    const alert = alertFor({ action: 'trigger', finding, sinceMs: nowMs, renotify: false }, subject, newId(), nowMs);
    const context = { target: fleet.name, step: 'alert' };
    await deliver(alert, channels, AbortSignal.timeout(config.alerts.budgetMs), runtime.logger).catch((err: unknown) =>
      runtime.logger.error(`alerting for fleet ${fleet.name} failed: ${redact(errorMessage(err))}`, context),
    );
  }
}
