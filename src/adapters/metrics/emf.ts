import type { TargetMetrics } from '../../core/runtime.js';

/**
 * CloudWatch embedded metric format: one JSON line per target and run, which CloudWatch Logs turns
 * into metrics without any API call (in Lambda, any line of the function's log; elsewhere, the
 * CloudWatch agent). Each metric is published twice: per target (dimension Target) and across all
 * targets (no dimension), which the stack's alarms watch.
 */

export const METRIC_UNITS: Record<string, 'Count' | 'None'> = {
  TargetsChecked: 'Count',
  RotationsStarted: 'Count',
  RotationsCompleted: 'Count',
  RotationsFailed: 'Count',
  TargetsStuck: 'Count',
  OpenProblems: 'Count',
  AlertDeliveryFailures: 'Count',
  /** Days, in a unit CloudWatch has no name for. */
  KeyAgeDays: 'None',
  GateWaitHours: 'None',
};

export function emfLine(namespace: string, m: TargetMetrics): string {
  const names = Object.keys(m.values).filter((n) => Object.hasOwn(METRIC_UNITS, n) && Number.isFinite(m.values[n]));
  return JSON.stringify({
    _aws: {
      Timestamp: m.atMs,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [['Target'], []],
          Metrics: names.map((Name) => ({ Name, Unit: METRIC_UNITS[Name] })),
        },
      ],
    },
    Target: m.target,
    ...Object.fromEntries(names.map((n) => [n, m.values[n]])),
  });
}

/** A metrics sink writing EMF lines with `write` (stdout on Lambda, the log stream elsewhere). */
export function emfWriter(namespace: string, write: (line: string) => void): (m: TargetMetrics) => void {
  return (m) => write(`${emfLine(namespace, m)}\n`);
}
