import { SmError, invalidParameter, validation } from './errors.js';

/**
 * RotationRules as RotateSecret takes them, validated as AWS documents them (botocore
 * service-2.json RotationRulesType; user guide rotate-secrets_schedule.html), and the dates
 * DescribeSecret derives from them.
 *
 * Model constraints (type, length, pattern, range) fail with ValidationException in AWS's Coral
 * wording, as other Secrets Manager constraint violations do. Semantic rules fail with
 * InvalidParameterException. Only the "both AutomaticallyAfterDays and ScheduleExpression" message
 * has been seen from AWS (hashicorp/terraform-provider-aws#33329); the other messages are ours
 * (UNCONFIRMED).
 */
export interface RotationRules {
  AutomaticallyAfterDays?: number;
  ScheduleExpression?: string;
  Duration?: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const constraint = (value: unknown, path: string, rule: string) =>
  validation(
    `1 validation error detected: Value '${String(value)}' at 'rotationRules.${path}' failed to ` +
      `satisfy constraint: ${rule}`,
  );
const badExpression = (expr: string, why: string) =>
  invalidParameter(`The schedule expression ${expr} is not valid: ${why}`);

/** A parsed schedule: what repeats, and how long each rotation window stays open. */
type Schedule = { kind: 'days'; every: number } | { kind: 'hours'; every: number } | { kind: 'cron'; cron: Cron };

interface Cron {
  hours: number[];
  months: Set<number>;
  dayOfMonth: (d: Date) => boolean;
  dayOfWeek: (d: Date) => boolean;
}

/** Parses and validates `RotationRules`; undefined when the request carries none. */
export function parseRotationRules(input: unknown): RotationRules | undefined {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== 'object' || Array.isArray(input))
    throw new SmError('SerializationException', 'RotationRules must be a structure');
  const raw = input as Record<string, unknown>;
  const rules: RotationRules = {};

