// node-cron as src/config-kit/schedule.ts sees it in the Lambda bundle: its one use there,
// validateDetailed(), checks a cron expression inside a schema, which runs only when the handler
// validates its configuration (scripts/zod-deferred-stub.mjs). The Lambda schedules nothing itself
// (EventBridge does), so node-cron is loaded by loadZod(), with zod, and not at start-up.
import { loadWithZod } from './zod-deferred-stub.mjs';

let cron;
loadWithZod(async () => {
  cron ??= await import('node-cron');
});

export function validateDetailed(expression) {
  if (!cron) throw new Error('node-cron used before loadZod() (scripts/node-cron-deferred-stub.mjs): this is a bug');
  return cron.validateDetailed(expression);
}
