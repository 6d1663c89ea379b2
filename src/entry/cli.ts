#!/usr/bin/env node
import type { Writable } from 'node:stream';
import { ConfigError, errorMessage, UsageError } from '../errors.js';
import { redact } from '../redact.js';
import { isMain } from '../util/is-main.js';
import { VERSION } from '../version.js';
import { checkArguments, parse } from './cli-args.js';
import { HELP, helpFor, USAGE } from './cli-help.js';

// Start-up: this module and what it imports statically are all that `--help`, `--version` and a
// usage error load. The code of a run (configuration, logger, Twilio and store adapters, engine) is
// imported once the arguments are checked (./cli-run.ts); keep heavy imports out of here
// (test/integration/cli-startup.test.ts checks what each path loads).

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** The value `secret put` stores; the process's stdin when run as a program. */
  stdin?: () => Promise<string>;
  /** Aborts requests in flight and stops the run before its next step (SIGINT/SIGTERM as a program). */
  signal?: AbortSignal;
  /**
   * As a program: starts treating SIGINT/SIGTERM as `signal` and returns it. Called for the commands
   * that do not handle signals themselves (the daemon and `rotate --now` do).
   */
  interrupts?: () => AbortSignal;
}

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
    const [command, ...rest] = positionals;
    if (values.version) {
      print(VERSION);
      return 0;
    }
    if (command === undefined || command === 'help') {
      const topic = command === 'help' ? rest[0] : undefined;
      const text = topic && HELP[topic] ? helpFor(topic) : USAGE;
      if (command === undefined && !values.help) throw new NoCommand('no command given');
      io.stdout.write(`${text}\n`);
      return 0;
    }
    if (!Object.hasOwn(HELP, command))
      throw new UsageError(
        `unknown command "${command}"; expected rotate, status, confirm, abort, rollback, secret, alerts, daemon, audit or config`,
      );
    if (values.help) {
      io.stdout.write(`${helpFor(command)}\n`);
      return 0;
    }
    checkArguments(command, rest, values);
    const { runCommand } = await import('./cli-run.js');
    return await runCommand(command, rest, values, io);
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
  return {
    kind,
    exitCode,
    message: redact(errorMessage(err)),
    ...(err instanceof ConfigError
      ? { source: err.source, issues: err.issues.map((i) => ({ path: i.path, message: redact(i.message) })) }
      : {}),
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