  const days = raw.AutomaticallyAfterDays;
  if (days !== undefined && days !== null) {
    if (typeof days !== 'number' || !Number.isInteger(days))
      throw new SmError('SerializationException', 'RotationRules.AutomaticallyAfterDays must be an integer');
    if (days < 1) throw constraint(days, 'automaticallyAfterDays', 'Member must have value greater than or equal to 1');
    if (days > 1000)
      throw constraint(days, 'automaticallyAfterDays', 'Member must have value less than or equal to 1000');
    rules.AutomaticallyAfterDays = days;
  }
  const expr = raw.ScheduleExpression;
  if (expr !== undefined && expr !== null) {
    if (typeof expr !== 'string')
      throw new SmError('SerializationException', 'RotationRules.ScheduleExpression must be a string');
    if (expr.length < 1 || expr.length > 256)
      throw constraint(expr, 'scheduleExpression', 'Member must have length between 1 and 256');
    if (!/^[0-9A-Za-z()#?*\-/, ]+$/.test(expr))
      throw constraint(
        expr,
        'scheduleExpression',
        'Member must satisfy regular expression pattern: [0-9A-Za-z\\(\\)#\\?\\*\\-\\/, ]+',
      );
    rules.ScheduleExpression = expr;
  }
  const duration = raw.Duration;
  if (duration !== undefined && duration !== null) {
    if (typeof duration !== 'string')
      throw new SmError('SerializationException', 'RotationRules.Duration must be a string');
    if (duration.length < 2 || duration.length > 3)
      throw constraint(duration, 'duration', 'Member must have length between 2 and 3');
    if (!/^[0-9]+h$/.test(duration))
      throw constraint(duration, 'duration', 'Member must satisfy regular expression pattern: [0-9]+h');
    rules.Duration = duration;
  }

  if (rules.AutomaticallyAfterDays !== undefined && rules.ScheduleExpression !== undefined)
    throw invalidParameter('You cannot specify both rotation frequency and schedule expression together.');
  if (rules.Duration !== undefined && rules.AutomaticallyAfterDays === undefined && !rules.ScheduleExpression)
    throw invalidParameter('A rotation window Duration needs AutomaticallyAfterDays or a ScheduleExpression.');
  const schedule = scheduleOf(rules);
  if (schedule && rules.Duration !== undefined) checkWindow(schedule, Number(rules.Duration.slice(0, -1)), rules);
  return rules;
}

function scheduleOf(rules: RotationRules): Schedule | undefined {
  if (rules.AutomaticallyAfterDays !== undefined) return { kind: 'days', every: rules.AutomaticallyAfterDays };
  const expr = rules.ScheduleExpression;
  if (expr === undefined) return undefined;
  const rate = /^rate\((\d+) (hour|hours|day|days)\)$/.exec(expr);
  if (rate) {
    const n = Number(rate[1]);
    if (rate[2]!.startsWith('hour')) {
      // "You can rotate a secret as often as every four hours." (rotate-secrets_schedule.html)
      if (n < 4) throw badExpression(expr, 'you can rotate a secret at most every four hours');
      return { kind: 'hours', every: n };
    }
    // "The maximum rotation period is 999 days." (rotate-secrets_schedule.html)
    if (n < 1 || n > 999) throw badExpression(expr, 'a rate in days must be between 1 and 999');
    return { kind: 'days', every: n };
  }
  const cron = /^cron\((.*)\)$/.exec(expr);
  if (cron) return { kind: 'cron', cron: parseCron(expr, cron[1]!) };
  throw badExpression(
    expr,
    'use rate(<value> hours|days) or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)',
  );
}

/** Window rules, rotate-secrets_schedule.html: at least 1h, never into the next window or the next UTC day. */
function checkWindow(schedule: Schedule, hours: number, rules: RotationRules): void {
  const fail = (why: string) => invalidParameter(`The rotation window Duration ${rules.Duration} is not valid: ${why}`);
  if (hours < 1) throw fail('the rotation window must be at least one hour');
  if (schedule.kind === 'days' && hours > 24) throw fail('the window must not extend into the next UTC day');
  if (schedule.kind === 'hours' && hours > schedule.every)
    throw fail('the window must not extend into the next rotation window');
  if (schedule.kind === 'cron') {
    const { hours: starts } = schedule.cron;
    if (starts.some((h) => h + hours > 24)) throw fail('the window must not extend into the next UTC day');
    if (starts.length > 1 && hours > minGap(starts))
      throw fail('the window must not extend into the next rotation window');
  }
}

const minGap = (hours: number[]) =>
  Math.min(...hours.map((h, i) => (i + 1 < hours.length ? hours[i + 1]! - h : 24 - h + hours[0]!)));

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * Secrets Manager cron: `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, Minutes must be 0,
 * Year must be *, Hours 0-23 (, - * /), Day-of-month 1-31 (, - * ? / L), Month 1-12 or JAN-DEC
 * (, - * /), Day-of-week 1-7 or SUN-SAT (# , - * ? / L). rotate-secrets_schedule.html.
 */
function parseCron(expr: string, body: string): Cron {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) throw badExpression(expr, 'a cron expression has six fields');
  const [minutes, hours, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  if (minutes !== '0') throw badExpression(expr, 'the minutes field must be 0: rotation windows open on the hour');
  if (year !== '*') throw badExpression(expr, 'the year field must be *');
  const fail = (why: string) => badExpression(expr, why);
  const hourList = list(hours, 0, 23, [], fail, 'hours');
  if (hourList.length > 1 && minGap(hourList) < 4) throw fail('you can rotate a secret at most every four hours');
  const months = new Set(list(month, 1, 12, MONTHS, fail, 'month'));
  return { hours: hourList, months, dayOfMonth: dayOfMonth(dom, fail), dayOfWeek: dayOfWeek(dow, fail) };
}

/** `*`, `n`, `a-b`, each optionally `/step`, comma separated; `names` map to 1.. (months) or 1..7 (days). */
function list(
  field: string,
  min: number,
  max: number,
  names: string[],
  fail: (why: string) => SmError,
  what: string,
): number[] {
  const value = (text: string) => {
    const named = names.indexOf(text.toUpperCase());
    const n = named >= 0 ? named + 1 : /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= min && n <= max)) throw fail(`${text} is not a valid ${what} value (${min}-${max})`);
    return n;
  };
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw fail(`${part} is not valid in the ${what} field`);
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw fail(`${part}: the increment must be at least 1`);
    let from = min;
    let to = max;
    if (m[1] !== '*') {
      const [a, b] = m[1]!.split('-') as [string, string | undefined];
      from = value(a);
      to = b !== undefined ? value(b) : m[2] === undefined ? from : max;
      if (to < from) throw fail(`${part} is an empty range`);
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

function dayOfMonth(field: string, fail: (why: string) => SmError): (d: Date) => boolean {
  if (field === '?' || field === '*') return () => true;
  const lastDay = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  const tests = field.split(',').map((part): ((d: Date) => boolean) => {
    if (part === 'L') return (d) => d.getUTCDate() === lastDay(d);
    const days = new Set(list(part, 1, 31, [], fail, 'day-of-month'));
    return (d) => days.has(d.getUTCDate());
  });
  return (d) => tests.some((t) => t(d));
}

function dayOfWeek(field: string, fail: (why: string) => SmError): (d: Date) => boolean {
  if (field === '?' || field === '*') return () => true;
  const weekday = (d: Date) => d.getUTCDay() + 1; // SUN = 1
  const one = (text: string) => list(text, 1, 7, WEEKDAYS, fail, 'day-of-week')[0]!;
  const tests = field.split(',').map((part): ((d: Date) => boolean) => {
    const nth = /^([A-Za-z0-9]+)#([1-5])$/.exec(part);
    if (nth) {
      const day = one(nth[1]!);
      const k = Number(nth[2]);
      return (d) => weekday(d) === day && Math.ceil(d.getUTCDate() / 7) === k;
    }
    const last = /^([A-Za-z0-9]+)L$/.exec(part);
    if (last) {
      const day = one(last[1]!);
      return (d) =>
        weekday(d) === day &&
        d.getUTCDate() + 7 > new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    }
    if (part === 'L') return (d) => weekday(d) === 7;
    const days = new Set(list(part, 1, 7, WEEKDAYS, fail, 'day-of-week'));
    return (d) => days.has(weekday(d));
  });
  return (d) => tests.some((t) => t(d));
}

/**
 * RotationRules as DescribeSecret and ListSecrets show them. "In DescribeSecret and ListSecrets,
 * [AutomaticallyAfterDays] is calculated from the rotation schedule" (RotationRulesType); AWS was seen
 * returning AutomaticallyAfterDays 1 next to rate(10 hours) (hashicorp/terraform-provider-aws#31915).
 * UNCONFIRMED: rate(N hours) -> ceil(N/24) days; nothing derived for cron().
 */
export function describeRules(rules: RotationRules): RotationRules {
  const out: RotationRules = { ...rules };
  const schedule = scheduleOf(rules);
  if (out.AutomaticallyAfterDays === undefined && schedule?.kind === 'days')
    out.AutomaticallyAfterDays = schedule.every;
  if (out.AutomaticallyAfterDays === undefined && schedule?.kind === 'hours')
    out.AutomaticallyAfterDays = Math.max(1, Math.ceil(schedule.every / 24));
  return out;
}

/**
 * "Secrets Manager schedules the next rotation when the previous one is complete ... by adding the
 * rotation interval (number of days) to the actual date of the last rotation"; NextRotationDate is
 * "on or before this date" (RotateSecret / DescribeSecret docs). We return the end of the rotation
 * window that follows `from`. UNCONFIRMED: the exact instant AWS reports, and that rate(N hours)
 * windows repeat every N hours from midnight UTC of the last rotation's day.
 */
export function nextRotationDate(rules: RotationRules, from: number): number | undefined {
  const schedule = scheduleOf(rules);
  if (!schedule) return undefined;
  const duration = rules.Duration !== undefined ? Number(rules.Duration.slice(0, -1)) : undefined;
  const midnight = Math.floor(from / DAY) * DAY;
  switch (schedule.kind) {
    case 'days':
      return midnight + schedule.every * DAY + (duration ?? 24) * HOUR;
    case 'hours': {
      const k = Math.floor((from - midnight) / (schedule.every * HOUR)) + 1;
      return midnight + k * schedule.every * HOUR + (duration ?? 1) * HOUR;
    }
    case 'cron': {
      const { cron } = schedule;
      const hourly = cron.hours.length > 1;
      for (let day = midnight; day < midnight + 5 * 366 * DAY; day += DAY) {
        const d = new Date(day);
        if (!cron.months.has(d.getUTCMonth() + 1) || !cron.dayOfMonth(d) || !cron.dayOfWeek(d)) continue;
        const hour = cron.hours.find((h) => day + h * HOUR > from);
        if (hour !== undefined) return day + hour * HOUR + (duration ?? (hourly ? 1 : 24 - hour)) * HOUR;
      }
      return undefined;
    }
  }
}
