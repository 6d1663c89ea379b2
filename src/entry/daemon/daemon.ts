import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { loadConfig } from '../../config/load.js';
import type { RotatorConfig } from '../../config/types.js';
import { exitCodeFor, type TargetResult } from '../../core/outcome.js';
import type { Logger } from '../../core/runtime.js';
import { rotateTargets } from '../../engine/commands.js';
import { describeNames, isKnownName, resolveTargets, scheduledUnits } from '../../engine/targets.js';
import { errorMessage } from '../../errors.js';
import { forgetSecrets, knownSecretForms, redact } from '../../redact.js';
import { createRuntime } from '../../wiring.js';
import { startHealthServer, type Check } from './health.js';
import { createLeakReceiver } from './leaks.js';
import { DaemonMetrics } from './metrics.js';
import { RunQueue } from './queue.js';
import { startSchedule, type Schedule } from './schedule.js';

/**
 * `twilio-key-rotator daemon`: reconciles each target on its cron schedule, one run at a time
 * (./queue.ts), with the same engine as `rotate`. Each run gets a fresh Runtime and the redaction
 * registry is emptied after it, so nothing grows with the number of runs. Stopping finishes the step
 * in flight: it leaves what a Lambda deadline or a crash leaves, and the next run resumes from it.
 */

export interface DaemonOptions {
  configPath: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  now?: () => number;
}

export type Daemon = Awaited<ReturnType<typeof createDaemon>>;

/** A run this long is hung (every call is bounded, so this is a bug): /healthz says so. */
const hungAfterMs = (c: RotatorConfig) => 25 * 4 * c.retry.budgetMs + 60_000;
const scheduled = (c: RotatorConfig) => scheduledUnits(c).flatMap((t) => (t.paused ? [] : [t.name]));

