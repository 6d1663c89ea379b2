import type { CloudTrailGateConfig, TargetShape } from './target.js';
import { TAG_CONFIRMED } from './labels.js';
import type { ProbeResult, StoredSecret } from './ports.js';
import { readVerdict, type ReadVerdict } from './reads.js';
import type { Runtime } from './runtime.js';

/**
 * The consumer gate, the same for every kind: the old credential goes only once the minimum
 * overlap has passed, every probe reports the new credential, (with manualConfirm) a person has
 * confirmed, and (with gate.cloudtrail) every principal that read the secret before has read the new
 * version since. Past the maximum wait the target is stuck; nothing is deleted or promoted.
 */

export interface GateSettings {
  minOverlapMs: number;
  /** Past this, counted from when the gate started, the target is reported stuck. */
  maxWaitMs: number;
  manualConfirm: boolean;
  cloudtrail?: CloudTrailGateConfig;
}

export interface GateObservation {
  probes: ProbeResult[];
  confirmed: boolean;
  /** CloudTrail's verdict; present when the target's gate uses CloudTrail evidence. */
  reads?: ReadVerdict;
}

/** Asked of the engine by a planner: evaluate the gate for `versionId`, whose credential probes must report. */
export interface GateCheck {
  kind: 'check-gate';
  versionId: string;
  /** What each consumer must report: a key SID, or a token fingerprint. */
  expect: string;
  /** When the new version was published to consumers (promotion, or an Auth Token's AWSPENDING). */
  sinceMs: number;
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
  // The verdict blocks whenever it was gathered (the engine gathers it for every target with
  // gate.cloudtrail), whatever settings a kind passed on.
  if (gate?.reads) on.push(...gate.reads.on);
  else if (settings.cloudtrail) on.push('CloudTrail evidence: not gathered in this run');
  return on;
}

/**
 * Gathers what the gate needs for `check`: the probes' answers, the confirmation tag and, with
 * gate.cloudtrail, CloudTrail's reads of the secret from the start of the look-back window. Reads only.
 */
export async function observeGate(
  runtime: Runtime,
  target: TargetShape,
  secret: StoredSecret | undefined,
  check: Omit<GateCheck, 'kind'>,
  refPattern: RegExp,
): Promise<GateObservation> {
  const gate: GateObservation = {
    probes: await runtime.probe(target, check.expect, refPattern),
    confirmed: secret?.tags[TAG_CONFIRMED] === check.versionId,
  };
  const trail = target.gate.cloudtrail;
  if (!trail) return gate;
  const stages = secret?.versions.find((v) => v.versionId === check.versionId)?.stages ?? [];
  const fromMs = check.sinceMs - trail.lookbackMs;
  const log = !secret
    ? { problem: 'the secret could not be read' }
    : runtime.secretReads
      ? await runtime.secretReads(secret, fromMs)
      : { problem: 'no CloudTrail lookup is configured (cloudtrail.region or stores.aws.region)' };
  const nowMs = runtime.now();
  return {
    ...gate,
    reads: readVerdict(log, trail, { nowMs, sinceMs: check.sinceMs, versionId: check.versionId, stages }),
  };
}
