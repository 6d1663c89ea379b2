import { randomUUID } from 'node:crypto';
import { isMemberName, prefixClash } from '../config/fleets.js';
import { dedupKey, RUNBOOK, SEVERITY, type Alert } from '../core/alert.js';
import type { FleetConfig, RotatorConfig, TargetConfig } from '../config/types.js';
import type { TargetResult } from '../core/outcome.js';
import type { RunScope, Runtime } from '../core/runtime.js';
import type { AdminCredential } from '../core/secret-values.js';
import { accountToken, isAccountToken } from '../credentials/registry.js';
import { createRunScope } from './scope.js';
import { errorMessage, RotationError } from '../errors.js';
import { redact } from '../redact.js';
import { channelsFor, deliver } from './alerts.js';

/**
 * A run's view of the configuration with every fleet expanded into its members: one API-key target
 * per active subaccount that passes the fleet's filters, its admin credential the subaccount's own
 * Auth Token from the parent's list (enlisted in the run's scope, never stored). A fleet whose list
 * cannot be read fails as a whole, named by the fleet, and changes nothing; its members simply are not
 * run this time. A subaccount that leaves the fleet (closed, suspended, filtered out) keeps its secret
 * and its keys: nothing is deleted because a list got shorter.
 */
export interface Expanded {
  config: RotatorConfig;
  /** The run's scope, fleet members' admin credentials included. */
  scope: RunScope;
  /** Fleet members' admin credentials by target name (a dry run builds its own scope with them). */
  members: ReadonlyMap<string, AdminCredential>;
  /** One failed result per fleet that could not be expanded, and per member that was skipped. */
  failures: TargetResult[];
}

/**
 * `names`: the targets a command was given. When none of them is a fleet or one of a fleet's members,
 * no fleet is listed (the daemon runs each configured target on its own, and must not list every
 * parent's subaccounts for each of them).
 */
export async function expandFleets(
  config: RotatorConfig,
  runtime: Runtime,
  names?: readonly string[],
): Promise<Expanded> {
  const scope = createRunScope(config, runtime);
  const wanted =
    names === undefined || names.length === 0
      ? config.fleets
      : config.fleets.filter((f) => names.some((n) => n === f.name || isMemberName(f.name, n)));
  if (wanted.length === 0) return { config, scope, members: new Map(), failures: [] };
  const credentials = new Map<string, AdminCredential>();
  const members: TargetConfig[] = [];
  const failures: TargetResult[] = [];
  const taken = new Map(config.targets.map((t) => [`${t.secret.store}:${t.secret.secretId}`, t.name]));
  for (const fleet of wanted) {
    try {
      for (const member of await membersOf(fleet, runtime, scope, credentials)) {
        const key = `${member.secret.store}:${member.secret.secretId}`;
        const owner = taken.get(key);
        if (owner !== undefined) {
          failures.push(
            failed(
              fleet,
              member.name,
              'expand-fleet',
              `its secret "${member.secret.secretId}" is already target "${owner}"'s; the member is skipped`,
            ),
          );
          continue;
        }
        const clash = prefixClash(member, config.targets);
        if (clash) {
          failures.push(
            failed(
              fleet,
              member.name,
              'expand-fleet',
              `target "${clash}" rotates keys on the same subaccount with an overlapping friendlyNamePrefix; ` +
                'exclude the subaccount from the fleet or change a prefix',
            ),
          );
          continue;
        }
        taken.set(key, member.name);
        members.push(member);
      }
    } catch (err) {
      const error = redact(errorMessage(err));
      runtime.logger.error(`fleet ${fleet.name}: its subaccounts could not be listed, so none of them ran: ${error}`, {
        target: fleet.name,
        step: 'expand-fleet',
      });
      failures.push(failed(fleet, fleet.name, 'expand-fleet', error));
    }
  }
  const expanded = { ...config, targets: [...config.targets, ...members] };
  return { config: expanded, scope: createRunScope(expanded, runtime, credentials), members: credentials, failures };
}

const failed = (fleet: FleetConfig, target: string, step: string, error: string): TargetResult => ({
  target,
  credential: fleet.member(fleet.parentAccountSid).kind,
  steps: [],
  kind: 'failed',
  step,
  error,
});

