import { randomUUID } from 'node:crypto';
import type { RotatorConfig, TargetConfig } from '../config/types.js';
import { alertFor, completedAlert, testAlert, type Alert } from '../core/alert.js';
import { assess, decide, healthTagChanges, nextHealth, parseHealth, type Health, type Notice } from '../core/health.js';
import type { TargetResult } from '../core/outcome.js';
import type { AlertChannel, Logger, Runtime } from '../core/runtime.js';
import { DAY_MS } from '../core/sids.js';
import { wordsOf } from '../credentials/registry.js';
import { errorMessage, UsageError } from '../errors.js';
import { redact } from '../redact.js';

/**
 * Alerts, health state and metrics after a real run (docs/architecture.md "One run"). Nothing here
 * throws or changes a result: a failed delivery is logged and the next run tries again. A run that
 * failed on bad input before any step changed nothing, so its alerting writes nothing either: such a
 * problem is announced on every run until it is fixed.
 */

export const newId = () => randomUUID().replace(/-/g, '');

/** The channels that hear about `target`: those it names, or every configured channel. */
export function channelsFor(target: TargetConfig, channels: readonly AlertChannel[]): AlertChannel[] {
  const names = target.alerts?.channels;
  return names ? channels.filter((c) => names.includes(c.name)) : [...channels];
}

/** Delivers one alert to every channel that takes its event; true when one of them got it (or none takes it). */
export async function deliver(
  alert: Alert,
  channels: readonly AlertChannel[],
  signal: AbortSignal,
  log: Logger,
): Promise<{ delivered: boolean; failures: number }> {
  const event = alert.event === 'resolved' ? alert.problem! : alert.event;
  const takers = channels.filter((c) => c.events.has(event));
  if (takers.length === 0) return { delivered: true, failures: 0 };
  const outcomes = await Promise.allSettled(takers.map((c) => c.send(alert, signal)));
  let failures = 0;
  outcomes.forEach((o, i) => {
    const c = takers[i]!;
    const fields = { step: 'alert', channel: c.name, event: alert.event, dedupKey: alert.dedupKey };
    if (o.status === 'fulfilled') log.info(`alert sent to ${c.name} (${c.type}): ${alert.summary}`, fields);
    else {
      failures++;
      log.error(`${redact(errorMessage(o.reason))}; the rotation's own result is unaffected`, fields);
    }
  });
  return { delivered: failures < takers.length, failures };
}

/** Failed before its first step on something it read, not on a remote answer: bad input, and nothing changed. */
function failedOnInput(result: TargetResult): boolean {
  return result.kind === 'failed' && result.steps.length === 0 && result.remote === undefined;
}

/** Health state as the run last saw it, or as one read says; `persist` false with nowhere to keep it, or bad input. */
async function healthOf(
  target: TargetConfig,
  result: TargetResult,
  runtime: Runtime,
): Promise<{ health: Health; persist: boolean }> {
  if (result.seen)
    return { health: parseHealth(result.seen.tags), persist: result.seen.tags !== undefined && !failedOnInput(result) };
  try {
    const secret = await runtime.store(target.secret.store).read(target.secret.secretId);
    return { health: parseHealth(secret?.tags), persist: secret !== undefined && !failedOnInput(result) };
  } catch {
    // The store itself is failing: alert as if nothing had been sent before; write nothing.
    return { health: {}, persist: false };
  }
}

