import type { Writable } from 'node:stream';
import { UsageError } from '../../errors.js';
import type { CliValues, Flag } from './flags.js';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** The value `secret put` stores; the process's stdin when run as a program. */
  stdin?: () => Promise<string>;
  /** Aborts requests in flight and stops the run before its next step. */
  signal?: AbortSignal;
  /** As a program: SIGINT/SIGTERM as `signal`, for commands that do not handle signals themselves. */
  interrupts?: () => AbortSignal;
}

/** What a command's run opens (./session.ts), loaded only for a run. */
export type Session = ReturnType<typeof import('./session.js').openSession>;

/** What a command's `run` is given: its arguments, checked, and the session. */
export interface Run {
  rest: string[];
  values: CliValues;
  io: CliIo;
  /** Writes a line to stdout, redacted. */
  print: (text: string) => void;
  session: Session;
}

/**
 * One CLI command, declared in one place: its lines of the top-level usage, its help and exit codes,
 * the flags it takes (besides --config, --json and --help), the checks of its arguments, and its run,
 * which alone imports what a run needs (../cli.ts "Start-up").
 */
export interface Command {
  /** Its lines in the top-level usage: [synopsis, what it does]. */
  usage: readonly (readonly [string, string])[];
  help: string;
  exitCodes: string;
  flags: readonly Flag[];
  /** Its own words for a flag it refuses (else "--X belongs to Y, not <command>"). */
  refuses?: Partial<Record<Flag, string>>;
  /** Refuses bad arguments with a UsageError, before anything is loaded or read. */
  check: (rest: string[], values: CliValues) => void;
  run: (run: Run) => Promise<number>;
}

/** The check of `confirm` and `abort`: one target name, as the argument. */
export function oneTargetName(command: string, rest: string[]): void {
  if (rest.length !== 1)
    throw new UsageError(`${command} takes exactly one target name: twilio-key-rotator ${command} <target>`);
}

export function noArguments(command: string, rest: string[]): void {
  if (rest.length > 0)
    throw new UsageError(`unexpected argument "${rest[0]}" for ${command}; name targets with --target`);
}
