import type { KeyClass } from '../core/inventory.js';
import { DAY_MS } from '../core/sids.js';
import type { AuditedKey, AuditReport } from '../engine/audit.js';

/**
 * The audit as a person reads it and as a pipeline diffs it. The JSON carries no "now": keys are in
 * SID order with their creation time, so two audits of an unchanged account differ only where a key
 * crossed the age threshold or was cleaned up.
 */

const ORDER: readonly KeyClass[] = ['managed', 'admin', 'twilio-managed', 'rotator-orphan', 'unmanaged'];

const role = (k: AuditedKey) =>
  k.claims
    .filter((c) => c.role !== 'look-alike')
    .map((c) => `${c.role} of ${c.target}`)
    .join(', ');

export function auditJson(report: AuditReport): unknown {
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

export function auditText(report: AuditReport, nowMs: number): string {
  const lines: string[] = [];
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
        k.old ? `older than ${report.olderThanDays} days` : undefined,
        k.cleanupResult !== undefined ? `cleanup: ${k.cleanupResult}` : undefined,
      ].filter(Boolean);
      lines.push(
        `  ${k.class.padEnd(15)} ${k.sid}  ${age.padStart(6)}  ${JSON.stringify(k.friendlyName ?? '')}${what.length ? `  ${what.join('; ')}` : ''}`,
      );
    }
    const counts = ORDER.map((c) => [c, a.keys.filter((k) => k.class === c).length] as const).filter(([, n]) => n > 0);
    const old = a.keys.filter((k) => k.old).length;
    lines.push(
      `  summary: ${counts.map(([c, n]) => `${n} ${c}`).join(', ') || 'no keys'}; ${old} older than ${report.olderThanDays} days`,
    );
    for (const e of a.errors) lines.push(`  ERROR: ${e}`);
  }
  if (report.cleanup === 'dry-run') lines.push('dry run: nothing was revoked.');
  return lines.join('\n');
}
