import type * as z from 'zod/mini';
import type { TargetConfig } from '../credentials/registry.js';
import type { convertAlerts, MetricsConfig } from './alerts.js';
import type { convertCloudTrail } from './cloudtrail.js';
import type { convertFleet } from './fleets.js';
import type { LeakReportsConfig } from './leaks.js';
import type { daemonSchema } from './schema.js';

/**
 * Validated configuration, as the rest of the program sees it. Units are converted once, by the
 * loader: the YAML says `minOverlapSeconds` and `maxAgeDays`; these types hold milliseconds.
 */

export type { ProbeConfig, SecretLocation, StoreName, TargetBase } from '../core/target.js';

/** Where CloudTrail's event history is looked up (config/cloudtrail.ts). */
export type CloudTrailConfig = NonNullable<ReturnType<typeof convertCloudTrail>>;

/** A target template expanded over a parent account's active subaccounts at run time (config/fleets.ts). */
export type FleetConfig = ReturnType<typeof convertFleet>;

/** The self-hosted daemon (`twilio-key-rotator daemon`, config/schema.ts). */
export type DaemonConfig = z.infer<typeof daemonSchema>;

/** Derived from the registry: each kind's target as its config.ts parses it, told apart by `kind`. */
export type { TargetConfig } from '../credentials/registry.js';

/** `alerts:` in milliseconds (config/alerts.ts). */
export type AlertsConfig = ReturnType<typeof convertAlerts>;
/** An alert channel (config/alerts.ts `convertChannel`). */
export type ChannelConfig = AlertsConfig['channels'][number];

export interface RotatorConfig {
  twilio: {
    /** Base URL override (emulator, proxy); a record maps product ("iam", "api", "accounts") to URL. */
    baseUrl?: string | Record<string, string>;
    timeoutMs: number;
  };
  stores: {
    file?: { path: string };
    aws?: { region: string; endpoint?: string; timeoutMs: number; sweep: 'per-target' | 'batched' };
  };
  /** Targets reconciled at once, and requests in flight to one Twilio account (AccountLimiter). */
  concurrency: { targets: number; perAccount: number };
  retry: {
    /** Attempts per remote call, the first included. */
    attempts: number;
    /** Time budget per remote call across all its attempts, the one in flight included. */
    budgetMs: number;
    minDelayMs: number;
  };
  /** A key this target made that no stored version references is revoked once it is older than this. */
  orphanGraceMs: number;
  alerts: AlertsConfig;
  metrics: MetricsConfig;
  /** Present when configured, or when a target's gate uses CloudTrail evidence (region from stores.aws). */
  cloudtrail?: CloudTrailConfig;
  /** Leak reports the daemon acts on (src/entry/daemon/leaks.ts). */
  leakReports?: LeakReportsConfig;
  daemon: DaemonConfig;
  /** The configured targets; a run adds each fleet's members (engine/fleets.ts). */
  targets: TargetConfig[];
  fleets: FleetConfig[];
}
