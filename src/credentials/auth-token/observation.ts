import type { SecretLocation } from '../../core/target.js';
import type { GateCheck, GateObservation, GateSettings } from '../../core/gate.js';
import type { Outcome } from '../../core/outcome.js';
import type { Emergency } from '../../core/runtime.js';
import type { StoredSecret, TokenCheck } from '../../core/ports.js';

/** What the Auth Token planner looks at and decides. Built by ./observe.ts, never by the planner. */

/** "<rotationId> <ISO time> <nonce>": a secondary is about to be created for that rotation. */
export const TAG_SECONDARY_INTENT = 'rotator:secondary-intent';
/** "<versionId> <ISO time>": the pending token was stored and proven; the consumer gate counts from it. */
export const TAG_PENDING_SINCE = 'rotator:pending-since';
/** "<versionId>": after the promotion to that version, the new token worked and the old one was refused. */
export const TAG_SETTLED = 'rotator:settled';

/**
 * "<rotationId> <ISO time> <how>": a creation of that rotation may have made a secondary whose value
 * was lost. `how` is `lost-answer` (Twilio said a secondary exists right after an attempt went
 * unanswered: probably it) or `stopped` (its run stopped between announcing and storing: maybe). Such a secondary can
 * never be proven this rotator's, so it is never deleted: this only words the report when a later
 * creation meets it. Cleared once a creation succeeds (then no secondary existed).
 */
export const TAG_UNSTORED = 'rotator:unstored-secondary';

export interface TokenVersion {
  versionId: string;
  createdAtMs: number;
  token: string;
  /** The token's fingerprint: how it is named everywhere. */
  ref: string;
  document: Record<string, unknown>;
}

export interface Intent {
  rotationId: string;
  atMs: number;
  nonce: string;
}

/** A creation that may have left a secondary whose value is lost (TAG_UNSTORED). */
export interface Unstored {
  rotationId: string;
  atMs: number;
  how: 'lost-answer' | 'stopped';
}

export interface Observation {
  nowMs: number;
  secretId: string;
  secret: StoredSecret | undefined;
  current?: TokenVersion;
  pending?: TokenVersion;
  previous?: TokenVersion;
  pendingPlaceholder?: { versionId: string; createdAtMs: number };
  /** What Twilio said of each token this run looked at, by fingerprint. */
  checks: ReadonlyMap<string, TokenCheck>;
  /** Other admin secrets that still hold the token a promotion of this rotator retired. */
  staleCopies: readonly SecretLocation[];
  /** A secondary creation that was announced but whose token was never stored. */
  intent?: Intent;
  /** A creation that may have left a secondary nobody can read (TAG_UNSTORED). */
  unstored?: Unstored;
  /** A promotion this rotator recorded (the labels match it) that has not settled yet. */
  promoting?: boolean;
  /**
   * The current token was refused, and a fresh read found the secret changed since this run's first
   * read: another run promoted the token meanwhile. The observation is the fresh one; this says what moved.
   */
  movedUnder?: string;
  gate?: GateObservation;
}

export interface PlannerSettings {
  target: string;
  maxAgeMs: number;
  force: boolean;
  gate: GateSettings;
  propagationDelayMs: number;
  /**
   * How long a run may take from announcing a creation to storing the token: two remote calls at
   * their retry budget, and a margin. A younger announcement may be another run's creation in flight.
   */
  creationWindowMs: number;
  /** Delete a secondary this rotator did not create (rotate --replace-secondary); read by the steps. */
  replaceSecondary: boolean;
  /** rotate --now: the gate before the promotion is only this overlap; a token it did not create is due. */
  emergency?: Emergency;
  /** Secrets Manager's rotation protocol: the event's token, the version this run fills and promotes. */
  token?: string;
}

export type Step =
  | { kind: 'start-rotation'; versionId: string; reason: string }
  | { kind: 'abandon-creation'; rotationId: string; atMs: number }
  | { kind: 'drop-dead-pending'; versionId: string; ref: string }
  | { kind: 'clear-pending-label'; versionId: string }
  | { kind: 'mark-pending'; versionId: string; ref: string }
  | { kind: 'promote'; versionId: string; fromVersionId: string; ref: string }
  | { kind: 'finish-promotion'; versionId: string; fromVersionId: string; ref: string }
  | { kind: 'mark-current'; versionId: string }
  | { kind: 'refresh-copies'; locations: SecretLocation[]; versionId: string }
  | { kind: 'settle'; versionId: string; ref: string };

export type Decision = Step | GateCheck | Outcome;

export interface RunFacts {
  /** Token checks of this run, by token; cleared whenever the run changes something on Twilio. */
  checks: Map<string, TokenCheck>;
}
