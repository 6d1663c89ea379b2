import type { MaintenanceWindow } from './window.js';

/** What every kind's target has and the core reads; config/ builds these, core and the kinds only read them. */

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
  /** CloudTrail evidence: readers of the secret before the promotion must have read the new version since. */
  cloudtrail?: CloudTrailGateConfig;
}

export interface CloudTrailGateConfig {
  /** Readers in this window before the promotion (or pending) instant are the ones that must switch. */
  lookbackMs: number;
  /** The readers before the promotion are known only this long after it (CloudTrail's delivery delay). */
  deliveryDelayMs: number;
  /** Principal ARNs (a "*" matches any characters) whose reads do not count: the rotator's own role. */
  ignorePrincipals: string[];
}

export interface TargetBase {
  name: string;
  accountSid: string;
  /** Twilio region and edge (e.g. "ie1", "dublin"); omitted means US1. */
  region?: string;
  edge?: string;
  secret: SecretLocation;
  /** Where the admin credential is, for kinds that use one (capabilities.admin). */
  admin?: SecretLocation;
  maxAgeMs: number;
  gate: GateConfig;
  /** The channels that hear about this target; absent means every configured channel. */
  alerts?: { channels: string[] };
  /** The daemon's cron expression for this target; the daemon's own schedule when absent. */
  schedule?: string;
  /** A rotation starts (an Auth Token is promoted) only inside this window; any time when absent. */
  window?: MaintenanceWindow;
  /** No automatic rotation: scheduled runs leave the target alone; a person may still name it. */
  paused: boolean;
  /** Set on a target a fleet made for one of its subaccounts (config/fleets.ts). */
  fleet?: { name: string; parentAccountSid: string };
}

/** A target of some kind: the shared fields and its kind's name. */
export type TargetShape = TargetBase & { kind: string };
