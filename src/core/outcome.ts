/**
 * What a run of one target ends in. Outcomes come from a planner (nothing more to do in this run);
 * the other results from the engine. Credentials are named by a reference that is never secret: a
 * key SID, or a token's fingerprint.
 *
 * - stuck: a person must act (the gate held past its maximum wait, a credential was changed outside
 *   the rotator, a Secrets Manager rotation never filled its version, an admin credential sits where a
 *   rotated one should); nothing is changed until then.
 */
export type Outcome =
  | { kind: 'done'; current: string; nextDueAtMs: number }
  | { kind: 'waiting'; on: string[]; sinceMs: number; deadlineMs: number; kept: string }
  | { kind: 'stuck'; on: string[]; sinceMs: number; kept?: string }
  | { kind: 'busy'; reason: string };

export function isOutcome(d: { kind: string }): d is Outcome {
  return d.kind === 'done' || d.kind === 'waiting' || d.kind === 'stuck' || d.kind === 'busy';
}

/** `plan`: what the step was meant to do, in the dry run's words. */
export interface StepRecord {
  step: string;
  detail: string;
  plan: string;
}

/** Why a step failed, when what a person does next depends on it (alerts choose their runbook by it). */
export type FailureReason = 'verification-failed' | 'foreign-secondary';

/** The remote answer behind a failure: the service and its own code, never the request or a secret. */
export interface RemoteFault {
  service: string;
  operation: string;
  status?: number;
  code?: string | number;
}

/** How a step ended a run early. */
export type Ending =
  | { kind: 'failed'; step: string; error: string; reason?: FailureReason; remote?: RemoteFault }
  | { kind: 'lost-race'; detail: string };

/** What a run saw beyond its outcome (for health, alerts, metrics), once a look succeeded; never a secret. */
export interface Sighting {
  /** At the run's last look. */
  current?: { ref: string; createdAtMs: number };
  /** The current credential at the first look, when Twilio no longer had it (or refused it). */
  goneAtStart?: string;
  /** Named like this target's and never to be deleted by it; undefined when the kind has none. */
  orphans?: readonly string[];
  /** At the last look (health state lives there); undefined when the secret does not exist. */
  tags?: Readonly<Record<string, string>>;
  rotationsStarted: number;
  rotationsCompleted: number;
}

interface Base {
  target: string;
  credential: string; // the target's kind
  steps: StepRecord[];
  /** Not in a dry run. */
  seen?: Sighting;
  /** Set when the run ends in an outcome. */
  currentCreatedAtMs?: number;
}

/**
 * Why a run stopped before its next step without anything being wrong: out of time (the Lambda's
 * deadline), stopped (the daemon's SIGTERM), outside the target's maintenance window, paused, or a
 * fleet member whose subaccount the fleet no longer lists.
 */
export type DeferReason = 'out-of-time' | 'stopped' | 'window' | 'paused' | 'not-a-member';

export type TargetResult = Base &
  (
    | Outcome
    | Ending
    | { kind: 'deferred'; detail: string; reason?: DeferReason }
    | { kind: 'planned'; plan: string[]; checks: string[]; warnings: string[] }
  );

/** 1 when a person needs to look: a failed step or a target that is stuck. */
export function exitCodeFor(results: readonly TargetResult[]): 0 | 1 {
  return results.some((r) => r.kind === 'failed' || r.kind === 'stuck') ? 1 : 0;
}
