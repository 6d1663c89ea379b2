import { parseArgs } from 'node:util';
import { errorMessage, UsageError } from '../../errors.js';

/**
 * Every flag of the CLI: the command line is parsed against all of them, so a flag a command does not
 * take is named with the command that does (`--cleanup and --older-than belong to audit, not status`).
 */
const OPTIONS = {
  config: { type: 'string', short: 'c' },
  target: { type: 'string', short: 't', multiple: true },
  'dry-run': { type: 'boolean' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  store: { type: 'string' },
  replace: { type: 'boolean' },
  'replace-secondary': { type: 'boolean' },
  channel: { type: 'string' },
  'older-than': { type: 'string' },
  cleanup: { type: 'boolean' },
  now: { type: 'string' },
  overlap: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** The command line, parsed: flags by name. */
export type CliValues = ReturnType<typeof parse>['values'];
export type Flag = keyof typeof OPTIONS;

export const COMMON = `Options for every command:
  -c, --config PATH   configuration file (default: $TWILIO_KEY_ROTATOR_CONFIG or config/rotator.yaml)
      --json          print one JSON document on stdout (on an error: {"error": {...}}); logs on stderr
                      become JSON lines too
  -h, --help          help for the command`;

export const BAD_INPUT = '2 bad configuration, environment or usage (nothing was changed)';

export function parse(argv: readonly string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, tokens: true, options: OPTIONS });
  } catch (err) {
    throw new UsageError(errorMessage(err).replace(/\. To specify a positional argument.*$/s, ''));
  }
  const { tokens, ...rest } = parsed;
  refuseRepeats(tokens);
  return rest;
}

/**
 * A flag that takes one value, given twice, is refused: parseArgs keeps the last one, so
 * `rotate --now k --now tok` rotated only "tok" and left the leaked key alone.
 */
function refuseRepeats(tokens: readonly { kind: string; name?: string; rawName?: string }[]): void {
  const seen = new Map<string, string>();
  for (const t of tokens) {
    if (t.kind !== 'option' || t.name === undefined) continue;
    const option = OPTIONS[t.name as Flag] as { type: string; multiple?: boolean } | undefined;
    if (!option || option.type !== 'string' || option.multiple) continue;
    const earlier = seen.get(t.name);
    if (earlier !== undefined) {
      const what = `--${t.name} takes one value and was given twice (${earlier}, ${t.rawName ?? `--${t.name}`})`;
      throw new UsageError(`${what}; give it once (run the command again for another value)`);
    }
    seen.set(t.name, t.rawName ?? `--${t.name}`);
  }
}

/** Flags that belong to some commands only, in the order they are checked, with the commands they belong to. */
const OWNED: readonly [readonly Flag[], string][] = [
  [['now', 'overlap'], '--now and --overlap belong to rotate'],
  [['cleanup', 'older-than'], '--cleanup and --older-than belong to audit'],
  [['dry-run', 'force', 'replace-secondary'], '--dry-run, --force and --replace-secondary belong to rotate'],
  [['store', 'replace'], '--store and --replace belong to secret put'],
  [['target'], '--target belongs to rotate and status'],
  [['channel'], '--channel belongs to alerts test'],
];

/** Refuses a flag `command` does not take, naming the command that takes it, or in the command's `instead` words. */
export function refuseForeignFlags(
  command: string,
  takes: readonly Flag[],
  values: CliValues,
  instead: Partial<Record<Flag, string>> = {},
): void {
  for (const [flags, owner] of OWNED)
    for (const flag of flags)
      if (!takes.includes(flag) && values[flag] !== undefined) {
        // A command that takes part of a group (rollback takes --dry-run) names only the flag it refuses.
        const partly = flags.some((f) => takes.includes(f));
        const whose = partly ? `--${flag} belongs to ${owner.split(' belong to ')[1]}` : owner;
        throw new UsageError(instead[flag] ?? `${whose}, not ${command}`);
      }
}

/** Why a command that names its target as an argument refuses --target. */
export const targetIsAnArgument = (command: string) =>
  `--target belongs to rotate and status; ${command} names what it acts on as an argument`;

export function overlapSeconds(value: string | undefined): number {
  const seconds = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || seconds > 3600) {
    const got = `--overlap must be a whole number of seconds from 0 to 3600, got "${value}"`;
    throw new UsageError(`${got}; a longer overlap is not an emergency: use the normal gate`);
  }
  return seconds;
}

/** --older-than: whole days, 1 to 3650; 90 when not given. */
export function olderThanDays(value: string | undefined): number {
  if (value === undefined) return 90;
  const days = Number(value);
  if (!/^\d+$/.test(value) || days < 1 || days > 3650)
    throw new UsageError(`--older-than must be a whole number of days from 1 to 3650, got "${value}"`);
  return days;
}
