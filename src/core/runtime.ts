import type { SecretLocation, StoreName, TargetConfig } from '../config/types.js';
import type { AuthTokens, KeyVerifier, ProbeResult, SecretStore, TokenVerifier, TwilioKeys } from './ports.js';
import type { AdminCredential } from './secret-values.js';

/** What the engine and the kinds log through (log.ts makes one with winston). */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): unknown;
  warn(message: string, fields?: Record<string, unknown>): unknown;
  info(message: string, fields?: Record<string, unknown>): unknown;
  child(fields: Record<string, unknown>): Logger;
}

/**
 * Everything a run needs from the outside world, built once per run by the entry point (src/wiring.ts)
 * or, for the dry run, by engine/dry-run.ts over in-memory fakes. Credential kinds reach Twilio, the
 * stores and the consumers only through this.
 */
export interface Runtime {
  store(name: StoreName): SecretStore;
  /** Key management on the target's account, with the admin credential. */
  keys(admin: AdminCredential, target: TargetConfig): TwilioKeys;
  /** Proves a key works, using only the key. */
  verifier(target: TargetConfig): KeyVerifier;
  /** The account's Auth Tokens, with the admin credential. */
  authTokens(admin: AdminCredential, target: TargetConfig): AuthTokens;
  /** Asks Twilio whether a token works and is the primary, using only the token. */
  tokenVerifier(target: TargetConfig): TokenVerifier;
  /** Asks each consumer which credential it holds; `refPattern` says what a consumer may echo back. */
  probe(target: TargetConfig, expect: string, refPattern: RegExp): Promise<ProbeResult[]>;
  now(): number;
  logger: Logger;
  orphanGraceMs: number;
  /** The longest one remote call may take, its retries included (retry.budgetSeconds). */
  callBudgetMs: number;
}

/**
 * `rotate --now`: a credential has leaked and must die fast. The consumer gate is cut to a stated
 * overlap (no probes, no confirmation), and a current credential this invocation did not create is
 * replaced, so the one in use at the end was made after the leak was reported.
 */
export interface Emergency {
  overlapMs: number;
  /** Versions whose credential this emergency created; filled in by the engine as it goes. */
  created: Set<string>;
}

export interface RunOptions {
  dryRun?: boolean;
  force?: boolean;
  /** No new step starts after this instant (epoch ms); the next run resumes. */
  stopStartingAtMs?: number;
  /** No new step starts once this is aborted (the daemon's SIGTERM); the step in flight finishes. */
  stop?: AbortSignal;
  /**
   * An unattended run (the daemon's schedule): a target with `paused: true` is skipped even when it
   * is named. Otherwise a paused target runs only when a person names it (--target).
   */
  scheduled?: boolean;
  /** Auth Token targets: delete a secondary token this rotator did not create before making its own. */
  replaceSecondary?: boolean;
  /** rotate --now (see Emergency); implies that windows and pause do not apply. */
  emergency?: Emergency;
}

/**
 * What one run shares across its targets: each admin secret is read once, and the key SIDs of every
 * admin credential the configuration names are known before any key is deleted. A new scope per run,
 * so a credential rotated between runs is read afresh.
 */
export interface RunScope {
  admin(location: SecretLocation, target: string): Promise<AdminCredential>;
  /** Key SIDs of every admin credential in the configuration that could be read. */
  protectedSids(): Promise<ReadonlySet<string>>;
  /** Every distinct admin secret the configuration names. */
  adminLocations(): readonly SecretLocation[];
}
