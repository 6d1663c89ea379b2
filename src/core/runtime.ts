import type { SecretLocation, StoreName, TargetShape as TargetConfig } from './target.js';
import type {
  AuthTokens,
  KeyVerifier,
  ProbeResult,
  SecretStore,
  StoredSecret,
  Subaccounts,
  TokenVerifier,
  TwilioKeys,
} from './ports.js';
import type { Alert } from './alert.js';
import type { ReadLog } from './reads.js';
import type { AdminCredential } from './secret-values.js';

/** What the engine and the kinds log through (log.ts makes one with winston). */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): unknown;
  warn(message: string, fields?: Record<string, unknown>): unknown;
  info(message: string, fields?: Record<string, unknown>): unknown;
  child(fields: Record<string, unknown>): Logger;
}

/** One configured alert channel (src/adapters/alerts/). */
export interface AlertChannel {
  name: string;
  type: 'slack' | 'pagerduty' | 'webhook' | 'sns';
  /** The problems (and 'rotation-completed') it receives; a channel that receives a problem gets its resolve. */
  events: ReadonlySet<string>;
  /** Delivers one alert, retried within the channel's own bounds and `signal`; throws when it could not. */
  send(alert: Alert, signal: AbortSignal): Promise<void>;
}

/** The metrics of one target's run: counts, key age in days, gate wait in hours. */
export interface TargetMetrics {
  target: string;
  atMs: number;
  values: Readonly<Record<string, number>>;
}

/**
 * Everything a run needs from the outside world, built once per run by the entry point (src/wiring.ts)
 * or, for the dry run, by engine/dry-run.ts over in-memory fakes. Credential kinds reach Twilio, the
 * stores and the consumers only through this.
 */
export interface Runtime {
  /** Lets go of the run's kept-alive connections (a daemon ends each run with it). */
  close?(): void;
  store(name: StoreName): SecretStore;
  /** Key management on the target's account, with the admin credential. */
  keys(admin: AdminCredential, target: TargetConfig): TwilioKeys;
  /** Proves a key works, using only the key. */
  verifier(target: TargetConfig): KeyVerifier;
  /** The account's Auth Tokens, with the admin credential. */
  authTokens(admin: AdminCredential, target: TargetConfig): AuthTokens;
  /** Asks Twilio whether a token works and is the primary, using only the token. */
  tokenVerifier(target: TargetConfig): TokenVerifier;
  /** A fleet parent's subaccounts, listed with its Account SID + Auth Token. */
  subaccounts?(parent: AdminCredential, where: { region?: string; edge?: string }): Subaccounts;
  /**
   * Clients of kinds beyond the ports above, by kind name: a kind added later reaches its provider
   * here, and the dry run replaces each with the kind's own fake (capabilities.dryRun).
   */
  ports?: Readonly<Record<string, unknown>>;
  /** Asks each consumer which credential it holds; `refPattern` says what a consumer may echo back. */
  probe(target: TargetConfig, expect: string, refPattern: RegExp): Promise<ProbeResult[]>;
  /**
   * CloudTrail's GetSecretValue events of `secret` (a Secrets Manager secret) from `fromMs` to now, or
   * why they could not be read; never throws. Looked up once per run for all targets (src/adapters/cloudtrail/).
   * Absent where no CloudTrail lookup is configured.
   */
  secretReads?(secret: StoredSecret, fromMs: number): Promise<ReadLog>;
  now(): number;
  /**
   * Whether what this run remembers of the target's secret is still its present state; drops the
   * memory when not. Absent where nothing is remembered (every read goes to the store).
   */
  fresh?(target: TargetConfig): Promise<boolean>;
  /** False while what the run knows of the target's secret came from a sweep and must be read before acting. */
  confirmed?(target: TargetConfig): boolean;
  /**
   * Starts reading many targets' secrets at once where the store allows (stores.aws.sweep: batched);
   * a read of one of them waits for it.
   */
  sweep?(targets: readonly TargetConfig[]): Promise<void>;
  logger: Logger;
  orphanGraceMs: number;
  /** The longest one remote call may take, its retries included (retry.budgetSeconds). */
  callBudgetMs: number;
  /** The configured alert channels; absent or empty when nobody is to be told. The dry run has none. */
  alertChannels?: readonly AlertChannel[];
  /** Writes one target's metrics (CloudWatch embedded metric format); absent when metrics are off. */
  metrics?: (m: TargetMetrics) => void;
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
  /**
   * The entry's deadline or interrupt (the same signal the adapters abort their requests with). Once
   * it aborts no step starts, and a step it cut short ends the target as `deferred`: a cancelled
   * request may or may not have taken effect, exactly like a crash, and the next run resumes.
   */
  signal?: AbortSignal;
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
  /** A target's admin credential: its admin secret's, or for a fleet member the subaccount's own token. */
  adminOf(target: TargetConfig): Promise<AdminCredential>;
  /** Key SIDs of every admin credential in the configuration that could be read. */
  protectedSids(): Promise<ReadonlySet<string>>;
  /** Every distinct admin secret the configuration names. */
  adminLocations(): readonly SecretLocation[];
  /**
   * Key SIDs the secrets of the configuration's other targets on `target`'s account hold (any
   * labelled version), each with that target's name: a key another target serves is never retired.
   * Throws when one of those secrets cannot be read. `fresh`: past what this run remembers, every read
   * begun after the call; when its own secret changed since this run read it, the answer also names
   * the key its AWSCURRENT holds now.
   */
  heldElsewhere?(target: TargetConfig, options?: { fresh?: boolean }): Promise<ReadonlyMap<string, string>>;
  /**
   * `fn` over the run's targets, at most `size` at work at once; results in the targets' order. A
   * target waiting in `heldElsewhere({ fresh: true })` gives its place to the next meanwhile, so the
   * look it waits for can serve many deletions (engine/scope.ts).
   */
  runTargets<T extends TargetConfig, R>(
    targets: readonly T[],
    size: number,
    fn: (target: T) => Promise<R>,
  ): Promise<R[]>;
}
