import type { KeyClass } from '../../core/inventory.js';
import { DAY_MS } from '../../core/sids.js';
import type { AuditedKey, AuditReport } from '../../engine/audit.js';
import { UsageError } from '../../errors.js';
import { noArguments, type Command } from './command.js';
import { BAD_INPUT, olderThanDays } from './flags.js';

export const audit: Command = {
  usage: [['audit [--cleanup [--dry-run]]', 'every key on the accounts, classified; revoke rotator orphans']],
  help: `Usage: twilio-key-rotator audit [--older-than DAYS] [--cleanup [--dry-run]] [--json]

Lists every API key on each configured account, classified: managed (current, pending or previous
of a target), admin (an admin credential of this configuration), twilio-managed (made by Twilio,
e.g. "Studio API Key"), rotator-orphan (made by the rotator for a target, stored nowhere),
unmanaged (nobody here accounts for it). Marks keys older than DAYS. Read-only unless --cleanup.

      --older-than DAYS  the age that counts as old (default 90)
      --cleanup          revoke rotator orphans, and nothing else: never a managed, admin,
                         Twilio-made or unmanaged key (exactly what each target's next run would sweep)
      --dry-run          with --cleanup: say what would be revoked; change nothing

Exits 1 when an account cannot be read whole (then nothing on it is cleaned up) or a revocation failed.`,
  exitCodes: `Exit codes: 0 every account read whole (and every revocation done), 1 an account could not be
read whole or a revocation failed, ${BAD_INPUT}.`,
  flags: ['older-than', 'cleanup', 'dry-run'],
  refuses: { target: '--target belongs to rotate and status; audit covers every configured account' },
  check(rest, values) {
    if (values['dry-run'] && !values.cleanup)
      throw new UsageError('--dry-run on audit goes with --cleanup; audit alone changes nothing');
    olderThanDays(values['older-than']);
    noArguments('audit', rest);
  },
  async run({ values, session, print }) {
    const config = await session.config();
    const runtime = await session.runtime(config);
    const { audit: auditAccounts } = await import('../../engine/audit.js');
    const report = await auditAccounts(config, runtime, {
      olderThanDays: olderThanDays(values['older-than']),
      ...(values.cleanup ? { cleanup: values['dry-run'] ? ('dry-run' as const) : ('revoke' as const) } : {}),
    });
    print(values.json ? JSON.stringify(auditJson(report), null, 2) : auditText(report, runtime.now()));
    return report.accounts.some((a) => a.errors.length > 0) ? 1 : 0;
  },
};

// The audit as a person reads it and as a pipeline diffs it. The JSON carries no "now": keys are in
// SID order with their creation time, so two audits of an unchanged account differ only where a key
// crossed the age threshold or was cleaned up.

const ORDER: readonly KeyClass[] = ['managed', 'admin', 'twilio-managed', 'rotator-orphan', 'unmanaged'];

const role = (k: AuditedKey) =>
  k.claims
    .filter((c) => c.role !== 'look-alike')
    .map((c) => `${c.role} of ${c.target}`)
    .join(', ');

function auditJson(report: AuditReport): unknown {
  return {
    olderThanDays: report.olderThanDays,
    ...(report.cleanup ? { cleanup: report.cleanup } : {}),
    accounts: report.accounts.map((a) => ({
      accountSid: a.accountSid,
      targets: a.targets,
      errors: a.errors,
      keys: [...a.keys]
        .sort((x, y) => (x.sid < y.sid ? -1 : x.sid > y.sid ? 1 : 0))
        .map((k) => ({
          sid: k.sid,
          friendlyName: k.friendlyName,
          createdAt: Number.isFinite(k.createdAtMs) ? new Date(k.createdAtMs).toISOString() : null,
          class: k.class,
          claims: k.claims,
          olderThanThreshold: k.old,
          ...(k.note !== undefined ? { note: k.note } : {}),
          cleanupCandidate: k.cleanup,
          ...(k.cleanupResult !== undefined ? { cleanupResult: k.cleanupResult } : {}),
        })),
    })),
  };
}

function auditText(report: AuditReport, nowMs: number): string {
  const lines: string[] = [];
  const oldWords = `older than ${report.olderThanDays} days`;
  for (const a of report.accounts) {
    lines.push(`${a.accountSid} (targets: ${a.targets.join(', ')}): ${a.keys.length} key(s)`);
    const sorted = [...a.keys].sort(
      (x, y) => ORDER.indexOf(x.class) - ORDER.indexOf(y.class) || x.createdAtMs - y.createdAtMs,
    );
    for (const k of sorted) {
      const age = Number.isFinite(k.createdAtMs) ? `${Math.floor((nowMs - k.createdAtMs) / DAY_MS)} d` : '? d';
      const what = [
        role(k),
        k.note,
        k.old ? oldWords : undefined,
        k.cleanupResult !== undefined ? `cleanup: ${k.cleanupResult}` : undefined,
      ].filter(Boolean);
      const name = JSON.stringify(k.friendlyName ?? '');
      const notes = what.length ? `  ${what.join('; ')}` : '';
      lines.push(`  ${k.class.padEnd(15)} ${k.sid}  ${age.padStart(6)}  ${name}${notes}`);
    }
    const counts = ORDER.map((c) => [c, a.keys.filter((k) => k.class === c).length] as const).filter(([, n]) => n > 0);
    const old = a.keys.filter((k) => k.old).length;
    lines.push(`  summary: ${counts.map(([c, n]) => `${n} ${c}`).join(', ') || 'no keys'}; ${old} ${oldWords}`);
    for (const e of a.errors) lines.push(`  ERROR: ${e}`);
  }
  if (report.cleanup === 'dry-run') lines.push('dry run: nothing was revoked.');
  return lines.join('\n');
}
