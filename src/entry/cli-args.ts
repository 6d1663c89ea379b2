import { parseArgs } from 'node:util';
import { errorMessage, UsageError } from '../errors.js';

/** The command line, parsed: flags by name, then the command and its arguments. */
export type CliValues = ReturnType<typeof parse>['values'];

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

export function parse(argv: readonly string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      tokens: true,
      options: OPTIONS,
    });
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
    const option = OPTIONS[t.name as keyof typeof OPTIONS] as { type: string; multiple?: boolean } | undefined;
    if (!option || option.type !== 'string' || option.multiple) continue;
    const earlier = seen.get(t.name);
    if (earlier !== undefined) {
      const what = `--${t.name} takes one value and was given twice (${earlier}, ${t.rawName ?? `--${t.name}`})`;
      throw new UsageError(`${what}; give it once (run the command again for another value)`);
    }
    seen.set(t.name, t.rawName ?? `--${t.name}`);
  }
}

/** Every flag and argument belongs to the command it is given to; anything else is a usage error. */
export function checkArguments(command: string, rest: string[], values: CliValues): void {
  if (values.now !== undefined || values.overlap !== undefined) checkNow(command, values);
  if (command === 'audit' && values['dry-run'] && !values.cleanup)
    throw new UsageError('--dry-run on audit goes with --cleanup; audit alone changes nothing');
  if (command !== 'audit' && (values.cleanup || values['older-than'] !== undefined))
    throw new UsageError(`--cleanup and --older-than belong to audit, not ${command}`);
  if (
    command !== 'rotate' &&
    (values.force || values['replace-secondary'] || (values['dry-run'] && !['audit', 'rollback'].includes(command)))
  )
    throw new UsageError(`--dry-run, --force and --replace-secondary belong to rotate, not ${command}`);
  // Without a name it deleted the foreign secondary of every Auth Token target at once.
  if (values['replace-secondary'] && !values.target && values.now === undefined)
    throw new UsageError(
      '--replace-secondary needs --target NAME (or --now NAME): it deletes a secondary Auth Token someone else made, so name the one target it is meant for',
    );
  if (command !== 'secret' && (values.store !== undefined || values.replace))
    throw new UsageError(`--store and --replace belong to secret put, not ${command}`);
  if (['confirm', 'abort', 'rollback', 'secret', 'alerts'].includes(command) && values.target)
    throw new UsageError(`--target belongs to rotate and status; ${command} names what it acts on as an argument`);
  if (command !== 'alerts' && values.channel !== undefined)
    throw new UsageError(`--channel belongs to alerts test, not ${command}`);
  if (command === 'config') {
    if (rest[0] !== 'check' || rest.length !== 1 || values.target)
      throw new UsageError('usage: twilio-key-rotator config check [--config PATH] [--json]');
    return;
  }
  if (command === 'alerts') {
    if (rest[0] !== 'test' || rest.length !== 1)
      throw new UsageError('usage: twilio-key-rotator alerts test [--channel NAME]');
    return;
  }
  if (command === 'audit') {
    if (values.target)
      throw new UsageError('--target belongs to rotate and status; audit covers every configured account');
    olderThanDays(values['older-than']);
  }
  if (command === 'daemon' && values.target)
    throw new UsageError('--target belongs to rotate and status; the daemon runs every target not paused');
  if (command === 'confirm' || command === 'abort' || command === 'rollback') {
    if (rest.length !== 1)
      throw new UsageError(`${command} takes exactly one target name: twilio-key-rotator ${command} <target>`);
    return;
  }
  if (command === 'secret') {
    if (rest[0] !== 'put' || rest.length !== 2)
      throw new UsageError('usage: twilio-key-rotator secret put <secretId> --store file|aws [--replace] < value');
    if (values.store !== 'file' && values.store !== 'aws')
      throw new UsageError('secret put needs --store file or --store aws');
    return;
  }
  if (rest.length > 0)
    throw new UsageError(`unexpected argument "${rest[0]}" for ${command}; name targets with --target`);
}

/** rotate --now TARGET --overlap SECONDS, and nothing that contradicts it. */
function checkNow(command: string, values: CliValues): void {
  if (command !== 'rotate') throw new UsageError(`--now and --overlap belong to rotate, not ${command}`);
  if (values.now === undefined) throw new UsageError('--overlap goes with --now TARGET');
  if (values.target) throw new UsageError('--now names its one target; leave out --target');
  if (values['dry-run'])
    throw new UsageError(
      `--now changes things at once and has no dry run; "rotate --dry-run --force --target ${values.now}" shows the rotation`,
    );
  if (values.force) throw new UsageError('--now already forces the rotation; leave out --force');
  if (values.overlap === undefined)
    throw new UsageError(
      '--now needs --overlap SECONDS (0-3600): how long the old credential keeps working once the new one is in place; consumers that have not switched by then lose access',
    );
  overlapSeconds(values.overlap);
}

export function overlapSeconds(value: string | undefined): number {
  const seconds = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || seconds > 3600)
    throw new UsageError(
      `--overlap must be a whole number of seconds from 0 to 3600, got "${value}"; a longer overlap is not an emergency: use the normal gate`,
    );
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
