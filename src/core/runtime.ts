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

/** What the engine and the kinds log through (log.ts). */
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
  /** The problems (and 'rotation-completed') it receives; a problem's channel gets its resolve too. */
  events: ReadonlySet<string>;
  /** Retried within the channel's bounds and `signal`; throws when it could not deliver. */
  send(alert: Alert, signal: AbortSignal): Promise<void>;
}

/** The metrics of one target's run: counts, key age in days, gate wait in hours. */
export interface TargetMetrics {
  target: string;
  atMs: number;
  values: Readonly<Record<string, number>>;
}

/** The outside world of one run (src/wiring.ts; engine/dry-run.ts over fakes): kinds reach it only here. */
export interface Runtime {
  close?(): void;
  store(name: StoreName): SecretStore;
  keys(admin: AdminCredential, target: TargetConfig): TwilioKeys;
  verifier(target: TargetConfig): KeyVerifier;
  authTokens(admin: AdminCredential, target: TargetConfig): AuthTokens;
  tokenVerifier(target: TargetConfig): TokenVerifier;
  /** A fleet parent's subaccounts, listed with its Account SID + Auth Token. */
  subaccounts?(parent: AdminCredential, where: { region?: string; edge?: string }): Subaccounts;
  /** Other kinds' clients by kind name; the dry run swaps in each kind's fake (capabilities.dryRun). */
  ports?: Readonly<Record<string, unknown>>;
  /** Each consumer's credential; `refPattern`: what a consumer's answer may echo back. */
  probe(target: TargetConfig, expect: string, refPattern: RegExp): Promise<ProbeResult[]>;
  /** CloudTrail's GetSecretValue events of `secret` since `fromMs`, or why not; never throws. One walk per run. */
  secretReads?(secret: StoredSecret, fromMs: number): Promise<ReadLog>;
  now(): number;
  /** Whether what this run remembers of the target's secret is still true; forgets it when not. */
  fresh?(target: TargetConfig): Promise<boolean>;
  /** False while the run knows the target's secret from a sweep only: read it before acting. */
  confirmed?(target: TargetConfig): boolean;
  /** Starts reading many targets' secrets at once (stores.aws.sweep: batched); a read of one waits for it. */
  sweep?(targets: readonly TargetConfig[]): Promise<void>;
  logger: Logger;
  orphanGraceMs: number;
  /** The longest one remote call may take, its retries included (retry.budgetSeconds). */
  callBudgetMs: number;
  /** Absent or empty in the dry run. */
  alertChannels?: readonly AlertChannel[];
  /** Absent when metrics are off. */
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
   * The entry's deadline or interrupt (the adapters' too): no step starts after it; a step it cut short ends
   * the target `deferred`, since like a crash the request may have taken effect; the next run resumes.
   */
  signal?: AbortSignal;
  /** No new step starts once this is aborted (the daemon's SIGTERM); the step in flight finishes. */
  stop?: AbortSignal;
  /** Unattended (the daemon): a paused target is skipped even when named. */
  scheduled?: boolean;
  /** Auth Token targets: delete a secondary token this rotator did not create before making its own. */
  replaceSecondary?: boolean;
  /** rotate --now (see Emergency); implies that windows and pause do not apply. */
  emergency?: Emergency;
}

/**
 * One run's shared reads: each admin secret once, every admin key SID known before any key is deleted.
 * New per run, so a credential rotated between runs is read afresh.
 */
export interface RunScope {
  admin(location: SecretLocation, target: string): Promise<AdminCredential>;
  /** A target's admin credential: its admin secret's, or for a fleet member the subaccount's own token. */
  adminOf(target: TargetConfig): Promise<AdminCredential>;
  protectedSids(): Promise<ReadonlySet<string>>;
  adminLocations(): readonly SecretLocation[];
  /**
   * Key SIDs other targets' secrets on this account hold (any labelled version), with the target's name:
   * never retired. Throws when one cannot be read. `fresh`: every read begun after the call, and the key
   * the target's own AWSCURRENT holds now if its secret changed since this run read it.
   */
  heldElsewhere?(target: TargetConfig, options?: { fresh?: boolean }): Promise<ReadonlyMap<string, string>>;
  /**
   * `fn` over the targets, `size` at once, results in order. A target waiting in a fresh `heldElsewhere`
   * gives its place to the next meanwhile, so one look serves many deletions (engine/scope.ts).
   */
  runTargets<T extends TargetConfig, R>(
    targets: readonly T[],
    size: number,
    fn: (target: T) => Promise<R>,
  ): Promise<R[]>;
}
