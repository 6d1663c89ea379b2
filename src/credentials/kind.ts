import type { KindConfig } from '../config-kit/target.js';
import type { TargetConfig } from './registry.js';
import type { TargetShape } from '../core/target.js';
import type { GateCheck, GateObservation } from '../core/gate.js';
import type { KeyClaim } from '../core/inventory.js';
import type { Ending, Outcome } from '../core/outcome.js';
import type { RollbackAct, RollbackPlan, RollbackStep } from '../core/rollback.js';
import type { SecretStore, StoredSecret, TwilioKey } from '../core/ports.js';
import type { Emergency, RunOptions, RunScope, Runtime } from '../core/runtime.js';
import type { ValueSource } from '../errors.js';

/**
 * The seam between the engine and a credential kind: one table per kind, listed once in ./registry.ts
 * (docs/architecture.md "The kind table" and "One run"). The engine's loops read it and nothing else of
 * a kind; a rerun after a crash starts at `observe` like any run.
 */

/** What every kind's session holds; a kind adds its own clients and what one run learns as it goes. */
export interface Session<T extends TargetShape = TargetConfig> {
  target: T;
  store: SecretStore;
}

export type { TargetShape };

/** What every kind's observation holds, so the engine can evaluate the gate and report tags. */
export interface ObservationBase {
  nowMs: number;
  secret: StoredSecret | undefined;
  gate?: GateObservation;
}

/** What the engine tells every plan, so no kind can forget to pass them through. */
export interface RunFlags {
  force: boolean;
  emergency?: Emergency;
  /** Secrets Manager's ClientRequestToken: the rotation the protocol drives. Absent in a scheduled run. */
  token?: string;
}

export interface ActResult {
  /** For the log. */
  detail: string;
  end?: Ending;
  /** The step started a rotation: --force has been spent. */
  startedRotation?: boolean;
  /** The step finished a rotation: the old credential is retired (a metric counts it). */
  completedRotation?: boolean;
  /** The version whose credential this step created (rotate --now keeps count). */
  createdVersion?: string;
}

/** One step, declared once: how it acts, how it reads, what it is. */
export interface StepSpec<P, O, S, Settings> {
  act(step: P, obs: O, session: S, runtime: Runtime, settings: Settings & RunFlags): Promise<ActResult>;
  /** The step in the words a dry run prints and `status` says the next rotate will do. */
  describe(step: P, obs: O, session: S): string;
  /** Starts only inside the maintenance window: it changes what consumers get. */
  window?: boolean;
  /**
   * Cannot be undone (deleting a credential, promoting a token): the engine makes sure the look it was
   * decided on is the store's present state, not this run's memory of it.
   */
  irreversible?: boolean;
  /** Names a new version: it needs every version id the secret ever had. */
  namesVersion?: boolean;
}

/** Every step of a kind, keyed by its name: a step the planner can return without an entry does not compile. */
export type StepTable<P extends { kind: string }, O, S, Settings> = {
  [K in P['kind']]: StepSpec<Extract<P, { kind: K }>, O, S, Settings>;
};

export type RotationEventName = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

/** One step of Secrets Manager's rotation protocol, as the Lambda receives it. */
export interface RotationEvent {
  Step: RotationEventName;
  SecretId: string;
  ClientRequestToken: string;
  RotationToken?: string;
}

/**
 * Secrets Manager's four events as a view of the same planner: the loop, told the event's token, takes
 * only the event's steps and succeeds when `done` holds; anything else fails the event (AWS retries).
 */
export type RotationView<P extends { kind: string }, O, T = unknown> = {
  [E in RotationEventName]: {
    steps: readonly P['kind'][];
    done(obs: O, token: string): boolean;
    /**
     * What the stored secret alone proves of `done` (./settled.ts): checked before the run opens (a
     * repeated event, setSecret after createSecret), and on the run's copy after each step, instead of
     * another look. Must imply `done`, with one allowance: createSecret's ends on a filled AWSPENDING
     * version, unparsed (as AWS's template does; setSecret's on the token's label alone); testSecret parses
     * and verifies it, so a value that is not a working credential of the target's account fails there.
     * A working one someone else wrote into the token's version is not told apart (docs/rotation-flow.md,
     * "Known gap"). Absent, the event always takes the whole look.
     */
    settled?: (secret: StoredSecret | undefined, token: string) => boolean;
    /**
     * The event carried to `done` on the secret as `settled` saw it (its labels and the token's value) and
     * the token's credential itself, before any look: no admin secret, no key list, no other credential
     * asked (as AWS's template tests and promotes). Only the plain case: it answers what it did, or
     * undefined without having written anything when anything is not plain (a refusal, a label moved
     * part-way), and the whole look then decides and acts. Undefined for a target whose credential only
     * the admin can prove: its event reads the secret for the look at once.
     */
    direct?: (
      target: T,
    ) => ((secret: StoredSecret, token: string, runtime: Runtime) => Promise<string | undefined>) | undefined;
  };
};

/** What `status` shows of the current credential. */
export interface CurrentSummary {
  /** Never the credential. */
  ref?: string;
  versionId?: string;
  createdAtMs?: number;
  nextDueAtMs?: number;
  /** The current credential no longer works or exists: a person should look. */
  gone: boolean;
}

