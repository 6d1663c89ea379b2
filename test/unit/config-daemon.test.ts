import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { describeWindow, isInsideWindow } from '../../src/core/window.js';
import { ConfigError } from '../../src/errors.js';

const AC = `AC${'a'.repeat(32)}`;

function base(): Record<string, any> {
  return {
    stores: { file: { path: './secrets.json' } },
    targets: [
      {
        name: 'app',
        accountSid: AC,
        keyType: 'standard',
        friendlyNamePrefix: 'rot-app-',
        secret: { store: 'file', secretId: 'twilio/app' },
        admin: { store: 'file', secretId: 'twilio/admin' },
      },
      { name: 'token', kind: 'auth-token', accountSid: AC, secret: { store: 'file', secretId: 'twilio/token' } },
    ],
  };
}

function issuesOf(mutate: (c: Record<string, any>) => void): { path: string; message: string }[] {
  const cfg = base();
  mutate(cfg);
  try {
    parseConfig(stringify(cfg));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).issues];
  }
  throw new Error('expected the configuration to be rejected');
}

describe('configuration: the daemon, schedules, windows, pause', () => {
  it('loads a configuration without any of them, with the daemon defaults', () => {
    const cfg = parseConfig(stringify(base()));
    expect(cfg.daemon).toEqual({ schedule: '*/15 * * * *', timezone: 'UTC', runOnStart: true, watchConfig: false });
    expect(cfg.targets.map((t) => [t.paused, t.schedule, t.window])).toEqual([
      [false, undefined, undefined],
      [false, undefined, undefined],
    ]);
  });

  it('converts schedules, windows (timezone defaulting to the daemon) and pause, for both kinds', () => {
    const cfg = base();
    cfg.daemon = { schedule: '0 * * * *', timezone: 'Europe/Berlin', health: { port: 9464 } };
    Object.assign(cfg.targets[0], {
      schedule: '*/5 * * * *',
      window: { days: ['sat', 'sun'], start: '22:00', end: '02:00' },
    });
    Object.assign(cfg.targets[1], { paused: true, window: { start: '01:00', end: '03:30', timezone: 'UTC' } });
    const parsed = parseConfig(stringify(cfg));
    expect(parsed.daemon).toMatchObject({ schedule: '0 * * * *', health: { port: 9464, host: '127.0.0.1' } });
    expect(parsed.targets[0]).toMatchObject({ schedule: '*/5 * * * *', paused: false });
    expect(describeWindow(parsed.targets[0]!.window!)).toBe('sun,sat 22:00-02:00 Europe/Berlin');
    expect(parsed.targets[1]).toMatchObject({ paused: true });
    expect(describeWindow(parsed.targets[1]!.window!)).toBe('daily 01:00-03:30 UTC');
  });

  const cases: [string, (c: Record<string, any>) => void, string, RegExp][] = [
    [
      'a cron expression node-cron refuses',
      (c) => (c.daemon = { schedule: '61 * * * *' }),
      'daemon.schedule',
      /minute/,
    ],
    ['a cron expression with too few fields', (c) => (c.targets[0].schedule = '* *'), 'targets.0.schedule', /5 or 6/],
    ['an unknown timezone', (c) => (c.daemon = { timezone: 'Mars/Olympus' }), 'daemon.timezone', /IANA timezone/],
    ['a health port out of range', (c) => (c.daemon = { health: { port: 70000 } }), 'daemon.health.port', /65535/],
    ['a health section without a port', (c) => (c.daemon = { health: {} }), 'daemon.health.port', /is required/],
    ['an unknown daemon key', (c) => (c.daemon = { shedule: '* * * * *' }), 'daemon', /unknown key "shedule"/],
    [
      'a window with no length',
      (c) => (c.targets[0].window = { start: '02:00', end: '02:00' }),
      'targets.0.window.end',
      /must differ/,
    ],
    [
      'a window time that is not HH:MM',
      (c) => (c.targets[0].window = { start: '2am', end: '04:00' }),
      'targets.0.window.start',
      /HH:MM/,
    ],
    [
      'a window day that is not a weekday',
      (c) => (c.targets[1].window = { days: ['someday'], start: '01:00', end: '02:00' }),
      'targets.1.window.days.0',
      /one of sun, mon/,
    ],
    [
      'a window in an unknown timezone',
      (c) => (c.targets[0].window = { start: '01:00', end: '02:00', timezone: 'Nowhere' }),
      'targets.0.window.timezone',
      /IANA/,
    ],
    ['paused as text', (c) => (c.targets[0].paused = 'yes'), 'targets.0.paused', /true or false/],
  ];

  it.each(cases)('rejects %s, naming the field', (_name, mutate, path, message) => {
    const issues = issuesOf(mutate);
    expect(
      issues.find((i) => i.path === path && message.test(i.message)),
      `issues were: ${JSON.stringify(issues)}`,
    ).toBeDefined();
  });
});

describe('maintenance windows', () => {
  const at = (iso: string) => Date.parse(iso);
  const window = (days: number[], start: string, end: string, timezone = 'UTC') => ({
    days,
    startMinute: Number(start.slice(0, 2)) * 60 + Number(start.slice(3)),
    endMinute: Number(end.slice(0, 2)) * 60 + Number(end.slice(3)),
    timezone,
  });

  it('is open from start (inclusive) to end (exclusive) on its days only', () => {
    const sat = window([6], '02:00', '06:00');
    expect(isInsideWindow(sat, at('2026-11-28T01:59:59Z'))).toBe(false); // Saturday
    expect(isInsideWindow(sat, at('2026-11-28T02:00:00Z'))).toBe(true);
    expect(isInsideWindow(sat, at('2026-11-28T05:59:00Z'))).toBe(true);
    expect(isInsideWindow(sat, at('2026-11-28T06:00:00Z'))).toBe(false);
    expect(isInsideWindow(sat, at('2026-11-29T03:00:00Z'))).toBe(false); // Sunday
  });

  it('runs past midnight into the day after an opening day', () => {
    const friNight = window([5], '22:00', '02:00');
    expect(isInsideWindow(friNight, at('2026-11-27T23:00:00Z'))).toBe(true); // Friday evening
    expect(isInsideWindow(friNight, at('2026-11-28T01:30:00Z'))).toBe(true); // Saturday early
    expect(isInsideWindow(friNight, at('2026-11-28T23:00:00Z'))).toBe(false); // Saturday evening
    expect(isInsideWindow(friNight, at('2026-11-27T01:30:00Z'))).toBe(false); // Friday early: Thursday is closed
  });

  it('reads the wall clock of its timezone, daylight saving included', () => {
    const berlin = window([0, 1, 2, 3, 4, 5, 6], '02:00', '03:00', 'Europe/Berlin');
    expect(isInsideWindow(berlin, at('2026-07-01T00:30:00Z'))).toBe(true); // 02:30 CEST
    expect(isInsideWindow(berlin, at('2026-12-01T00:30:00Z'))).toBe(false); // 01:30 CET
    expect(isInsideWindow(berlin, at('2026-12-01T01:30:00Z'))).toBe(true); // 02:30 CET
  });
});
