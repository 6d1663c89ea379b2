import type { GateCheck, GateObservation, GateSettings } from '../../core/gate.js';
import type { Outcome } from '../../core/outcome.js';
import type { Emergency } from '../../core/runtime.js';
import type { StoredSecret, TwilioKey } from '../../core/ports.js';

/** A stored credential in the planner's terms: a key's SID and secret, or an app's client ID and secret. */
export interface Credential {
  accountSid: string;
  apiKeySid: string;
  apiKeySecret: string;
}

export interface LabelledKey {
  versionId: string;
  createdAtMs: number;
  key: Credential;
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

/** What the named-credential planner looks at (built by ./observe.ts), whatever the kind. */
export interface Observation {
  nowMs: number;
  secretId: string;
  secret: StoredSecret | undefined;
  /** Names this target's keys (./naming.ts); present once the secret exists. */
  fingerprint?: string;
  current?: LabelledKey;
  pending?: LabelledKey;
  previous?: LabelledKey;
  unreadable: readonly UnreadableVersion[];
  /** Every key on the account, from a complete list. */
  keys: readonly TwilioKey[];
  /** Proven to work during this run. */
  verified: ReadonlySet<string>;
  /** The admin credentials this configuration uses: never deleted, never rotated. */
  protectedSids: ReadonlySet<string>;
  /** The current key, never proven, was refused in this run, and a new key would differ: a rotation replaces it. */
  currentRefused?: { keySid: string; reason: string };
  /** A labelled AWSPENDING version with no value yet: Secrets Manager's own rotation is under way. */
  pendingPlaceholder?: { versionId: string; createdAtMs: number };
  /**
   * Key SIDs other targets' secrets on this account hold, by target: never retired here. Read only when
   * this target might delete a key; `problem` when a secret could not be read, and then nothing is deleted.
   */
  servedElsewhere?: { sids: ReadonlyMap<string, string> } | { problem: string };
  /** Present once the engine has evaluated the gate in this run. */
  gate?: GateObservation;
}

export interface PlannerSettings {
  prefix: string;
  /** The target's name. */
  target: string;
  maxAgeMs: number;
  orphanGraceMs: number;
  force: boolean;
  gate: GateSettings;
  emergency?: Emergency;
  token?: string;
}

/** What the planner reads of the target; the engine adds `force` and `emergency` (RunFlags). */
export type Settings = Omit<PlannerSettings, 'force' | 'emergency'>;

/** The next thing to do: ./steps.ts declares each. */
export type Step =
  | { kind: 'sweep-orphans'; keys: TwilioKey[] }
  | { kind: 'reserve-secret' }
  | { kind: 'create-secret'; versionId: string; friendlyName: string }
  | { kind: 'start-rotation'; versionId: string; friendlyName: string; reason: string }
  | { kind: 'drop-dead-pending'; versionId: string; keySid: string }
  | { kind: 'clear-pending-label'; versionId: string }
  | { kind: 'verify-pending'; versionId: string; keySid: string }
  | { kind: 'promote'; versionId: string; keySid: string; fromVersionId: string }
  | { kind: 'verify-current'; versionId: string; keySid: string }
  | { kind: 'mark-current'; versionId: string }
  | { kind: 'retire-previous'; keySid: string; versionId: string };

/** What one run learns as it goes. */
export interface RunFacts {
  verified: Set<string>;
  currentRefused?: { keySid: string; reason: string };
}

export type Decision = Step | GateCheck | Outcome;
