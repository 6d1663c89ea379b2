import { validateDetailed } from 'node-cron';
import * as z from 'zod/mini';
import { isKnownTimezone, WEEKDAYS, type MaintenanceWindow } from '../core/window.js';

/**
 * When things run: cron expressions (checked by node-cron's own validator, so the daemon never
 * meets one it cannot schedule), timezones, and maintenance windows.
 */

const CRON_HINT =
  'must be a cron expression such as "*/15 * * * *" (minute hour day month ' +
  'weekday, with an optional leading seconds field)';

export const cronExpression = z.string({ error: 'must be a string' }).check(
  z.superRefine((value, ctx) => {
    const result = validateDetailed(value);
    if (result.valid) return;
    const why = result.errors.map((e) => `${e.field === 'expression' ? '' : `${e.field}: `}${e.message}`).join('; ');
    ctx.addIssue({ code: 'custom', input: value, message: `${CRON_HINT}: ${why}` });
  }),
);

export const timezone = z
  .string({ error: 'must be a string' })
  .check(z.refine(isKnownTimezone, 'must be an IANA timezone such as "UTC" or "Europe/Berlin"'));

const timeOfDay = z
  .string({ error: 'must be a string' })
  .check(z.regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day HH:MM (24-hour), e.g. "02:00"'));

export const windowSchema = z
  .strictObject({
    days: z.optional(
      z
        .array(z.enum(WEEKDAYS, { error: `must be one of ${WEEKDAYS.join(', ')}` }))
        .check(z.minLength(1, 'must list at least one day (leave it out for every day)')),
    ),
    start: timeOfDay,
    end: timeOfDay,
    timezone: z.optional(timezone),
  })
  .check(
    z.refine((w) => w.start !== w.end, {
      message: 'must differ from start: a window needs a length (to stop rotations, set paused: true)',
      path: ['end'],
    }),
  );
export type RawWindow = z.infer<typeof windowSchema>;

const minuteOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** A window without its own timezone takes the daemon's, known only once the whole file is read. */
export function convertWindow(w: RawWindow, defaultTimezone: string): MaintenanceWindow {
  return {
    days: w.days ? [...new Set(w.days.map((d) => WEEKDAYS.indexOf(d)))].sort() : [0, 1, 2, 3, 4, 5, 6],
    startMinute: minuteOf(w.start),
    endMinute: minuteOf(w.end),
    timezone: w.timezone ?? defaultTimezone,
  };
}
