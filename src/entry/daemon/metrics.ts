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
const seconds = (ms: number) => Math.round(ms / 1000);

/** Every family /metrics lists, in its order, with its help line. */
const HELP = {
  runs_total: 'Runs per target, by how they ended (done, waiting, stuck, busy, failed, lost-race, deferred).',
  rotations_total: 'Rotations started (a new key or secondary token created).',
  failures_total: 'Runs that failed (exit code 1 of the CLI: failed or stuck).',
  steps_total: 'Steps carried out, by step.',
  ticks_skipped_total: 'Scheduled ticks skipped because a run of the target was still in progress or waiting.',
  credential_age_seconds: 'Age of the current credential (key or Auth Token), from the last run.',
  gate_wait_seconds: 'How long the consumer gate has held the old credential, while it waits (0 when not waiting).',
  target_stuck: '1 when the last run ended stuck: a person must act.',
  target_paused: "1 when automatic rotation is off (paused: true, or a rollback's rotator:paused tag).",
  last_run_timestamp_seconds: 'When the last run of the target finished.',
  last_run_duration_seconds: 'How long the last run of the target took.',
  fleet_unlisted: "1 when the fleet's last run could not list its subaccounts, so none of its members ran.",
  config_reloads_total: 'Configuration reloads (SIGHUP or a changed file), accepted or rejected.',
};
/** Families labelled with the target's kind as well as its name. */
const WITH_KIND = new Set(['rotations_total', 'credential_age_seconds']);

/** A family's samples for one target: extra labels (besides target, and kind for WITH_KIND) and a value. */
type Samples = (s: TargetState | undefined, t: Row) => (readonly [Record<string, string>, number])[];
const one = (value: number | undefined): ReturnType<Samples> => (value === undefined ? [] : [[{}, value]]);
const count = (label: string, map: Map<string, number> | undefined): ReturnType<Samples> =>
  [...(map ?? [])].map(([key, n]) => [{ [label]: key }, n]);

/** The families of one sample per target (or per key of a counter map), in order. */
const perTarget = (nowMs: number): Partial<Record<keyof typeof HELP, Samples>> => ({
  runs_total: (s) => count('result', s?.runs),
  rotations_total: (s) => one(s?.steps.get('start-rotation') ?? 0),
  failures_total: (s) => one((s?.runs.get('failed') ?? 0) + (s?.runs.get('stuck') ?? 0)),
  steps_total: (s) => count('step', s?.steps),
  ticks_skipped_total: (s) => one(s?.skipped ?? 0),
  credential_age_seconds: (s) =>
    one(s?.currentCreatedAtMs !== undefined ? seconds(nowMs - s.currentCreatedAtMs) : undefined),
  gate_wait_seconds: (s) => {
    const r = s?.last?.result;
    return one(r && (r.kind === 'waiting' || r.kind === 'stuck') ? seconds(nowMs - r.sinceMs) : 0);
  },
  target_stuck: (s) => one(s?.last?.result.kind === 'stuck' ? 1 : 0),
  target_paused: (s, t) => one(t.paused || s?.rollbackPaused ? 1 : 0),
  last_run_timestamp_seconds: (s) => one(s?.last ? seconds(s.last.finishedAtMs) : undefined),
  last_run_duration_seconds: (s) => one(s?.last ? s.last.durationMs / 1000 : undefined),
});
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
    // Prometheus names a counter "…_total"; every other family here is a gauge.
    const family = (name: keyof typeof HELP, samples: string[]) => {
      const type = name.endsWith('_total') ? 'counter' : 'gauge';
      if (samples.length > 0) out.push(`# HELP ${PREFIX}_${name} ${HELP[name]}`, `# TYPE ${PREFIX}_${name} ${type}`);
      out.push(...samples);
    };
    for (const [name, samples] of Object.entries(perTarget(nowMs)) as [keyof typeof HELP, Samples][])
      family(
        name,
        targets.flatMap((t) =>
          samples(this.targets.get(t.name), t).map(([labels, value]) =>
            sample(name, { target: t.name, ...(WITH_KIND.has(name) ? { kind: t.kind } : {}), ...labels }, value),
          ),
        ),
      );
    const unlisted = (r: TargetResult | undefined) => (r?.kind === 'failed' && r.step === 'expand-fleet' ? 1 : 0);
    family(
      'fleet_unlisted',
      fleets.map((name) => sample('fleet_unlisted', { target: name }, unlisted(this.targets.get(name)?.last?.result))),
    );
    const reloads = ['accepted', 'rejected'];
    family(
      'config_reloads_total',
      reloads.map((r) => sample('config_reloads_total', { result: r }, this.reloads.get(r) ?? 0)),
    );
    out.push(...extra);
    return `${out.join('\n')}\n`;
  }
}
