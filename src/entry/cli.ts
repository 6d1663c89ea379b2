#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { loadConfig } from '../config/load.js';
import { confirm, exitCodeFor, rotate, status, type TargetResult, type TargetStatus } from '../engine/index.js';
import { ConfigError, errorMessage, UsageError } from '../errors.js';
import { createLogger, redact } from '../log.js';
import { createRuntime } from '../runtime.js';
import { isMain } from '../util/is-main.js';

const USAGE = `Usage: twilio-key-rotator <command> [options]

Commands:
  rotate [--target NAME]… [--dry-run] [--force] [--json]
                      bring every (or each named) target one rotation further
  status [--target NAME]… [--json]
                      current key, age, next step, what the gate waits on, last error
  confirm <target>    record that every consumer of <target> uses the current key

Options:
  -c, --config PATH   configuration file (default: $TWILIO_KEY_ROTATOR_CONFIG or config/rotator.yaml)
  -t, --target NAME   only this target; repeatable
      --dry-run       print the plan and run read-only checks; change nothing
      --force         rotate now even if the current key is not due
      --json          print one JSON document on stdout
  -h, --help          this text

Exit codes: 0 done or waiting, 1 a rotation failed or is stuck, 2 bad configuration or usage.`;

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        target: { type: 'string', short: 't', multiple: true },
        'dry-run': { type: 'boolean' },
        force: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(errorMessage(err).replace(/\. To specify a positional argument.*$/s, ''));
  }
}

function formatResult(r: TargetResult): string {
  const head = `${r.target}: `;
  switch (r.kind) {
    case 'done':
      return `${head}done. Current key ${r.currentKeySid}; next rotation due ${new Date(r.nextDueAtMs).toISOString()}.`;
    case 'waiting':
      return `${head}waiting for consumers before deleting ${r.previousKeySid} (gives up ${new Date(r.deadlineMs).toISOString()}):\n${r.on.map((o) => `  - ${o}`).join('\n')}`;
    case 'stuck':
      return `${head}STUCK since ${new Date(r.sinceMs).toISOString()}; ${r.previousKeySid} is kept:\n${r.on.map((o) => `  - ${o}`).join('\n')}`;
    case 'busy':
      return `${head}nothing to do now: ${r.reason}.`;
    case 'lost-race':
      return `${head}another rotator got there first (${r.detail}); our key was revoked.`;
    case 'deferred':
      return `${head}${r.detail}; the next run resumes.`;
    case 'failed':
      return `${head}FAILED at ${r.step}: ${r.error}`;
    case 'planned':
      return [
        `${r.target}: plan (dry run, nothing changed)`,
        ...r.checks.map((c) => `  check: ${c}`),
        ...r.warnings.map((w) => `  warning: ${w}`),
        ...r.plan.map((p, i) => `  ${i + 1}. ${p}`),
      ].join('\n');
  }
}

function formatStatus(s: TargetStatus): string {
  if (s.error) return `${s.target}: cannot read state: ${s.error}`;
  const lines = [
    `${s.target}:`,
    `  current key:  ${s.currentKeySid ?? '(none yet)'}${s.ageDays !== undefined ? ` (${s.ageDays} days old)` : ''}`,
    `  next step:    ${s.step}`,
    ...(s.waitingOn.length ? [`  waiting on:   ${s.waitingOn.join('\n                ')}`] : []),
    ...(s.nextDueAt ? [`  next due:     ${s.nextDueAt}`] : []),
    ...(s.lastError ? [`  last error:   ${s.lastError}`] : []),
  ];
  return lines.join('\n');
}

/** The whole CLI as a function: returns the exit code, never calls process.exit. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const print = (text: string) => io.stdout.write(`${redact(text)}\n`);
  try {
    const { values, positionals } = parse(argv);
    const [command, ...rest] = positionals;
    if (values.help || command === 'help' || command === undefined) {
      (command === undefined && !values.help ? io.stderr : io.stdout).write(`${USAGE}\n`);
      return command === undefined && !values.help ? 2 : 0;
    }
    if (!['rotate', 'status', 'confirm'].includes(command))
      throw new UsageError(`unknown command "${command}"; expected rotate, status or confirm`);
    if (command !== 'confirm' && rest.length > 0)
      throw new UsageError(`unexpected argument "${rest[0]}" for ${command}; name targets with --target`);
    if (command !== 'rotate' && (values['dry-run'] || values.force))
      throw new UsageError(`--dry-run and --force belong to rotate, not ${command}`);
    if (command === 'confirm' && rest.length !== 1)
      throw new UsageError('confirm takes exactly one target name: twilio-key-rotator confirm <target>');

    const path = values.config ?? io.env.TWILIO_KEY_ROTATOR_CONFIG ?? 'config/rotator.yaml';
    const config = await loadConfig(path, io.env);
    const logger = createLogger({
      stream: io.stderr,
      ...(values.json ? { json: true } : {}),
      ...(io.env.LOG_FORMAT ? { format: io.env.LOG_FORMAT } : {}),
      ...(io.env.LOG_LEVEL ? { level: io.env.LOG_LEVEL } : {}),
    });
    const runtime = createRuntime(config, { logger, env: io.env });

    if (command === 'status') {
      const statuses = await status(config, runtime, values.target);
      print(values.json ? JSON.stringify({ targets: statuses }, null, 2) : statuses.map(formatStatus).join('\n'));
      return statuses.some((s) => s.error) ? 1 : 0;
    }
    if (command === 'confirm') {
      const done = await confirm(config, runtime, rest[0]!);
      print(
        values.json
          ? JSON.stringify(done)
          : `${done.target}: confirmed that consumers use key ${done.keySid} (version ${done.versionId}); the next rotate run may delete the previous key once the rest of the gate passes.`,
      );
      return 0;
    }
    const results = await rotate(config, runtime, {
      dryRun: values['dry-run'] ?? false,
      force: values.force ?? false,
      ...(values.target ? { targets: values.target } : {}),
    });
    print(
      values.json
        ? JSON.stringify({ dryRun: values['dry-run'] ?? false, targets: results }, null, 2)
        : results.map(formatResult).join('\n'),
    );
    return exitCodeFor(results);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) {
      io.stderr.write(
        `twilio-key-rotator: ${redact(err.message)}\n${err instanceof UsageError ? 'Run "twilio-key-rotator --help" for usage.\n' : ''}`,
      );
      return 2;
    }
    io.stderr.write(`twilio-key-rotator: ${redact(errorMessage(err))}\n`);
    return 1;
  }
}

if (isMain(import.meta.url)) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
}
