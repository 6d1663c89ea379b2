import type { TwilioKey, VerifyResult } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import type { AdminCredential } from '../../core/secret-values.js';
import type { ValueSource } from '../../errors.js';
import type { Session, TargetShape } from '../kind.js';
import type { Credential, LabelledKey, Observation, RunFacts } from './observation.js';

/**
 * A named credential (an API key, an OAuth app): made per rotation, named prefix + the target's
 * fingerprint + the rotation id. This folder holds its life cycle once; a kind brings a `NamedPort`.
 */
export type NamedTarget = TargetShape & { friendlyNamePrefix: string };

/** A named kind's run: its store and admin credential, what not to delete, and what the run learnt. */
export interface NamedSession<T extends NamedTarget = NamedTarget, F extends RunFacts = RunFacts> extends Session<T> {
  admin: AdminCredential;
  /** Every admin credential's key SID in the configuration, this target's own included. */
  protectedSids: ReadonlySet<string>;
  /** SIDs other configured targets' secrets on this account hold, by target (RunScope.heldElsewhere). */
  heldElsewhere(options?: { fresh?: boolean }): Promise<ReadonlyMap<string, string>>;
  facts: F;
  /** The run will name a new version: its reads take every version id until it has named one. */
  rotating?: boolean;
}

export interface NamedPort<S extends NamedSession> {
  noun: string;
  remove: { verb: string; done: string };
  /** How `secret put` names a stored value. */
  title: string;
  /** Parses a stored value into the planner's terms; throws SecretShapeError naming the field. */
  parse(
    source: ValueSource,
    raw: string | undefined,
    binary?: boolean,
  ): { key: Credential; document: Record<string, unknown> };
  /** The account's credentials, complete; a list that lacks one of `expect` is refreshed. */
  list(session: S, expect: string[]): Promise<readonly TwilioKey[]>;
  /** Starts the run's list early, where one list serves the run; `list` is asked only once it settled. */
  prefetch?(session: S): Promise<unknown>;
  /** Makes a credential, and the secret text that holds it. */
  create(
    session: S,
    runtime: Runtime,
    obs: Observation,
    request: { friendlyName: string; token: string },
  ): Promise<{ sid: string; value: string }>;
  /** Only through the shared delete, which decides whether it may. */
  delete(session: S, sid: string): Promise<'deleted' | 'already-gone'>;
  /** Proves the credential works with a read it makes itself. */
  verify(session: S, runtime: Runtime, obs: Observation, version: LabelledKey): Promise<VerifyResult>;
  /**
   * How `verify` proves a credential of `target` with the credential alone, where the configuration
   * gives the method, nothing the admin credential reads is needed, and the answer proves the
   * credential is the target account's (Secrets Manager's events, ./direct.ts); undefined otherwise.
   */
  verifyAlone?(target: S['target']): ((runtime: Runtime, key: Credential) => Promise<VerifyResult>) | undefined;
  /** The current credential, never proven, was refused: would one made from the configuration differ? */
  wouldDiffer(session: S, runtime: Runtime, obs: Observation, sid: string): Promise<boolean>;
  /** How a credential is proven, and what a success says of it, in words. */
  howToVerify(target: S['target']): string;
  works: string;
}
