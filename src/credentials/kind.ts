import type { TargetConfig } from '../config/types.js';
import type { GateCheck, GateObservation } from '../core/gate.js';
import type { KeyClaim } from '../core/inventory.js';
import type { Ending, Outcome } from '../core/outcome.js';
import type { RollbackAct, RollbackPlan, RollbackStep } from '../core/rollback.js';
import type { SecretStore, StoredSecret } from '../core/ports.js';
import type { RunOptions, RunScope, Runtime } from '../core/runtime.js';
import type { ValueSource } from '../errors.js';

/**
 * The seam between the engine and a credential kind. A kind is one folder (its secret shape, config,
 * pure planner, step actions, dry-run words, Secrets Manager protocol) and one entry in the registry
 * (./index.ts). The engine runs the same loop for every kind:
 *
 *   open ─▶ observe ─▶ plan ─┬─ outcome ─▶ end of this target's run
 *              ▲             ├─ check-gate ─▶ the engine asks probes and reads confirmation ─▶ plan
 *              └── act ◀─────┴─ step
 *
 * `act` carries out one step and returns; the engine observes again. A rerun after a crash starts at
 * `observe` like any run. The dry run is this same loop over in-memory fakes (engine/dry-run.ts).
 */

/** What every kind's session holds; a kind adds its own clients. */
export interface Session<T extends TargetConfig = TargetConfig> {
  target: T;
  store: SecretStore;
}

/** What every kind's observation holds, so the engine can evaluate the gate and report tags. */
export interface ObservationBase {
  nowMs: number;
  secret: StoredSecret | undefined;
  gate?: GateObservation;
}

export interface ActResult {
  /** What the step did, for the log. */
  detail: string;
  /** Set when the step ends this target's run. */
  end?: Ending;
  /** The step started a rotation: --force has been spent. */
  startedRotation?: boolean;
  /** The step finished a rotation: the old credential is retired (a metric counts it). */
  completedRotation?: boolean;
  /** The version whose credential this step created (rotate --now keeps count). */
  createdVersion?: string;
}

/** What `status` shows of the current credential. */
export interface CurrentSummary {
  /** Key SID or token fingerprint; never the credential. */
  ref?: string;
  versionId?: string;
  createdAtMs?: number;
  nextDueAtMs?: number;
  /** The current credential no longer works or no longer exists: a person should look. */
  gone: boolean;
}

/** One step of Secrets Manager's rotation protocol, as the Lambda receives it. */
export interface RotationEvent {
  Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
  SecretId: string;
  ClientRequestToken: string;
  RotationToken?: string;
}

export interface KindModule<
  T extends TargetConfig,
  S extends Session<T>,
  O extends ObservationBase,
  P extends { kind: string },
  Settings,
  Facts,
> {
  /** What a probe of this kind may report and echo back: a key SID, a token fingerprint. */
  refPattern: RegExp;
  /**
   * Steps that start only inside the target's maintenance window (config `window`): the ones that
   * change what consumers get. Every other step (finishing, retiring, sweeping) runs any time.
   */
  windowSteps: readonly string[];
  open(target: T, runtime: Runtime, scope: RunScope): Promise<S>;
  settings(target: T, runtime: Runtime, options: RunOptions): Settings;
  newFacts(): Facts;
  /** One read-only look at the store and Twilio. */
  observe(session: S, runtime: Runtime, facts: Facts): Promise<O>;
  /** Pure: the next step, a gate check, or an outcome. */
  plan(obs: O, settings: Settings): P | GateCheck | Outcome;
  act(step: P, obs: O, session: S, runtime: Runtime, facts: Facts, settings: Settings): Promise<ActResult>;
  /** The step in the words a dry run prints and `status` says the next rotate will do. */
  describe(step: P, obs: O, session: S): string;
  /** Steps that name a new version (they need every version id the secret ever had). */
  namesVersion(step: P): boolean;
  /**
   * Steps that cannot be undone (deleting a credential, promoting a token): the engine makes sure the
   * look they were decided on is the store's present state, not this run's memory of it.
   */
  irreversible(step: P): boolean;

  /** Things a person should know that change no decision. */
  warnings(obs: O, settings: Settings): string[];
  /**
   * Credentials on Twilio named like this target's that it will never delete (not provably its own,
   * referenced by nothing): a person must. Kinds without such credentials leave this out.
   */
  strays?(obs: O, settings: Settings): string[];
  summary(obs: O, target: T): CurrentSummary;
  /** The dry run's read-only checks beyond the loop itself (credentials work, policy, drift). */
  preflight(session: S, obs: O, runtime: Runtime): Promise<{ checks: string[]; warnings: string[] }>;
  /**
   * Checks a value a person stores for this kind's rotated secret (`secret put`) and says what it is,
   * by reference; throws SecretShapeError naming the field.
   */
  describeValue(value: string, source: ValueSource, target: T): string;
  /**
   * The version `confirm` marks and the reference a person confirms consumers use, while a rotation
   * waits at its gate; otherwise why nothing waits (read from the stored secret alone, no remote call).
   */
  confirmable(secret: StoredSecret, target: T): { versionId: string; ref: string } | { nothing: string };
  /**
   * Backs out a rotation before it is past the point of no return (`twilio-key-rotator abort`), and
   * says what it did; kinds without such a point have none.
   */
  abort?(session: S, runtime: Runtime): Promise<string>;
  /**
   * Why a person may not replace the rotated secret's value now (`secret put --replace`): a rotation
   * between its creation and the retirement of the old credential, beyond an AWSPENDING label (which
   * the command checks itself). Undefined when replacing is safe. Kinds with no such state have none.
   */
  replaceBlocked?(obs: O, settings: Settings): string | undefined;
  /** The audit: which keys on the account this target accounts for; kinds that own no API keys have none. */
  claims?(obs: O, settings: Settings): KeyClaim[];
  /** `audit --cleanup`: the keys the sweep-orphans step would revoke now (the planner's own rule). */
  orphans?(obs: O, settings: Settings): readonly { sid: string }[];
  /** Revokes a key through the one delete the steps use, which refuses admin, current and pending keys. */
  revoke?(session: S, obs: O, sid: string): Promise<string>;
  /**
   * Twilio refused the admin credential this run read (HTTP 401): whether the admin secret holds
   * another one now, as after another run promoted the Auth Token it held. The engine then ends the
   * target's run as deferred instead of failed: nothing is wrong that the next run does not fix.
   */
  adminReplaced?(session: S, runtime: Runtime): Promise<boolean>;
  /**
   * `rollback <target>` (core/rollback.ts): the previous credential back during the overlap. `plan` is
   * pure; `act` carries out one step. A kind whose rollback can only refuse (an Auth Token: the old
   * token dies at the promotion) has no `act`; a kind without `rollback` has nothing to roll back.
   */
  rollback?: {
    plan(obs: O, settings: Settings): RollbackPlan;
    act?(step: RollbackStep, obs: O, session: S, runtime: Runtime, facts: Facts): Promise<RollbackAct>;
  };
  /** One step of Secrets Manager's rotation protocol for a secret of this kind. */

  rotationStep(event: RotationEvent, session: S, runtime: Runtime): Promise<string>;
}
