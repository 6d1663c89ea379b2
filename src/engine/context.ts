import type { TargetConfig } from '../config/types.js';
import type { KeyVerifier, SecretStore, TwilioKeys } from '../core/ports.js';
import type { AdminCredential } from '../core/secret-shapes.js';
import type { ProbeResult } from '../core/state.js';
import type { Logger } from '../log.js';

/** Everything the engine needs from the outside world, built once per run by the entry point. */
export interface Runtime {
  store(name: 'file' | 'aws'): SecretStore;
  keys(admin: AdminCredential, target: TargetConfig): TwilioKeys;
  verifier(target: TargetConfig): KeyVerifier;
  probe(target: TargetConfig, expectedSid: string): Promise<ProbeResult[]>;
  now(): number;
  logger: Logger;
  orphanGraceMs: number;
}

export interface RunOptions {
  dryRun?: boolean;
  force?: boolean;
  /** No new step starts after this instant (epoch ms); the next run resumes. */
  stopStartingAtMs?: number;
}

export interface StepRecord {
  step: string;
  detail: string;
}

interface Base {
  target: string;
  steps: StepRecord[];
}

export type TargetResult = Base &
  (
    | { kind: 'done'; currentKeySid: string; nextDueAtMs: number }
    | { kind: 'waiting'; on: string[]; sinceMs: number; deadlineMs: number; previousKeySid: string }
    | { kind: 'stuck'; on: string[]; sinceMs: number; previousKeySid?: string }
    | { kind: 'lost-race'; detail: string }
    | { kind: 'busy'; reason: string }
    | { kind: 'deferred'; detail: string }
    | { kind: 'failed'; step: string; error: string }
    | { kind: 'planned'; plan: string[]; checks: string[]; warnings: string[] }
  );

/** 1 when a person needs to look: a failed step or a gate past its maximum wait. */
export function exitCodeFor(results: readonly TargetResult[]): 0 | 1 {
  return results.some((r) => r.kind === 'failed' || r.kind === 'stuck') ? 1 : 0;
}
