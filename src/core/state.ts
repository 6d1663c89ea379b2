import type { ApiKeySecret } from './secret-shapes.js';
import type { StoredSecret, TwilioKey } from './ports.js';

/** Annotations the rotator keeps as tags on the secret, so any run (or `status`) can read them. */
export const TAG_CURRENT_SINCE = 'rotator:current-since';
export const TAG_CONFIRMED = 'rotator:confirmed';
export const TAG_LAST_ERROR = 'rotator:last-error';
/**
 * "<from versionId> <to versionId>", written just before the rotator moves AWSCURRENT. The previous
 * key is retired only when AWSPREVIOUS and AWSCURRENT are exactly that pair: the rotator deletes the
 * old key of a promotion it performed itself, never one it found there.
 */
export const TAG_PROMOTED = 'rotator:promoted';

/** A Secrets Manager rotation whose AWSPENDING version stays empty this long is reported stuck. */
export const PLACEHOLDER_STUCK_AFTER_MS = 3_600_000;

export interface LabelledKey {
  versionId: string;
  createdAtMs: number;
  key: ApiKeySecret;
  /** The whole stored object; a new version keeps the fields a consumer added. */
  document: Record<string, unknown>;
}

/** A labelled version whose value does not parse: whatever key it holds is kept, and reported. */
export interface UnreadableVersion {
  stage: string;
  versionId: string;
  /** Key SIDs found in its text; they count as referenced. */
  sids: string[];
  problem: string;
}

export interface ProbeResult {
  url: string;
  /** The key SID the consumer reports, when it answered. */
  reported?: string;
  ok: boolean;
  problem?: string;
}

export interface GateObservation {
  probes: ProbeResult[];
  confirmed: boolean;
}

/** Everything one planning decision may look at. Built by the engine, never by the planner. */
export interface Observation {
  nowMs: number;
  secretId: string;
  secret: StoredSecret | undefined;
  /** Names this target's keys (core/rotation-id.ts); present once the secret exists. */
  fingerprint?: string;
  current?: LabelledKey;
  pending?: LabelledKey;
  previous?: LabelledKey;
  unreadable: readonly UnreadableVersion[];
  /** Every key on the account, from a complete list. */
  keys: readonly TwilioKey[];
  /** Key SIDs proven to work during this run. */
  verified: ReadonlySet<string>;
  /** Key SIDs of the admin credentials this configuration uses: never deleted, never rotated. */
  protectedSids: ReadonlySet<string>;
  /**
   * The current key, never proven, was refused by verification in this run, and a new key made from
   * the configuration would differ (another policy): a rotation replaces it.
   */
  currentRefused?: { keySid: string; reason: string };
  /** A labelled AWSPENDING version with no value yet: Secrets Manager's own rotation is under way. */
  pendingPlaceholder?: { versionId: string; createdAtMs: number };
  /** Gate results; present once the engine has evaluated the gate in this run. */
  gate?: GateObservation;
}

export interface PlannerSettings {
  prefix: string;
  /** The target's name, for messages that tell a person what to run. */
  target: string;
  maxAgeMs: number;
  orphanGraceMs: number;
  force: boolean;
  gate: { minOverlapMs: number; maxWaitMs: number; manualConfirm: boolean };
}

/** The next thing to do. Steps act; outcomes end the run for this target. */
export type Step =
  | { kind: 'sweep-orphans'; keys: TwilioKey[] }
  | { kind: 'reserve-secret' }
  | { kind: 'create-secret'; versionId: string; friendlyName: string }
  | { kind: 'start-rotation'; versionId: string; friendlyName: string; reason: string }
  | { kind: 'drop-dead-pending'; versionId: string; keySid: string }
  | { kind: 'verify-pending'; versionId: string; keySid: string }
  | { kind: 'promote'; versionId: string; keySid: string; fromVersionId: string }
  | { kind: 'verify-current'; versionId: string; keySid: string }
  | { kind: 'mark-current'; versionId: string }
  | { kind: 'check-gate'; keySid: string }
  | { kind: 'retire-previous'; keySid: string; versionId: string };

/**
 * - stuck: a person must act (the gate held past its maximum wait, a key was deleted outside the
 *   rotator, a Secrets Manager rotation never filled its version, the rotated key is an admin
 *   credential); nothing is changed until then.
 */
export type Outcome =
  | { kind: 'done'; currentKeySid: string; nextDueAtMs: number }
  | { kind: 'waiting'; on: string[]; sinceMs: number; deadlineMs: number; previousKeySid: string }
  | { kind: 'stuck'; on: string[]; sinceMs: number; previousKeySid?: string }
  | { kind: 'busy'; reason: string };

export type Decision = Step | Outcome;

export function isOutcome(d: Decision): d is Outcome {
  return d.kind === 'done' || d.kind === 'waiting' || d.kind === 'stuck' || d.kind === 'busy';
}
