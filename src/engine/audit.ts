import type { RotatorConfig, TargetConfig } from '../config/types.js';
import { classifyKeys, type InventoryEntry, type KeyClaim } from '../core/inventory.js';
import type { TwilioKey } from '../core/ports.js';
import type { RunScope, Runtime } from '../core/runtime.js';
import { DAY_MS } from '../core/sids.js';
import { kindOf } from '../credentials/registry.js';
import { errorMessage } from '../errors.js';
import { redact } from '../redact.js';
import { openRun, type Run } from './reconcile.js';
import { resolveTargets, runScope } from './targets.js';

/**
 * `audit`: every key on each account, classified (core/inventory.ts) from one complete list and each
 * target's observation. `--cleanup` revokes exactly what each target's sweep-orphans would, looked at
 * again, less what another target uses, through the kind's one delete; an account not read whole gets none.
 */

export interface AuditOptions {
  olderThanDays: number;
  /** Revoke rotator orphans, or only say which would be revoked. */
  cleanup?: 'revoke' | 'dry-run';
}

export interface AuditedKey extends InventoryEntry {
  /** What the cleanup did with it. */
  cleanupResult?: string;
}

export interface AccountAudit {
  accountSid: string;
  targets: string[];
  keys: AuditedKey[];
  /** What makes this account's picture incomplete, or a cleanup that failed. */
  errors: string[];
}

export interface AuditReport {
  olderThanDays: number;
  cleanup?: 'revoke' | 'dry-run';
  accounts: AccountAudit[];
}

export async function audit(config: RotatorConfig, runtime: Runtime, options: AuditOptions): Promise<AuditReport> {
  const resolved = await resolveTargets(config, runtime);
  const scope = runScope(resolved, runtime);
  const byAccount = new Map<string, TargetConfig[]>();
  // A kind without the audit capability has no keys to account for: its targets are not audited.
  for (const t of resolved.chosen.filter((x) => kindOf(x).capabilities.audit !== undefined)) {
    const account = t.accountSid.toUpperCase();
    byAccount.set(account, [...(byAccount.get(account) ?? []), t]);
  }
  const accounts: AccountAudit[] = [];
  for (const targets of byAccount.values()) accounts.push(await auditAccount(targets, runtime, scope, options));
  // What could not be resolved (a fleet not listed: its subaccounts) is reported on its account, unaudited.
  for (const u of resolved.unresolved)
    accounts.push({ accountSid: u.account, targets: [u.result.target], keys: [], errors: [`${u.label}: ${u.why}`] });
  return { olderThanDays: options.olderThanDays, ...(options.cleanup ? { cleanup: options.cleanup } : {}), accounts };
}

const problem = (err: unknown) => redact(errorMessage(err));

async function auditAccount(
  targets: TargetConfig[],
  runtime: Runtime,
  scope: RunScope,
  options: AuditOptions,
): Promise<AccountAudit> {
  const out: AccountAudit = {
    accountSid: targets[0]!.accountSid,
    targets: targets.map((t) => t.name),
    keys: [],
    errors: [],
  };
  const claims: KeyClaim[] = [];
  const runs: Run[] = [];
  /** One complete list per kind on the account (API keys, OAuth apps), from the first target that gives one. */
  const lists = new Map<string, readonly TwilioKey[]>();
  for (const target of targets) {
    try {
      const run = await openRun(target, runtime, scope, {});
      const audit = run.kind.capabilities.audit!;
      const obs = audit.claims ? await run.kind.observe(run.session, runtime) : undefined;
      if (obs) claims.push(...audit.claims!(obs, run.settings));
      if (!lists.has(target.kind)) lists.set(target.kind, await audit.keys(run.session, runtime, obs));
      if (audit.orphans && audit.revoke) runs.push(run);
    } catch (err) {
      const unmanaged = 'its keys show as unmanaged, and nothing on this account is cleaned up';
      out.errors.push(`${target.name}: cannot read its state (${problem(err)}); ${unmanaged}`);
    }
  }
  const keys = lists.size === 0 ? undefined : [...lists.values()].flat();
  if (!keys) {
    out.errors.push(`cannot list the keys of ${out.accountSid}: no target of it could list them`);
    return out;
  }
  const entries: AuditedKey[] = classifyKeys(keys, claims, await scope.protectedSids(), {
    nowMs: runtime.now(),
    olderThanMs: options.olderThanDays * DAY_MS,
  });
  out.keys = entries;
  if (options.cleanup && out.errors.length === 0) await cleanup(entries, runs, runtime, options.cleanup, out.errors);
  else if (options.cleanup)
    for (const e of entries.filter((x) => x.cleanup)) e.cleanupResult = 'kept: this account could not be read whole';
  return out;
}

async function cleanup(
  entries: AuditedKey[],
  runs: Run[],
  runtime: Runtime,
  mode: 'revoke' | 'dry-run',
  errors: string[],
): Promise<void> {
  // Whatever any target uses, Twilio made, or an admin credential is, stays: even a key that carries
  // one target's fingerprint but sits in another target's secret.
  const keep = new Set(
    entries.filter((e) => e.class !== 'rotator-orphan' && e.class !== 'unmanaged').map((e) => e.sid),
  );
  for (const run of runs) {
    let sids: string[];
    let obs: unknown;
    try {
      // Look again right before deleting, as the reconcile does before its sweep.
      obs = await run.kind.observe(run.session, runtime);
      sids = run.kind.capabilities.audit!.orphans!(obs as never, run.settings).map((k) => k.sid);
    } catch (err) {
      errors.push(
        `${run.session.target.name}: cannot look again before the cleanup (${problem(err)}); nothing revoked`,
      );
      continue;
    }
    for (const sid of sids.filter((s) => !keep.has(s))) {
      const entry = entries.find((e) => e.sid === sid);
      let result: string;
      if (mode === 'dry-run') result = 'would be revoked (dry run)';
      else {
        try {
          result = await run.kind.capabilities.audit!.revoke!(run.session, obs as never, sid);
        } catch (err) {
          result = `not revoked: ${problem(err)}`;
          errors.push(`${run.session.target.name}: revoking ${sid} failed: ${problem(err)}`);
        }
      }
      if (entry) entry.cleanupResult = result;
    }
  }
  for (const e of entries)
    if (e.cleanup && e.cleanupResult === undefined) e.cleanupResult = 'kept: not an orphan when looked at again';
}
