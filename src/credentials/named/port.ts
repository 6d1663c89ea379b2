import type { TwilioKey, VerifyResult } from '../../core/ports.js';
import type { Runtime } from '../../core/runtime.js';
import type { AdminCredential } from '../../core/secret-values.js';
import type { ValueSource } from '../../errors.js';
import type { Session, TargetShape } from '../kind.js';
import type { Credential, LabelledKey, Observation, RunFacts } from './observation.js';

/**
 * A named credential (an API key, an OAuth app): made per rotation, named prefix + the target's
 * fingerprint + the rotation id, so ownership is proven by its name and the version history. This
 * folder holds its life cycle once; a kind brings what differs through a `NamedPort`.
 */
export type NamedTarget = TargetShape & { friendlyNamePrefix: string };

/** A named kind's run: its store and admin credential, what not to delete, and what the run learnt. */
export interface NamedSession<T extends NamedTarget = NamedTarget, F extends RunFacts = RunFacts> extends Session<T> {
  admin: AdminCredential;
  /** Key SIDs of every admin credential in the configuration, this target's own included. */
  protectedSids: ReadonlySet<string>;
  /** SIDs other configured targets' secrets on this account hold, by target (RunScope.heldElsewhere). */
  heldElsewhere(options?: { fresh?: boolean }): Promise<ReadonlyMap<string, string>>;
  facts: F;
  /**
   * --force or rotate --now: the run will name a new version, so its reads take every version id
   * (before the labels) until it has named one (./steps.ts).
   */
  rotating?: boolean;
}

/** What a named kind brings to the shared life cycle. */
export interface NamedPort<S extends NamedSession> {
  /** "key", "app"; and the verb for deleting one ("revoke", "delete"), in step words. */
  noun: string;
  remove: { verb: string; done: string };
  /** "API key", "OAuth app": how `secret put` names a stored value. */
  title: string;
  /** Parses a stored value into the planner's terms; throws SecretShapeError naming the field. */
  parse(
    source: ValueSource,
    raw: string | undefined,
    binary?: boolean,
  ): { key: Credential; document: Record<string, unknown> };
  /** The account's credentials, complete (`expect`: SIDs the secret references, so a stale list is refreshed). */
  list(session: S, expect: string[]): Promise<readonly TwilioKey[]>;
  /** Starts the run's list early, where one list serves the run; `list` is asked only once it settled. */
  prefetch?(session: S): Promise<unknown>;
  /** Makes a credential named `friendlyName` for rotation `token`, and the secret text that holds it. */
  create(
    session: S,
    runtime: Runtime,
    obs: Observation,
    request: { friendlyName: string; token: string },
  ): Promise<{ sid: string; value: string }>;
  /** Deletes one credential on the provider: the shared delete decides whether it may. */
  delete(session: S, sid: string): Promise<'deleted' | 'already-gone'>;
  /** Proves `version`'s credential works with the credential itself (a read). */
  verify(session: S, runtime: Runtime, obs: Observation, version: LabelledKey): Promise<VerifyResult>;
  /**
   * How `verify` proves a credential of `target` with the credential alone, where the configuration
   * gives the method, nothing the admin credential reads is needed, and the answer proves the
   * credential is the target account's (Secrets Manager's events, ./direct.ts); undefined otherwise.
   */
  verifyAlone?(target: S['target']): ((runtime: Runtime, key: Credential) => Promise<VerifyResult>) | undefined;
  /** The current credential never proved itself and was refused: would one made from the configuration differ? */
  wouldDiffer(session: S, runtime: Runtime, obs: Observation, sid: string): Promise<boolean>;
  /** How a credential is proven, in words, and what a success says of it. */
  howToVerify(target: S['target']): string;
  works: string;
}