async function membersOf(
  fleet: FleetConfig,
  runtime: Runtime,
  scope: RunScope,
  credentials: Map<string, AdminCredential>,
): Promise<TargetConfig[]> {
  const { store, secretId } = fleet.admin;
  const parent = await scope.admin(fleet.admin, fleet.name).catch((err: unknown) => {
    // readAdmin's advice lists every admin shape a target may use; a fleet takes one only.
    if (err instanceof RotationError && err.step === 'read-admin') {
      const missing = `fleet admin secret "${secretId}" (${store} store) does not exist or has no current value`;
      const value = `{"accountSid": "${fleet.parentAccountSid}", "authToken": "…"}`;
      const put = `twilio-key-rotator secret put ${secretId} --store ${store}`;
      throw new RotationError(fleet.name, 'read-admin', `${missing}; store the parent's ${value} (${put})`);
    }
    throw err;
  });
  if (!isAccountToken(parent) || parent.accountSid.toUpperCase() !== fleet.parentAccountSid.toUpperCase()) {
    const value = `{"accountSid": "${fleet.parentAccountSid}", "authToken": "…"}`;
    const secret = `fleet admin secret "${fleet.admin.secretId}"`;
    const must = `${secret} must hold the parent's Account SID + Auth Token (${value})`;
    const why = "Twilio answers subaccounts' tokens to no other credential";
    throw new Error(`${must}: ${why}, and no parent API key (Main included) may reach a subaccount`);
  }
  if (!runtime.subaccounts) throw new Error('this runtime cannot list subaccounts');
  const template = fleet.member(fleet.parentAccountSid);
  const listed = await runtime
    .subaccounts(parent, {
      ...(template.region ? { region: template.region } : {}),
      ...(template.edge ? { edge: template.edge } : {}),
    })
    .list({ limit: fleet.subaccounts.max });
  const { friendlyNamePrefix, include, exclude } = fleet.subaccounts;
  const chosen = listed.filter(
    (s) =>
      (friendlyNamePrefix === undefined || s.friendlyName.startsWith(friendlyNamePrefix)) &&
      (include === undefined || include.includes(s.accountSid.toUpperCase())) &&
      !exclude.includes(s.accountSid.toUpperCase()),
  );
  runtime.logger.info(
    `fleet ${fleet.name}: ${chosen.length} of ${listed.length} active subaccounts of ${fleet.parentAccountSid} ` +
      'are members',
    { target: fleet.name, step: 'expand-fleet' },
  );
  return chosen
    .sort((a, b) => a.accountSid.localeCompare(b.accountSid))
    .map((s) => {
      const member = fleet.member(s.accountSid);
      credentials.set(member.name, accountToken(s.accountSid, s.authToken));
      return member;
    });
}

/**
 * A fleet whose subaccounts could not be listed ran none of its members, so no member's alert or
 * metric says so: after a real run it is reported by the fleet's name — a step-failed alert on the
 * channels its members would use, and a failed run in the metrics. Its alert state has nowhere to
 * live (the parent credential's secret is only read), so the alert repeats on every run that cannot
 * list the fleet, with one dedup key (PagerDuty keeps one incident), and no resolve follows.
 */
export async function reportUnlistedFleets(
  config: RotatorConfig,
  runtime: Runtime,
  failures: readonly TargetResult[],
): Promise<void> {
  const nowMs = runtime.now();
  const at = new Date(nowMs).toISOString();
  for (const fleet of config.fleets) {
    const failure = failures.find((f) => f.target === fleet.name && f.kind === 'failed');
    if (failure?.kind !== 'failed') continue;
    runtime.metrics?.({ target: fleet.name, atMs: nowMs, values: { TargetsChecked: 1, RotationsFailed: 1 } });
    const channels = channelsFor(fleet.member(fleet.parentAccountSid), runtime.alertChannels ?? []);
    if (channels.length === 0) continue;
    const alert: Alert = {
      id: randomUUID().replace(/-/g, ''),
      event: 'step-failed',
      action: 'trigger',
      severity: SEVERITY['step-failed'],
      test: false,
      target: fleet.name,
      credential: fleet.member(fleet.parentAccountSid).kind,
      account: fleet.parentAccountSid,
      problem: 'step-failed',
      summary: `${fleet.name}: the fleet's subaccounts could not be listed, so none of its members ran`,
      details: [],
      refs: [],
      step: failure.step,
      error: { message: failure.error },
      runbook: RUNBOOK['step-failed'],
      dedupKey: dedupKey(fleet.name, 'step-failed'),
      firstSeenAt: at,
      occurredAt: at,
    };
    await deliver(alert, channels, AbortSignal.timeout(config.alerts.budgetMs), runtime.logger).catch((err: unknown) =>
      runtime.logger.error(`alerting for fleet ${fleet.name} failed: ${redact(errorMessage(err))}`, {
        target: fleet.name,
        step: 'alert',
      }),
    );
  }
}
