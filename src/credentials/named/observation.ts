import type { GateCheck, GateObservation, GateSettings } from '../../core/gate.js';
import type { Outcome } from '../../core/outcome.js';
import type { Emergency } from '../../core/runtime.js';
import type { StoredSecret, TwilioKey } from '../../core/ports.js';

/**
 * What the named-credential planner looks at and decides, whatever the kind (API keys, OAuth apps).
 * Built by ./observe.ts, never by the planner.
 */

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
  /**
   * Key SIDs the secrets of the configuration's other targets on this account hold (current, pending
   * or previous), with the target that holds each: never retired by this target. Read only when this
   * target might delete a key (a previous key alive, or a key of its own nothing labels); `problem`
   * when a secret could not be read, and then nothing is deleted.
   */
  servedElsewhere?: { sids: ReadonlyMap<string, string> } | { problem: string };
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
  gate: GateSettings;
  /** rotate --now: the gate is only this overlap, and a current key it did not create is due. */
  emergency?: Emergency;
  /** Secrets Manager's rotation protocol: the event's token, the version this run fills and promotes. */
  token?: string;
}

/** What the planner reads of the target; the engine adds `force` and `emergency` (RunFlags). */
export type Settings = Omit<PlannerSettings, 'force' | 'emergency'>;

/** The next thing to do. Each is carried out by one function in ./steps.ts. */
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

/** What one run learns as it goes: credentials it proved, and a current one that verification refused. */
export interface RunFacts {
  verified: Set<string>;
  currentRefused?: { keySid: string; reason: string };
}

export type Decision = Step | GateCheck | Outcome;
