import type { ApiKeySecret } from './secret-shapes.js';
import type { StoredSecret, TwilioKey } from './ports.js';

/** Annotations the rotator keeps as tags on the secret, so any run (or `status`) can read them. */
export const TAG_CURRENT_SINCE = 'rotator:current-since';
export const TAG_CONFIRMED = 'rotator:confirmed';
export const TAG_LAST_ERROR = 'rotator:last-error';

export interface LabelledKey {
  versionId: string;
  createdAtMs: number;
  key: ApiKeySecret;
}

export interface ProbeResult {
  url: string;
  /** The key SID the consumer reports, when it answered. */
  reported?: string;
  ok: boolean;
  problem?: string;
}

export interface GateObservation {
  /** When the current version became current (from the current-since tag). */
  sinceMs: number;
  probes: ProbeResult[];
  confirmed: boolean;
}

/** Everything one planning decision may look at. Built by the engine, never by the planner. */
export interface Observation {
  nowMs: number;
  secretId: string;
  secret: StoredSecret | undefined;
  current?: LabelledKey;
  pending?: LabelledKey;
  previous?: LabelledKey;
  /** Every key on the account, from a complete list. */
  keys: readonly TwilioKey[];
  /** Key SIDs proven to work during this run. */
  verified: ReadonlySet<string>;
  /** A labelled AWSPENDING version with no value yet: Secrets Manager's own rotation is under way. */
  pendingPlaceholder?: string;
  /** Gate results; present once the engine has evaluated the gate in this run. */
  gate?: GateObservation;
}

export interface PlannerSettings {
  prefix: string;
  maxAgeMs: number;
  orphanGraceMs: number;
  force: boolean;
  gate: { minOverlapMs: number; maxWaitMs: number; manualConfirm: boolean; probeCount: number };
}

/** The next thing to do. Steps act; outcomes end the run for this target. */
export type Step =
  | { kind: 'sweep-orphans'; keys: TwilioKey[] }
  | { kind: 'create-secret'; versionId: string; friendlyName: string }
  | { kind: 'start-rotation'; versionId: string; friendlyName: string; reason: string }
  | { kind: 'drop-dead-pending'; versionId: string; keySid: string }
  | { kind: 'verify-pending'; versionId: string; keySid: string }
  | { kind: 'promote'; versionId: string; keySid: string }
  | { kind: 'verify-current'; versionId: string; keySid: string }
  | { kind: 'mark-current'; versionId: string }
  | { kind: 'check-gate'; keySid: string }
  | { kind: 'retire-previous'; keySid: string; versionId: string };

export type Outcome =
  | { kind: 'done'; currentKeySid: string; nextDueAtMs: number }
  | { kind: 'waiting'; on: string[]; sinceMs: number; deadlineMs: number; previousKeySid: string }
  | { kind: 'stuck'; on: string[]; sinceMs: number; previousKeySid: string }
  | { kind: 'busy'; reason: string };

export type Decision = Step | Outcome;

export function isOutcome(d: Decision): d is Outcome {
  return d.kind === 'done' || d.kind === 'waiting' || d.kind === 'stuck' || d.kind === 'busy';
}
