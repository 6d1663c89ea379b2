/**
 * Maintenance windows: the only times a rotation may start (and, for an Auth Token, be promoted).
 * A window opens on the given weekdays at `start` and closes at `end`, local time in its timezone;
 * an `end` at or before `start` closes on the next day (22:00–02:00). This is Vault's and Secrets
 * Manager's "schedule plus window duration", written the way maintenance windows usually are.
 * Pure: the local time comes from Intl, no clock is read.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface MaintenanceWindow {
  /** The days the window opens on (0 = Sunday … 6 = Saturday). */
  days: readonly number[];
  /** Minutes after local midnight. */
  startMinute: number;
  endMinute: number;
  /** An IANA timezone, e.g. "Europe/Berlin". */
  timezone: string;
}

/** True for a timezone this Node.js knows (IANA names, "UTC"). */
export function isKnownTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** The weekday and minute of the day of an instant, in a timezone. */
function localTime(atMs: number, timezone: string): { weekday: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(atMs));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const weekday = WEEKDAYS.indexOf(part('weekday').toLowerCase().slice(0, 3) as Weekday);
  return { weekday, minute: Number(part('hour')) * 60 + Number(part('minute')) };
}

export function isInsideWindow(w: MaintenanceWindow, atMs: number): boolean {
  const { weekday, minute } = localTime(atMs, w.timezone);
  const opensOn = (day: number) => w.days.includes(day);
  if (w.startMinute < w.endMinute) return opensOn(weekday) && minute >= w.startMinute && minute < w.endMinute;
  // Past midnight: the evening of an opening day, or the early hours of the day after one.
  return (opensOn(weekday) && minute >= w.startMinute) || (opensOn((weekday + 6) % 7) && minute < w.endMinute);
}

const hhmm = (minute: number) =>
  `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/** "sat,sun 02:00-06:00 Europe/Berlin", "daily 22:00-02:00 UTC". */
export function describeWindow(w: MaintenanceWindow): string {
  const days = w.days.length === 7 ? 'daily' : w.days.map((d) => WEEKDAYS[d]).join(',');
  return `${days} ${hhmm(w.startMinute)}-${hhmm(w.endMinute)} ${w.timezone}`;
}
