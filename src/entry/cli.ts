#!/usr/bin/env node
import { ConfigError, errorMessage, UsageError } from '../errors.js';
import { redact } from '../redact.js';
import { isMain } from '../util/is-main.js';
import { VERSION } from '../version.js';
import { abort } from './cli/abort.js';
import { alerts } from './cli/alerts.js';
import { audit } from './cli/audit.js';
import type { CliIo, Command } from './cli/command.js';
import { config } from './cli/config.js';
import { confirm } from './cli/confirm.js';
import { daemon } from './cli/daemon.js';
import { COMMON, parse, refuseForeignFlags } from './cli/flags.js';
import { rollback } from './cli/rollback.js';
import { rotate } from './cli/rotate.js';
import { secret } from './cli/secret.js';
import { status } from './cli/status.js';

export type { CliIo } from './cli/command.js';

// Start-up: `--help`, `--version` and a usage error load only this module and the commands' declarations
// (./cli/*.ts); what a run needs is imported once the arguments are checked, by ./cli/session.ts and each
// command's `run` (test/integration/cli-startup.test.ts checks what each path loads).

/** Every command, in the order of the top-level usage. */
export const COMMANDS: Record<string, Command> = {
  rotate,
  status,
  confirm,
  abort,
  rollback,
  daemon,
  audit,
  secret,
  alerts,
  config,
};

const EXPECTED = 'expected rotate, status, confirm, abort, rollback, secret, alerts, daemon, audit or config';

const helpFor = (command: Command): string => `${command.help}\n\n${COMMON}\n\n${command.exitCodes}`;

const USAGE = `Usage: twilio-key-rotator <command> [options]

Commands:
${Object.values(COMMANDS)
  .flatMap((c) => c.usage.map(([synopsis, what]) => `  ${synopsis.padEnd(48)}${what}`))
  .join('\n')}

${COMMON}
  -V, --version       print the version

Exit codes: 0 done, 1 a target needs a person or a run failed, 2 bad configuration or usage,
130/143 interrupted; "<command> --help" gives each command's.
"twilio-key-rotator <command> --help" describes one command.`;

/** No command at all: the usage text is the message. */
class NoCommand extends UsageError {}

/** The whole CLI as a function: returns the exit code, never calls process.exit. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const print = (text: string) => io.stdout.write(`${redact(text)}\n`);
  // Before the arguments are parsed (a usage error may stop that), --json anywhere counts.
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parse(argv);
    json = values.json ?? false;
    const [name, ...rest] = positionals;
    if (values.version) {
      print(VERSION);
      return 0;
    }
    if (name === undefined || name === 'help') {
      const topic = name === 'help' ? rest[0] : undefined;
      if (name === undefined && !values.help) throw new NoCommand('no command given');
      io.stdout.write(`${topic !== undefined && Object.hasOwn(COMMANDS, topic) ? helpFor(COMMANDS[topic]!) : USAGE}\n`);
      return 0;
    }
    if (!Object.hasOwn(COMMANDS, name)) throw new UsageError(`unknown command "${name}"; ${EXPECTED}`);
    const command = COMMANDS[name]!;
    if (values.help) {
      io.stdout.write(`${helpFor(command)}\n`);
      return 0;
    }
    refuseForeignFlags(name, command.flags, values, command.refuses);
    command.check(rest, values);
    const { openSession } = await import('./cli/session.js');
    return await command.run({ rest, values, io, print, session: openSession(values, io) });
  } catch (err) {
    const code = err instanceof ConfigError || err instanceof UsageError ? 2 : 1;
    if (json) print(JSON.stringify({ error: describeError(err, code) }, null, 2));
    if (err instanceof NoCommand) io.stderr.write(`${USAGE}\n`);
    else if (err instanceof UsageError)
      io.stderr.write(`twilio-key-rotator: ${redact(err.message)}\nRun "twilio-key-rotator --help" for usage.\n`);
    else io.stderr.write(`twilio-key-rotator: ${redact(errorMessage(err))}\n`);
    return code;
  }
}

/**
 * What `--json` prints on stdout when a command cannot run: one document, `{ "error": … }`, so a
 * script reading stdout gets JSON whatever happened (README "Usage"). The human message still goes
 * to stderr.
 */
function describeError(err: unknown, exitCode: number) {
  const kind = err instanceof UsageError ? 'usage' : err instanceof ConfigError ? 'config' : 'runtime';
  const issues = (e: ConfigError) => e.issues.map((i) => ({ path: i.path, message: redact(i.message) }));
  return {
    kind,
    exitCode,
    message: redact(errorMessage(err)),
    ...(err instanceof ConfigError ? { source: err.source, issues: issues(err) } : {}),
  };
}

/** The exit status of a process ended by `signal`, as a shell reports it (128 + its number). */
const INTERRUPTED: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

if (isMain(import.meta.url)) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // SIGINT/SIGTERM abort the requests in flight and stop the run before its next step; a request
  // cut short may or may not have taken effect, like a crash, and the next run resumes from there.
  // A second signal ends the process at once.
  const interrupt = new AbortController();
  let interruptedBy: string | undefined;
  const interrupts = () => {
    for (const name of Object.keys(INTERRUPTED))
      process.on(name, () => {
        if (interruptedBy !== undefined) process.exit(INTERRUPTED[name]);
        interruptedBy = name;
        process.stderr.write(`twilio-key-rotator: ${name}: stopping after the request in flight is cut\n`);
        interrupt.abort(new Error(`interrupted by ${name}`));
      });
    return interrupt.signal;
  };
  const code = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    interrupts,
  });
  process.exitCode = interruptedBy !== undefined ? INTERRUPTED[interruptedBy] : code;
}
