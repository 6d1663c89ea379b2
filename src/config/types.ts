/**
 * Validated configuration, as the rest of the program sees it. Units are converted once, by the
 * loader: the YAML says `minOverlapSeconds` and `maxAgeDays`; these types hold milliseconds.
 */

export type StoreName = 'file' | 'aws';

export interface SecretLocation {
  store: StoreName;
  secretId: string;
}

export type PolicyConfig = { mode: 'inherit' } | { mode: 'explicit'; allow: string[] };

export interface ProbeConfig {
  url: string;
  /** Dot path of the JSON field holding the key SID the consumer uses, e.g. "twilio.keySid". */
  field: string;
  /** Optional auth header; its value is read from the environment variable `headerValueEnv` at probe time. */
  headerName?: string;
  headerValueEnv?: string;
  timeoutMs: number;
}

export interface GateConfig {
  minOverlapMs: number;
  /** Past this, counted from promotion, the target is reported stuck; nothing is deleted. */
  maxWaitMs: number;
  manualConfirm: boolean;
  probes: ProbeConfig[];
}

export interface TargetConfig {
  name: string;
  accountSid: string;
  /** Twilio region and edge (e.g. "ie1", "dublin"); omitted means US1. */
  region?: string;
  edge?: string;
  keyType: 'standard' | 'restricted';
  /** Present exactly when keyType is "restricted". */
  policy?: PolicyConfig;
  /** New keys are named prefix + 32-hex rotation id; prefix + 32 ≤ 64 characters. */
  friendlyNamePrefix: string;
  secret: SecretLocation;
  admin: SecretLocation;
  maxAgeMs: number;
  validationUrl?: string;
  gate: GateConfig;
}

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
    /** Time budget per remote call across all its attempts. */
    budgetMs: number;
    minDelayMs: number;
  };
  /** A rotator-made key that no stored version references is revoked once it is older than this. */
  orphanGraceMs: number;
  targets: TargetConfig[];
}
