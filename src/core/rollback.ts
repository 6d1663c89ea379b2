/**
 * `rollback <target>` (docs/rollback.md): the previous credential back during the overlap, driven by
 * engine/rollback.ts like a rotation (observe, plan, first step, observe again), so a rerun finishes it.
 *
 *   AWSCURRENT new, AWSPREVIOUS old (overlap)
 *     ─▶ verify-previous (the old credential still works; else refuse, nothing changed)
 *     ─▶ pause (tag rotator:paused, naming both versions; the engine writes it before any change)
 *     ─▶ restore-previous (AWSCURRENT back to old; the new one becomes AWSPREVIOUS)
 *     ─▶ revoke-new (only when provably this target's own) ─▶ alert
 */

/**
 * "<ISO time> rollback <from versionId> <to versionId>": automatic rotation is off for this target
 * since a rollback from one version back to the other. Written before the rollback changes anything,
 * so it is also the record that a later rerun finishes its own rollback and not a label a person moved.
 * `rotate --force --target NAME` (or `rotate --now NAME`) lifts it.
 */
export const TAG_PAUSED = 'rotator:paused';

export interface PauseRecord {
  atMs: number;
  /** The version rolled back from (the new, bad credential) and the one restored. */
  from: string;
  to: string;
}

export function formatPause(from: string, to: string, atMs: number): string {
  return `${new Date(atMs).toISOString()} rollback ${from} ${to}`;
}

/** The pause a rollback left, if any; an empty or malformed tag counts as a pause with no record. */
export function parsePause(tags: Readonly<Record<string, string>> | undefined): PauseRecord | 'unreadable' | undefined {
  const value = tags?.[TAG_PAUSED];
  if (!value) return undefined;
  const [iso, what, from, to, ...rest] = value.split(' ');
  const atMs = Date.parse(iso ?? '');
  if (what !== 'rollback' || !from || !to || rest.length > 0 || Number.isNaN(atMs)) return 'unreadable';
  return { atMs, from, to };
}

/** The pause in words, for status and the deferred result. */
export function describePause(pause: PauseRecord | 'unreadable', target: string): string {
  const resume = `resume with "twilio-key-rotator rotate --force --target ${target}"`;
  if (pause === 'unreadable') return `paused (tag ${TAG_PAUSED}); nothing automatic until a person acts; ${resume}`;
  const when = new Date(pause.atMs).toISOString();
  return `paused by a rollback at ${when} (version ${pause.from} back to ${pause.to}); nothing automatic; ${resume}`;
}

/** One step of a kind's rollback; `changes` false for a read (a verification); `plan`: dry-run words. */
export interface RollbackStep {
  kind: string;
  changes: boolean;
  plan: string;
}

/** A credential by reference (key SID, token fingerprint) and the version that holds it. */
export interface VersionRef {
  versionId: string;
  ref: string;
}

/**
 * What a kind's rollback planner says about the target now:
 * - steps:       what is left to do, in order (the engine carries out the first, then looks again);
 * - rolled-back: nothing left; `kept` when the new credential stays because it is not provably ours;
 * - refused:     nothing to roll back, or it cannot be done: exit 2, nothing was changed;
 * - stop:        something changed that this command did not do (a person, a concurrent run): exit 1.
 */
export type RollbackPlan<S extends RollbackStep = RollbackStep> =
  | { kind: 'steps'; from: VersionRef; to: VersionRef; steps: S[] }
  | { kind: 'rolled-back'; from: VersionRef; to: VersionRef; kept?: string }
  | { kind: 'refused'; why: string }
  | { kind: 'stop'; why: string };

/** What one step did: a detail for the log, a refusal (nothing changed) or a stop. */
export type RollbackAct = { detail: string } | { refused: string } | { stop: string };