export async function createDaemon(o: DaemonOptions) {
  const now = o.now ?? Date.now;
  const { logger } = o;
  let config = await loadConfig(o.configPath, o.env);
  let stopping: Promise<void> | undefined;
  const stopRuns = new AbortController();
  const metrics = new DaemonMetrics();

  async function runOne(name: string): Promise<void> {
    const snapshot = config; // a reload during the run applies to the next one
    const target = scheduledUnits(snapshot).find((t) => t.name === name);
    if (!target || target.paused) return; // removed or paused by a reload since its tick
    const startedAtMs = now();
    logger.info('run started', { target: name, step: 'run' });
    let results: TargetResult[];
    let runtime: ReturnType<typeof createRuntime> | undefined;
    try {
      runtime = createRuntime(snapshot, { logger, env: o.env, now });
      const targets = await resolveTargets(snapshot, runtime, [name], true);
      results = await rotateTargets(targets, runtime, { scheduled: true, stop: stopRuns.signal });
    } catch (err) {
      const error = redact(errorMessage(err));
      logger.error(`run failed: ${error}`, { target: name, step: 'run' });
      results = [{ target: name, credential: target.kind, steps: [], kind: 'failed', step: 'run', error }];
    } finally {
      // Each run has its own connections: kept alive past it, a daemon would hold one set per run.
      runtime?.close?.();
      forgetSecrets();
    }
    const finishedAtMs = now();
    for (const result of results) metrics.recordRun(result, startedAtMs, finishedAtMs);
    // A unit of several targets (a fleet) is ready when none of them failed; the line counts them by outcome.
    if (target.group) metrics.recordUnit(name, results.filter((r) => exitCodeFor([r]) !== 0).length);
    const outcome =
      results.length === 1
        ? results[0]!.kind
        : [...new Set(results.map((r) => r.kind))]
            .map((k) => `${results.filter((r) => r.kind === k).length} ${k}`)
            .join(', ') || 'no members';
    logger.info(`run finished: ${outcome}`, { target: name, step: 'run', durationMs: finishedAtMs - startedAtMs });
  }

  const queue = new RunQueue(
    runOne,
    (target, why) => {
      metrics.recordSkip(target);
      logger.warn(`tick skipped: ${why}`, { target, step: 'schedule' });
    },
    now,
  );
  const tick = (targets?: readonly string[]) => queue.request(targets ?? scheduled(config));
  let schedule: Schedule = startSchedule(config, tick, logger);

  const onFileChange = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) void reload('file changed');
  };
  const watch = (on: boolean) =>
    on
      ? watchFile(o.configPath, { interval: 2000, persistent: false }, onFileChange)
      : unwatchFile(o.configPath, onFileChange);
  watch(config.daemon.watchConfig);

  // One reload at a time: a SIGHUP during a reload waits for it, then reads the file again.
  let reloading = Promise.resolve(true);
  const reload = (why: string): Promise<boolean> => (reloading = reloading.then(() => reloadNow(why)));

  async function reloadNow(why: string): Promise<boolean> {
    if (stopping) return false;
    let next: RotatorConfig;
    try {
      next = await loadConfig(o.configPath, o.env);
    } catch (err) {
      metrics.recordReload(false);
      const refused = `configuration reload (${why}) refused; keeping the previous configuration`;
      logger.error(`${refused}. ${redact(errorMessage(err))}`, { step: 'reload' });
      return false;
    }
    if (stopping) return false;
    const previous = config;
    config = next;
    metrics.retain((name) => isKnownName(next, name));
    metrics.recordReload(true);
    schedule.stop();
    schedule = startSchedule(next, tick, logger);
    if (previous.daemon.watchConfig !== next.daemon.watchConfig) watch(next.daemon.watchConfig);
    const at = { step: 'reload' };
    logger.info(`configuration reloaded (${why}); schedules: ${schedule.describe().join('; ') || 'none'}`, at);
    if (JSON.stringify(previous.daemon.health) !== JSON.stringify(next.daemon.health))
      logger.warn('daemon.health changed: the health endpoint keeps its address until the daemon restarts', at);
    return true;
  }

  const healthz = (): Check => {
    const running = queue.inFlight();
    const limit = hungAfterMs(config);
    if (running && now() - running.sinceMs > limit)
      return { ok: false, text: `run of ${running.target} in flight for more than ${limit / 1000} s: hung` };
    return { ok: true, text: stopping ? 'ok (stopping)' : 'ok' };
  };
  const readyz = (): Check => {
    if (stopping) return { ok: false, text: 'stopping' };
    const { ready, reasons } = metrics.readiness(scheduled(config));
    return { ok: ready, text: ready ? 'ready' : `not ready:\n${reasons.join('\n')}` };
  };
  const gauge = (name: string, help: string, value: number) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} gauge`,
    `${name} ${value}`,
  ];
  const metricsText = () =>
    metrics.render(now(), describeNames(config, metrics.names()), [
      ...gauge('twilio_key_rotator_run_in_progress', '1 while a run is in flight.', queue.inFlight() ? 1 : 0),
      ...gauge(
        'twilio_key_rotator_redaction_entries',
        'Forms of secrets the redaction registry holds (one run at most).',
        knownSecretForms(),
      ),
      ...gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', process.memoryUsage.rss()),
    ]);

  // Leak reports (leakReports) arrive on the same endpoint; the receiver reads the current config per report.
  const leaks = config.leakReports
    ? createLeakReceiver({ config: () => config, env: o.env, logger, now, stop: stopRuns.signal })
    : undefined;
  let health: Awaited<ReturnType<typeof startHealthServer>> | undefined;
  if (config.daemon.health) {
    try {
      health = await startHealthServer(config.daemon.health, {
        healthz,
        readyz,
        metrics: metricsText,
        ...(leaks ? { leaks: (path, req, res) => leaks.handle(path, req, res) } : {}),
      });
    } catch (err) {
      schedule.stop();
      watch(false);
      throw err;
    }
  }
  const schedules = schedule.describe().join('; ') || 'none (every target is paused)';
  const listening = health ? `; health endpoint listening on ${health.url}` : '';
  logger.info(`daemon started; schedules: ${schedules}${listening}`, { step: 'start' });
  if (config.daemon.runOnStart) tick();

  return {
    config: () => config,
    /** Asks for runs as a scheduled tick does (every scheduled target when none are named). */
    tick,
    /** Resolves once no run is in flight or waiting. */
    idle: () => Promise.all([queue.idle(), leaks?.idle()]).then(() => undefined),
    /** Loads the configuration again; a bad one is refused, logged, and the old one kept. */
    reload,
    ...(health ? { healthUrl: health.url } : {}),
    /** Finishes the step in flight, starts nothing new, closes the endpoint. */
    stop(why: string): Promise<void> {
      stopping ??= (async () => {
        stopRuns.abort();
        schedule.stop();
        watch(false);
        const running = queue.inFlight()?.target;
        const finishing = `finishing the step in flight for ${running}, then stopping; nothing new starts`;
        logger.info(`${why}: ${running ? finishing : 'stopping'}`, { step: 'stop' });
        await queue.stop();
        await leaks?.idle();
        await health?.close();
        logger.info('daemon stopped', { step: 'stop' });
      })();
      return stopping;
    },
  };
}

/**
 * The process around a daemon: SIGTERM and SIGINT stop it (a second one exits at once: the state is
 * crash-safe), SIGHUP reloads the configuration. Resolves with the exit code once it has stopped.
 * The handlers are in place before start-up, so a signal that arrives while it starts is not fatal:
 * a stop is carried out as soon as the daemon exists, a reload is pointless (the file is being read).
 */
export async function runDaemon(o: DaemonOptions): Promise<number> {
  let daemon: Daemon | undefined;
  let stopSignal: NodeJS.Signals | undefined;
  let stopped: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (stopped = resolve));
  // Keeps the process alive with every target paused (no cron task, no endpoint): it still reloads.
  const alive = setInterval(() => undefined, 1 << 30);
  const stop = (d: Daemon, signal: NodeJS.Signals) => void d.stop(signal).then(() => stopped(0));
  const onStop = (signal: NodeJS.Signals) => {
    if (stopSignal !== undefined) {
      o.logger.warn(`${signal} again: exiting now; the step in flight is cut short and the next run resumes from it`, {
        step: 'stop',
      });
      process.exit(130);
    }
    stopSignal = signal;
    if (daemon) stop(daemon, signal);
  };
  const onHup = () => {
    if (daemon) void daemon.reload('SIGHUP');
    else o.logger.warn('SIGHUP during start-up: ignored, the configuration is being read now', { step: 'reload' });
  };
  const handlers = Object.entries({ SIGTERM: onStop, SIGINT: onStop, SIGHUP: onHup });
  for (const [signal, handler] of handlers) process.on(signal, handler);
  try {
    daemon = await createDaemon(o);
    if (stopSignal !== undefined) stop(daemon, stopSignal);
    return await done;
  } finally {
    clearInterval(alive);
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}