async function reportTarget(
  config: RotatorConfig,
  runtime: Runtime,
  target: TargetConfig,
  result: TargetResult,
  signal: AbortSignal,
): Promise<void> {
  const log = runtime.logger.child({ target: target.name });
  const nowMs = runtime.now();
  const settings = { noun: wordsOf(target.kind).noun, maxAgeMs: target.maxAgeMs, graceMs: config.alerts.keyAgeGraceMs };
  const assessment = assess(result, settings, nowMs);
  const channels = channelsFor(target, runtime.alertChannels ?? []);
  let failures = 0;
  if (channels.length > 0) {
    const { health, persist } = await healthOf(target, result, runtime);
    const notices = decide(health, assessment, nowMs, config.alerts.renotifyMs);
    const subject = { target: target.name, credential: target.kind, account: target.accountSid };
    const delivered = new Set<Notice>();
    for (const notice of notices) {
      const sent = await deliver(alertFor(notice, subject, newId(), nowMs), channels, signal, log);
      failures += sent.failures;
      if (sent.delivered) delivered.add(notice);
    }
    if ((result.seen?.rotationsCompleted ?? 0) > 0) {
      const news = completedAlert(subject, result.seen?.current?.ref, newId(), nowMs);
      failures += (await deliver(news, channels, signal, log)).failures;
    }
    const changes = healthTagChanges(
      health,
      nextHealth(health, assessment, notices, (n) => delivered.has(n), nowMs),
    );
    if (persist && Object.keys(changes).length > 0) {
      await runtime
        .store(target.secret.store)
        .setTags(target.secret.secretId, changes)
        .catch((err: unknown) =>
          log.error(`could not record alert state on "${target.secret.secretId}": ${redact(errorMessage(err))}`, {
            step: 'alert',
          }),
        );
    }
  }
  runtime.metrics?.({
    target: target.name,
    atMs: nowMs,
    values: metricsOf(result, assessment.found.length, failures, nowMs),
  });
}

function metricsOf(result: TargetResult, problems: number, failures: number, nowMs: number): Record<string, number> {
  const seen = result.seen;
  const waitSince = result.kind === 'waiting' || result.kind === 'stuck' ? result.sinceMs : undefined;
  return {
    TargetsChecked: 1,
    RotationsStarted: seen?.rotationsStarted ?? 0,
    RotationsCompleted: seen?.rotationsCompleted ?? 0,
    RotationsFailed: result.kind === 'failed' ? 1 : 0,
    TargetsStuck: result.kind === 'stuck' ? 1 : 0,
    OpenProblems: problems,
    AlertDeliveryFailures: failures,
    ...(seen?.current ? { KeyAgeDays: Math.floor(((nowMs - seen.current.createdAtMs) / DAY_MS) * 100) / 100 } : {}),
    ...(waitSince !== undefined ? { GateWaitHours: Math.floor(((nowMs - waitSince) / 3_600_000) * 100) / 100 } : {}),
  };
}

/** After a real run: alerts, health state and metrics for every target. Never throws. */
export async function reportRun(
  config: RotatorConfig,
  runtime: Runtime,
  targets: readonly TargetConfig[],
  results: readonly TargetResult[],
): Promise<void> {
  const signal = AbortSignal.timeout(config.alerts.budgetMs);
  for (const [i, result] of results.entries()) {
    const target = targets.find((t) => t.name === result.target);
    if (!target) continue;
    try {
      await reportTarget(config, runtime, target, result, signal);
    } catch (err) {
      runtime.logger.error(`alerting for ${target.name} failed: ${redact(errorMessage(err))}`, {
        target: target.name,
        step: 'alert',
        index: i,
      });
    }
  }
}

export interface TestDelivery {
  channel: string;
  type: string;
  delivered: boolean;
  error?: string;
}

/** `alerts test`: one clearly marked test alert to each channel (or the one named). */
export async function sendTestAlerts(config: RotatorConfig, runtime: Runtime, name?: string): Promise<TestDelivery[]> {
  const all = runtime.alertChannels ?? [];
  if (all.length === 0)
    throw new UsageError(
      'no alert channels are configured: add alerts.channels to the configuration (README "Alerts")',
    );
  const chosen = name === undefined ? all : all.filter((c) => c.name === name);
  if (chosen.length === 0)
    throw new UsageError(`no alert channel is named "${name}"; configured: ${all.map((c) => c.name).join(', ')}`);
  const signal = AbortSignal.timeout(config.alerts.budgetMs);
  return Promise.all(
    chosen.map(async (c): Promise<TestDelivery> => {
      try {
        await c.send(testAlert(c.name, newId(), runtime.now()), signal);
        return { channel: c.name, type: c.type, delivered: true };
      } catch (err) {
        return { channel: c.name, type: c.type, delivered: false, error: redact(errorMessage(err)) };
      }
    }),
  );
}
