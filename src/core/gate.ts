import type { ProbeResult } from './ports.js';

/**
 * The consumer gate, the same for every kind: the old credential goes only once the minimum
 * overlap has passed, every probe reports the new credential, and (with manualConfirm) a person
 * has confirmed. Past the maximum wait the target is stuck; nothing is deleted or promoted.
 */

export interface GateSettings {
  minOverlapMs: number;
  /** Past this, counted from when the gate started, the target is reported stuck. */
  maxWaitMs: number;
  manualConfirm: boolean;
}

export interface GateObservation {
  probes: ProbeResult[];
  confirmed: boolean;
}

/** Asked of the engine by a planner: evaluate the gate for `versionId`, whose credential probes must report. */
export interface GateCheck {
  kind: 'check-gate';
  versionId: string;
  /** What each consumer must report: a key SID, or a token fingerprint. */
  expect: string;
}

export function gateBlockers(
  gate: GateObservation | undefined,
  settings: GateSettings,
  at: { nowMs: number; sinceMs: number; expect: string; target: string },
): string[] {
  const on: string[] = [];
  const elapsed = at.nowMs - at.sinceMs;
  if (elapsed < settings.minOverlapMs)
    on.push(`minimum overlap: ${Math.ceil((settings.minOverlapMs - elapsed) / 1000)} s to go`);
  for (const p of gate?.probes ?? []) {
    if (!p.ok)
      on.push(`probe ${p.url}: ${p.problem ?? (p.reported ? `reports ${p.reported}, not ${at.expect}` : 'no answer')}`);
  }
  if (settings.manualConfirm && !gate?.confirmed)
    on.push(`manual confirmation: run "twilio-key-rotator confirm ${at.target}"`);
  return on;
}
