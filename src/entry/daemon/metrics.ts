import { exitCodeFor, type TargetResult } from '../../core/outcome.js';
import { parsePause } from '../../core/rollback.js';

/**
 * What the daemon knows about its runs, for /readyz and /metrics (Prometheus text format 0.0.4).
 * Bounded: one entry per configured target (targets dropped by a reload are forgotten), counters
 * keyed by a handful of result kinds and step names.
 */

interface TargetState {
  last?: { result: TargetResult; finishedAtMs: number; durationMs: number };
  /** When the current credential was stored, from the last run that ended in an outcome. */
  currentCreatedAtMs?: number;
  /** A rollback's pause (rotator:paused) on the secret, as the last run that read it saw it. */
  rollbackPaused?: boolean;
  runs: Map<string, number>;
  steps: Map<string, number>;
  skipped: number;
}

type Row = { name: string; kind: string; paused: boolean };

const PREFIX = 'twilio_key_rotator';
const bump = (m: Map<string, number>, key: string, by = 1) => m.set(key, (m.get(key) ?? 0) + by);
const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class DaemonMetrics {
  private readonly targets = new Map<string, TargetState>();
  private readonly reloads = new Map<string, number>();
  /** Failed or stuck members of each fleet's last run. */
  private readonly units = new Map<string, number>();

  private state(target: string): TargetState {
    let s = this.targets.get(target);
    if (!s) this.targets.set(target, (s = { runs: new Map(), steps: new Map(), skipped: 0 }));
    return s;
  }

  /** Forgets names the configuration no longer has (`known`: a target, a fleet or a fleet's member). */
  retain(known: (name: string) => boolean): void {
    for (const map of [this.targets, this.units])
      for (const name of [...map.keys()]) if (!known(name)) map.delete(name);
  }

  recordRun(result: TargetResult, startedAtMs: number, finishedAtMs: number): void {
    const s = this.state(result.target);
    s.last = { result, finishedAtMs, durationMs: finishedAtMs - startedAtMs };
    if (result.currentCreatedAtMs !== undefined) s.currentCreatedAtMs = result.currentCreatedAtMs;
    if (result.seen?.tags) s.rollbackPaused = parsePause(result.seen.tags) !== undefined;
    bump(s.runs, result.kind);
    for (const step of result.steps) bump(s.steps, step.step);
  }

  recordSkip(target: string): void {
    this.state(target).skipped++;
  }

  recordReload(accepted: boolean): void {
    bump(this.reloads, accepted ? 'accepted' : 'rejected');
  }

  /** A fleet's last run as a whole: whether every member (and the listing) ended without failure. */
  recordUnit(name: string, failed: number): void {
    this.units.set(name, failed);
  }

  /** Names with recorded runs (fleet members appear here once they ran). */
  names(): string[] {
    return [...this.targets.keys()];
  }

  /** Ready when every scheduled target's last run ended without a failure or a stuck gate. */
  readiness(scheduled: readonly string[]): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    for (const name of scheduled) {
      const unit = this.units.get(name);
      if (unit !== undefined) {
        if (unit > 0) reasons.push(`${name}: last run had ${unit} failed or stuck member(s)`);
        continue;
      }
      const last = this.targets.get(name)?.last?.result;
      if (!last) reasons.push(`${name}: no run has finished yet`);
      else if (exitCodeFor([last]) !== 0) reasons.push(`${name}: last run ${last.kind}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  /**
   * `targets`: the configured targets and the fleet members that ran. Each fleet that ran is added by
   * its own name (kind "fleet"): a fleet whose subaccounts could not be listed ran no member, and its
   * failed run must still show (failures_total, runs_total{result="failed"}, fleet_unlisted).
   */
  render(nowMs: number, listed: readonly Row[], extra: string[]): string {
    const out: string[] = [];
    const names = new Set(listed.map((t) => t.name));
    const fleets = [...this.units.keys()].filter((n) => !names.has(n));
    const targets = [...listed, ...fleets.map((name) => ({ name, kind: 'fleet', paused: false }))];
    const sample = (metric: string, labels: Record<string, string>, value: number) => {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${label(v)}"`);
      return `${PREFIX}_${metric}{${pairs.join(',')}} ${value}`;
    };
    const family = (name: string, type: string, help: string, samples: string[]) => {
      if (samples.length === 0) return;
      out.push(`# HELP ${PREFIX}_${name} ${help}`, `# TYPE ${PREFIX}_${name} ${type}`, ...samples);
    };
    /** One sample per target (labelled with its name, and its kind when `kind`), none where `value` is undefined. */
    const perTarget = (
      name: string,
      type: string,
      help: string,
      value: (t: Row, s: TargetState | undefined) => number | undefined,
      kind = false,
    ) =>
      family(
        name,
        type,
        help,
        targets.flatMap((t) => {
          const v = value(t, this.targets.get(t.name));
          return v === undefined ? [] : [sample(name, kind ? { target: t.name, kind: t.kind } : { target: t.name }, v)];
        }),
      );
    /** Samples of a count per target and key (`runs_total` by result, `steps_total` by step). */
    const counts = (name: string, help: string, key: string, of: (s: TargetState) => Map<string, number>) =>
      family(
        name,
        'counter',
        help,
        targets.flatMap((t) => {
          const s = this.targets.get(t.name);
          return [...(s ? of(s) : [])].map(([k, n]) => sample(name, { target: t.name, [key]: k }, n));
        }),
      );
    const seconds = (ms: number) => Math.round(ms / 1000);

    const kinds = 'done, waiting, stuck, busy, failed, lost-race, deferred';
    counts('runs_total', `Runs per target, by how they ended (${kinds}).`, 'result', (s) => s.runs);
    perTarget(
      'rotations_total',
      'counter',
      'Rotations started (a new key or secondary token created).',
      (_t, s) => s?.steps.get('start-rotation') ?? 0,
      true,
    );
    perTarget(
      'failures_total',
      'counter',
      'Runs that failed (exit code 1 of the CLI: failed or stuck).',
      (_t, s) => (s?.runs.get('failed') ?? 0) + (s?.runs.get('stuck') ?? 0),
    );
    counts('steps_total', 'Steps carried out, by step.', 'step', (s) => s.steps);
    perTarget(
      'ticks_skipped_total',
      'counter',
      'Scheduled ticks skipped because a run of the target was still in progress or waiting.',
      (_t, s) => s?.skipped ?? 0,
    );
    perTarget(
      'credential_age_seconds',
      'gauge',
      'Age of the current credential (key or Auth Token), from the last run.',
      (_t, s) => (s?.currentCreatedAtMs !== undefined ? seconds(nowMs - s.currentCreatedAtMs) : undefined),
      true,
    );
    perTarget(
      'gate_wait_seconds',
      'gauge',
      'How long the consumer gate has held the old credential, while it waits (0 when not waiting).',
      (_t, s) => {
        const r = s?.last?.result;
        return r && (r.kind === 'waiting' || r.kind === 'stuck') ? seconds(nowMs - r.sinceMs) : 0;
      },
    );
    perTarget('target_stuck', 'gauge', '1 when the last run ended stuck: a person must act.', (_t, s) =>
      s?.last?.result.kind === 'stuck' ? 1 : 0,
    );
    const off = "1 when automatic rotation is off (paused: true, or a rollback's rotator:paused tag).";
    perTarget('target_paused', 'gauge', off, (t, s) => (t.paused || s?.rollbackPaused ? 1 : 0));
    perTarget('last_run_timestamp_seconds', 'gauge', 'When the last run of the target finished.', (_t, s) =>
      s?.last ? seconds(s.last.finishedAtMs) : undefined,
    );
    perTarget('last_run_duration_seconds', 'gauge', 'How long the last run of the target took.', (_t, s) =>
      s?.last ? s.last.durationMs / 1000 : undefined,
    );
    family(
      'fleet_unlisted',
      'gauge',
      "1 when the fleet's last run could not list its subaccounts, so none of its members ran.",
      fleets.map((name) => {
        const last = this.targets.get(name)?.last?.result;
        const unlisted = last?.kind === 'failed' && last.step === 'expand-fleet' ? 1 : 0;
        return sample('fleet_unlisted', { target: name }, unlisted);
      }),
    );
    family(
      'config_reloads_total',
      'counter',
      'Configuration reloads (SIGHUP or a changed file), accepted or rejected.',
      ['accepted', 'rejected'].map((r) => sample('config_reloads_total', { result: r }, this.reloads.get(r) ?? 0)),
    );
    out.push(...extra);
    return `${out.join('\n')}\n`;
  }
}
