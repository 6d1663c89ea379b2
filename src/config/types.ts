import type { ApiKeyTargetConfig } from '../credentials/api-key/config.js';
import type { AuthTokenTargetConfig } from '../credentials/auth-token/config.js';
import type { MaintenanceWindow } from '../core/window.js';

/**
 * Validated configuration, as the rest of the program sees it. Units are converted once, by the
 * loader: the YAML says `minOverlapSeconds` and `maxAgeDays`; these types hold milliseconds.
 */

export type StoreName = 'file' | 'aws';

export interface SecretLocation {
  store: StoreName;
  secretId: string;
}

export interface ProbeConfig {
  url: string;
  /** Dot path of the JSON field holding the credential reference the consumer uses, e.g. "twilio.keySid". */
  field: string;
  /** Optional auth header; its value is read from the environment variable `headerValueEnv` at probe time. */
  headerName?: string;
  headerValueEnv?: string;
  timeoutMs: number;
}

export interface GateConfig {
  minOverlapMs: number;
  /** Past this, counted from when the gate started, the target is reported stuck; nothing is deleted. */
  maxWaitMs: number;
  manualConfirm: boolean;
  probes: ProbeConfig[];
}

/** What every kind's target has. */
export interface TargetBase {
  name: string;
  accountSid: string;
  /** Twilio region and edge (e.g. "ie1", "dublin"); omitted means US1. */
  region?: string;
  edge?: string;
  secret: SecretLocation;
  admin: SecretLocation;
  maxAgeMs: number;
  gate: GateConfig;
  /** The daemon's cron expression for this target; the daemon's own schedule when absent. */
  schedule?: string;
  /** A rotation starts (an Auth Token is promoted) only inside this window; any time when absent. */
  window?: MaintenanceWindow;
  /** No automatic rotation: scheduled runs leave the target alone; a person may still name it. */
  paused: boolean;
}

/** The self-hosted daemon (`twilio-key-rotator daemon`); the CLI and the Lambda ignore it. */
export interface DaemonConfig {
  schedule: string;
  timezone: string;
  /** Run every target once at start-up, before the first scheduled tick. */
  runOnStart: boolean;
  /** Reload the configuration when its file changes (as on SIGHUP). */
  watchConfig: boolean;
  /** The health endpoint; none when absent. Port 0 takes any free port. */
  health?: { port: number; host: string };
}

/** One per credential kind (src/credentials/<kind>/config.ts), told apart by `kind`. */
export type TargetConfig = ApiKeyTargetConfig | AuthTokenTargetConfig;
export type CredentialKind = TargetConfig['kind'];

export interface RotatorConfig {
  twilio: {
    /** Base URL override (emulator, proxy); a record maps product ("iam", "api", "accounts") to URL. */
    baseUrl?: string | Record<string, string>;
    timeoutMs: number;
  };
  stores: {
    file?: { path: string };
    aws?: { region: string; endpoint?: string; timeoutMs: number };
  };
  retry: {
    /** Attempts per remote call, the first included. */
    attempts: number;
    /** Time budget per remote call across all its attempts, the one in flight included. */
    budgetMs: number;
    minDelayMs: number;
  };
  /** A key this target made that no stored version references is revoked once it is older than this. */
  orphanGraceMs: number;
  daemon: DaemonConfig;
  targets: TargetConfig[];
}
