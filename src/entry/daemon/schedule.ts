import { createTask, type ScheduledTask } from 'node-cron';
import type { RotatorConfig } from '../../config/types.js';
import type { Logger } from '../../core/runtime.js';
import { scheduledUnits } from '../../engine/targets.js';

/**
 * The daemon's clock: one node-cron task per distinct schedule, in the daemon's timezone. A tick only
 * asks the run queue (./queue.ts) for runs; paused targets get no task.
 */

export type Schedule = ReturnType<typeof startSchedule>;

export function startSchedule(config: RotatorConfig, onTick: (targets: string[]) => void, logger: Logger) {
  const groups = new Map<string, string[]>();
  for (const t of scheduledUnits(config)) {
    if (t.paused) continue;
    const expression = t.schedule ?? config.daemon.schedule;
    groups.set(expression, [...(groups.get(expression) ?? []), t.name]);
  }
  // node-cron's own warnings (a tick missed on a busy machine) go to our log, not to the console.
  const cronLogger = {
    info: () => undefined,
    debug: () => undefined,
    warn: (message: string) => void logger.warn(`node-cron: ${message}`, { step: 'schedule' }),
    error: (message: string | Error) =>
      void logger.error(`node-cron: ${message instanceof Error ? message.message : message}`, { step: 'schedule' }),
  };
  const tasks: ScheduledTask[] = [];
  for (const [expression, targets] of groups) {
    const task = createTask(expression, () => onTick(targets), {
      timezone: config.daemon.timezone,
      name: `twilio-key-rotator ${expression}`,
      logger: cronLogger,
    });
    void task.start();
    tasks.push(task);
  }
  return {
    /** `"*\/15 * * * *" (UTC): app, notifier` per task, for the start-up log. */
    describe: () => [...groups].map(([e, t]) => `"${e}" (${config.daemon.timezone}): ${t.join(', ')}`),
    stop: () => {
      for (const task of tasks) void task.destroy();
      tasks.length = 0;
    },
  };
}