/** What a kind is called and how its credentials are referred to, in every message the engine writes. */
export interface Words {
  /** "key", "token", "app". */
  noun: string;
  /** What a probe of this kind may report and echo back: a key SID, a token fingerprint. */
  ref: RegExp;
  /** Results, status and confirm also carry the reference under 0.1.0's key fields (currentKeySid, keySid). */
  keyFields?: boolean;
  /** How `rotate` says a rotation waits at its gate keeping `kept`. */
  waiting?(kept: string): string;
  /** The rotation makes a second credential someone else may have made first: `--replace-secondary` applies. */
  secondary?: boolean;
}

/** `rotate --now` for this kind: how long beyond the overlap a pass waits, and what consumers should expect. */
export interface EmergencyTiming<T, Settings> {
  /** Time after the overlap before the rotation can finish (an Auth Token's propagation delay); 0 when none. */
  settleMs(target: T): number;
  /** What happens to consumers still on the old credential, for the announcement (`overlap` in words). */
  consequence(overlap: string): string;
  /** Runs before every pass; a throw ends the command unfinished. */
  beforePass?(runtime: Runtime, target: T, emergency: Emergency, settings?: Settings): Promise<void>;
}

/** What a kind reads off an observation or a stored secret for people: status, confirm, `secret put`. */
export interface Report<T, S, O, Settings> {
  summary(obs: O, target: T): CurrentSummary;
  /** Its observe takes a claim (core/claim.ts) for the current value: the engine keeps the claim tag up to date. */
  claims?: true;
  /**
   * The version `confirm` marks and the reference a person confirms consumers use, while a rotation
   * waits at its gate; otherwise why nothing waits (read from the stored secret alone, no remote call).
   */
  confirmable(secret: StoredSecret, target: T): { versionId: string; ref: string } | { nothing: string };
  /** Checks a value a person stores (`secret put`) and names it by reference; throws SecretShapeError. */
  describeValue(value: string, source: ValueSource, target: T): string;
  /**
   * The credential a stored value of this kind holds, by reference, for matching a leak report (its
   * key SID when it is an API key); undefined when the value is not one this target could have made.
   */
  holds?(value: string, target: T): { ref: string; credential: string; keySid?: string } | undefined;
  warnings?(obs: O, settings: Settings): string[];
  /**
   * Credentials on Twilio named like this target's that it will never delete (not provably its own,
   * referenced by nothing): a person must.
   */
  strays?(obs: O, settings: Settings): string[];
  /** The dry run's read-only checks beyond the loop itself. */
  preflight?(session: S, obs: O, runtime: Runtime): Promise<{ checks: string[]; warnings: string[] }>;
}

/** What a kind may offer beyond rotating; each is absent, not a stub, when it does not. */
export interface Capabilities<S, O, Settings> {
  /** `abort`: backs out a rotation before its point of no return. */
  abort?(session: S, runtime: Runtime): Promise<string>;
  /** `audit`: the account's complete key list, which keys this target accounts for, its orphans' cleanup. */
  audit?: {
    keys(session: S, runtime: Runtime, obs: O | undefined): Promise<readonly TwilioKey[]>;
    claims?(obs: O, settings: Settings): KeyClaim[];
    /** What its orphan sweep would revoke now; `revoke` goes through the steps' one delete. */
    orphans?(obs: O, settings: Settings): readonly { sid: string }[];
    revoke?(session: S, obs: O, sid: string): Promise<string>;
  };
  admin?: {
    /**
     * Twilio refused the admin credential this run read: does the admin secret hold another one now (another
     * run promoted the Auth Token it held)? Then the run ends deferred, not failed.
     */
    replaced(session: S, runtime: Runtime): Promise<boolean>;
  };
  /** A dry-run fake over the kind's own client in `runtime.ports`: reads through, writes nothing. */
  dryRun?(real: unknown): unknown;
  /** Why `secret put --replace` must wait, beyond an AWSPENDING label (checked by the command). */
  replaceBlocked?(obs: O, settings: Settings): string | undefined;
  /**
   * `rollback <target>` (core/rollback.ts) during the overlap. A kind whose rollback can only refuse (an
   * Auth Token: the old token dies at the promotion) has no `act`.
   */
  rollback?: {
    plan(obs: O, settings: Settings): RollbackPlan;
    act?(step: RollbackStep, obs: O, session: S, runtime: Runtime): Promise<RollbackAct>;
  };
}

/**
 * A credential kind. `T` its target, `S` its session, `O` its observation, `P` its steps, `Settings`
 * what its planner reads of the target beyond the engine's RunFlags.
 */
export interface KindModule<
  T extends TargetShape,
  S extends Session<T>,
  O extends ObservationBase,
  P extends { kind: string },
  Settings,
> {
  config: KindConfig<unknown, T>;
  /** Reads what a run needs (admin credential, clients) and the planner's settings; changes nothing. */
  open(target: T, runtime: Runtime, scope: RunScope, options: RunOptions): Promise<{ session: S; settings: Settings }>;
  observe(session: S, runtime: Runtime): Promise<O>;
  /** Pure. */
  plan(obs: O, settings: Settings & RunFlags): P | GateCheck | Outcome;
  steps: StepTable<P, O, S, Settings>;
  rotation: RotationView<P, O, T>;
  words: Words;
  /** "first": its targets run before every other kind's (its rotation replaces what admin secrets hold). */
  order?: 'first';
  emergency: EmergencyTiming<T, Settings>;
  report: Report<T, S, O, Settings>;
  capabilities: Capabilities<S, O, Settings>;
}
