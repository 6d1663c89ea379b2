#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { loadConfig } from '../config/load.js';
import type { StoreName } from '../config/types.js';
import { sendTestAlerts } from '../engine/alerts.js';
import { audit } from '../engine/audit.js';
import { abort, confirm, rotate, status, type TargetStatus } from '../engine/commands.js';
import { rotateNow } from '../engine/emergency.js';
import { exitCodeFor, type TargetResult } from '../core/outcome.js';
import { putSecret } from '../engine/secret-put.js';
import { ConfigError, errorMessage, UsageError } from '../errors.js';
import { createLogger, logsAreJson } from '../log.js';
import { redact } from '../redact.js';
import { createRuntime } from '../wiring.js';
import { isMain } from '../util/is-main.js';
import { runDaemon } from './daemon/daemon.js';
import { auditJson, auditText } from './format-audit.js';
import { VERSION } from '../version.js';

const COMMON = `Options for every command:
  -c, --config PATH   configuration file (default: $TWILIO_KEY_ROTATOR_CONFIG or config/rotator.yaml)
      --json          print one JSON document on stdout; logs on stderr become JSON lines too
  -h, --help          help for the command

Exit codes: 0 done or waiting, 1 a rotation failed or a target needs a person, 2 bad configuration or usage,
130/143 interrupted by SIGINT/SIGTERM (requests in flight were cut; the next run resumes).
An alert that could not be delivered is logged; it never changes the exit code.`;

const HELP: Record<string, string> = {
  rotate: `Usage: twilio-key-rotator rotate [--target NAME]… [--dry-run] [--force] [--replace-secondary] [--json]
       twilio-key-rotator rotate --now TARGET --overlap SECONDS [--replace-secondary] [--json]

Brings every target (or each named one) one rotation further. API keys: creates the secret on the
first run, rotates a due key, re-checks a waiting consumer gate, deletes the old key once the gate
passes. Auth Tokens: creates a secondary token, waits for the consumer gate, promotes it, waits the
propagation delay, checks that the old token is refused.

  -t, --target NAME       only this target; repeatable
      --dry-run           print the plan and run read-only checks; change nothing
      --force             rotate now even if the current credential is not due
      --replace-secondary delete a secondary Auth Token this tool did not create, then rotate
                          (whoever made it loses it: find out first)
      --now TARGET        a leaked credential: rotate TARGET at once and retire the old credential
                          after --overlap SECONDS (0-3600), skipping probes, confirmation, the
                          window and the pause. Waits until done; logs every stage at level error.
                          API key: the old key is deleted after the overlap. Auth Token: the new
                          token is promoted after the overlap and the old one dies at that moment.
      --overlap SECONDS   with --now: how long the old credential may keep working (required)`,
  status: `Usage: twilio-key-rotator status [--target NAME]… [--json]

Read-only. Per target: current key and age, what the next rotate would do, what the gate waits on,
the last error. Exits 1 when a target is stuck, failed its last run, or its current key is gone.

  -t, --target NAME   only this target; repeatable`,
  confirm: `Usage: twilio-key-rotator confirm <target> [--json]

Records that every consumer of <target> uses the credential the gate waits for (gate.manualConfirm):
the current key of an API-key target; the pending token of an Auth Token target, before its promotion.`,
  abort: `Usage: twilio-key-rotator abort <target> [--json]

Backs out an Auth Token rotation before its promotion: deletes the secondary token this tool created
and drops it from AWSPENDING. The primary token is untouched. After a promotion there is nothing to
back out (the old token is dead); rotate finishes instead.`,
  alerts: `Usage: twilio-key-rotator alerts test [--channel NAME] [--json]

Sends a clearly marked test alert to every configured alert channel (alerts.channels), or to the one
named, and says for each whether it was delivered. A PagerDuty test is triggered and resolved at once.
Exits 1 when a channel could not be reached.

      --channel NAME  only this channel`,
  daemon: `Usage: twilio-key-rotator daemon [--config PATH] [--json]

Runs until SIGTERM or SIGINT: reconciles every target on its cron schedule (daemon.schedule, or the
target's own schedule), one run at a time, with the same steps, logs and results as rotate. A tick
that finds the target's previous run still going is skipped. Paused targets are left alone; a due
rotation starts only inside the target's maintenance window. SIGTERM/SIGINT finish the step in
flight and start nothing new (a second one exits at once); SIGHUP reloads the configuration (so
does a change to the file with daemon.watchConfig) and a bad one is refused with every problem
named, the running one kept. With daemon.health: GET /healthz, /readyz and /metrics.`,
  audit: `Usage: twilio-key-rotator audit [--older-than DAYS] [--cleanup [--dry-run]] [--json]

Lists every API key on each configured account, classified: managed (current, pending or previous
of a target), admin (an admin credential of this configuration), twilio-managed (made by Twilio,
e.g. "Studio API Key"), rotator-orphan (made by the rotator for a target, stored nowhere),
unmanaged (nobody here accounts for it). Marks keys older than DAYS. Read-only unless --cleanup.

      --older-than DAYS  the age that counts as old (default 90)
      --cleanup          revoke rotator orphans, and nothing else: never a managed, admin,
                         Twilio-made or unmanaged key (exactly what each target's next run would sweep)
      --dry-run          with --cleanup: say what would be revoked; change nothing

Exits 1 when an account cannot be read whole (then nothing on it is cleaned up) or a revocation failed.`,
  secret: `Usage: twilio-key-rotator secret put <secretId> --store file|aws [--replace] [--json] < value.json

Stores a value the configuration names — a target's admin credential or the key it rotates — after
checking its shape. The value is read from stdin, never from the command line, and never printed.

      --store file|aws  which configured store holds the secret
      --replace         replace a current value (the old one stays as AWSPREVIOUS)`,
};

const USAGE = `Usage: twilio-key-rotator <command> [options]

Commands:
  rotate [--target NAME]… [--dry-run] [--force]   bring every (or each named) target one rotation further
  rotate --now TARGET --overlap SECONDS           a leaked credential: replace it now, retire it after SECONDS
  status [--target NAME]…                         current key, age, next step, what the gate waits on
  confirm <target>                                record that every consumer uses the new credential
  abort <target>                                  back out an Auth Token rotation before its promotion
  daemon                                          run on a schedule until stopped (health on daemon.health)
  audit [--cleanup [--dry-run]]                   every key on the accounts, classified; revoke rotator orphans
  secret put <secretId> --store file|aws          store an admin credential or key from stdin
  alerts test [--channel NAME]                    send a test alert to every (or the named) channel

${COMMON}
  -V, --version       print the version

"twilio-key-rotator <command> --help" describes one command.`;

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
      },
    });
  } catch (err) {
    throw new UsageError(errorMessage(err).replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** How a result's credentials are named in words: keys by SID, tokens by fingerprint. */
const noun = (credential: string) => (credential === 'auth-token' ? 'token' : 'key');

function formatResult(r: TargetResult): string {
  const head = `${r.target}: `;
  const what = noun(r.credential);
  switch (r.kind) {
    case 'done':
      return `${head}done. Current ${what} ${r.current}; next rotation due ${new Date(r.nextDueAtMs).toISOString()}.`;
    case 'waiting':
      return `${head}${r.credential === 'auth-token' ? `waiting; ${r.kept} stays the current token` : `waiting for consumers before deleting ${r.kept}`} (gives up ${new Date(r.deadlineMs).toISOString()}):\n${r.on.map((o) => `  - ${o}`).join('\n')}`;
    case 'stuck':
      return `${head}STUCK since ${new Date(r.sinceMs).toISOString()}${r.kept ? `; ${r.kept} is kept` : ''}; a person must act:\n${r.on.map((o) => `  - ${o}`).join('\n')}`;
    case 'busy':
      return `${head}nothing to do now: ${r.reason}.`;
    case 'lost-race':
      return `${head}another rotator got there first (${r.detail}); what this run made was revoked.`;
    case 'deferred':
      if (r.reason === 'paused') return `${head}${r.detail}; name it with --target to rotate it anyway.`;
      if (r.reason === 'window') return `${head}${r.detail}; --force starts it now.`;
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

/**
 * A result as `--json` prints it. API-key results keep the field names of 0.1.0 (`currentKeySid`,
 * `previousKeySid`) beside the kind-neutral ones, for scripts written against them. What the run saw
 * for alerts and metrics (`seen`) stays inside.
 */
function forJson(result: TargetResult): unknown {
  const { seen: _seen, ...r } = result;
  if (r.credential !== 'api-key') return r;
  if (r.kind === 'done') return { ...r, currentKeySid: r.current };
  if (r.kind === 'waiting' || (r.kind === 'stuck' && r.kept)) return { ...r, previousKeySid: r.kept };
  return r;
}

function formatStatus(s: TargetStatus): string {
  if (s.error) return `${s.target}: cannot read state: ${s.error}`;
  const lines = [
    `${s.target}:${s.attention ? '   ** needs attention **' : ''}`,
    `  current ${noun(s.kind).padEnd(6)}${s.current ?? '(none yet)'}${s.ageDays !== undefined ? ` (${s.ageDays} days old)` : ''}`,
    `  next step:    ${s.step}`,
    ...(s.next ? [`  next rotate:  ${s.next}`] : []),
    ...(s.waitingOn.length ? [`  waiting on:   ${s.waitingOn.join('\n                ')}`] : []),
    ...(s.nextDueAt ? [`  next due:     ${s.nextDueAt}`] : []),
    ...(s.window ? [`  window:       ${s.window.description} (${s.window.open ? 'open now' : 'closed now'})`] : []),
    ...(s.paused ? ['  paused:       automatic rotation is off (paused: true)'] : []),
    ...(s.lastError ? [`  last error:   ${s.lastError}`] : []),
    ...(s.warnings ?? []).map((w) => `  warning:      ${w}`),
    ...(s.openProblems ?? []).map(
      (p) =>
        `  alert open:   ${p.problem} since ${p.since}${p.notifiedAt ? `, notified ${p.notifiedAt}` : ', not yet delivered'}`,
    ),
  ];
  return lines.join('\n');
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UsageError(
      'secret put reads the value from stdin and will not echo it on a terminal; pipe it in, e.g. twilio-key-rotator secret put twilio/admin --store file < admin.json',
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The whole CLI as a function: returns the exit code, never calls process.exit. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const print = (text: string) => io.stdout.write(`${redact(text)}\n`);
  try {
    const { values, positionals } = parse(argv);
    const [command, ...rest] = positionals;
    if (values.version) {
      print(VERSION);
      return 0;
    }
    if (command === undefined || command === 'help') {
      const topic = command === 'help' ? rest[0] : undefined;
      const text = topic && HELP[topic] ? `${HELP[topic]}\n\n${COMMON}` : USAGE;
      (command === undefined && !values.help ? io.stderr : io.stdout).write(`${text}\n`);
      return command === undefined && !values.help ? 2 : 0;
    }
    if (!Object.hasOwn(HELP, command))
      throw new UsageError(
        `unknown command "${command}"; expected rotate, status, confirm, abort, secret, alerts, daemon or audit`,
      );
    if (values.help) {
      io.stdout.write(`${HELP[command]}\n\n${COMMON}\n`);
      return 0;
    }
    checkArguments(command, rest, values);

    const path = values.config ?? io.env.TWILIO_KEY_ROTATOR_CONFIG ?? 'config/rotator.yaml';
    const logger = createLogger({
      stream: io.stderr,
      ...(values.json ? { json: true } : {}),
      ...(io.env.LOG_FORMAT ? { format: io.env.LOG_FORMAT } : {}),
      ...(io.env.LOG_LEVEL ? { level: io.env.LOG_LEVEL } : {}),
    });
    if (command === 'daemon') return await runDaemon({ configPath: path, env: io.env, logger });
    const signal = io.signal ?? (values.now === undefined ? io.interrupts?.() : undefined);
    const config = await loadConfig(path, io.env);
    // Metrics (CloudWatch EMF) ride with JSON logs on stderr, where a log agent picks them up.
    const jsonLogs = logsAreJson({
      stream: io.stderr,
      format: io.env.LOG_FORMAT,
      ...(values.json ? { json: true } : {}),
    });
    const runtime = createRuntime(config, {
      logger,
      env: io.env,
      ...(signal ? { signal } : {}),
      ...(jsonLogs ? { writeMetrics: (line: string) => void io.stderr.write(line) } : {}),
    });

    if (command === 'alerts') {
      const sent = await sendTestAlerts(config, runtime, values.channel);
      print(
        values.json
          ? JSON.stringify({ channels: sent }, null, 2)
          : sent.map((d) => (d.delivered ? `${d.channel} (${d.type}): test alert delivered` : `${d.error}`)).join('\n'),
      );
      return sent.every((d) => d.delivered) ? 0 : 1;
    }

    if (command === 'secret') {
      const value = await (io.stdin ?? readStdin)();
      const stored = await putSecret(config, runtime, {
        secretId: rest[1]!,
        store: values.store as StoreName,
        value,
        replace: values.replace ?? false,
      });
      print(
        values.json
          ? JSON.stringify(stored)
          : `stored ${stored.shape} in secret "${stored.secretId}" (${stored.store} store) as version ${stored.versionId}, AWSCURRENT${stored.replaced ? '; the value it replaced is AWSPREVIOUS' : ''}.`,
      );
      return 0;
    }
    if (command === 'status') {
      const statuses = await status(config, runtime, values.target);
      print(values.json ? JSON.stringify({ targets: statuses }, null, 2) : statuses.map(formatStatus).join('\n'));
      return statuses.some((s) => s.attention) ? 1 : 0;
    }
    if (command === 'confirm') {
      const done = await confirm(config, runtime, rest[0]!);
      print(
        values.json
          ? JSON.stringify(done)
          : `${done.target}: confirmed that consumers use ${done.ref} (version ${done.versionId}); the next rotate run may go on once the rest of the gate passes.`,
      );
      return 0;
    }
    if (command === 'audit') {
      const report = await audit(config, runtime, {
        olderThanDays: olderThanDays(values['older-than']),
        ...(values.cleanup ? { cleanup: values['dry-run'] ? ('dry-run' as const) : ('revoke' as const) } : {}),
      });
      print(values.json ? JSON.stringify(auditJson(report), null, 2) : auditText(report, runtime.now()));
      return report.accounts.some((a) => a.errors.length > 0) ? 1 : 0;
    }
    if (command === 'abort') {
      const done = await abort(config, runtime, rest[0]!);
      print(values.json ? JSON.stringify(done) : `${done.target}: ${done.detail}.`);
      return 0;
    }
    if (values.now !== undefined) {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const now = await rotateNow(config, runtime, values.now, {
          overlapMs: overlapSeconds(values.overlap) * 1000,
          replaceSecondary: values['replace-secondary'] ?? false,
          stop: stop.signal,
          sleep,
        });
        print(
          values.json
            ? JSON.stringify(
                { now: true, finished: now.finished, target: forJson(now.result), steps: now.steps },
                null,
                2,
              )
            : [
                ...now.steps.map((s) => `  ${s.step}: ${s.detail}`),
                formatResult(now.result),
                now.finished
                  ? `${now.result.target}: emergency rotation finished.`
                  : `${now.result.target}: emergency rotation did NOT finish; run the same command again.`,
              ].join('\n'),
        );
        return now.finished ? 0 : 1;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    }
    const results = await rotate(config, runtime, {
      dryRun: values['dry-run'] ?? false,
      force: values.force ?? false,
      replaceSecondary: values['replace-secondary'] ?? false,
      ...(values.target ? { targets: values.target } : {}),
      ...(signal ? { signal } : {}),
    });
    print(
      values.json
        ? JSON.stringify({ dryRun: values['dry-run'] ?? false, targets: results.map(forJson) }, null, 2)
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

/** Every flag and argument belongs to the command it is given to; anything else is a usage error. */
function checkArguments(command: string, rest: string[], values: ReturnType<typeof parse>['values']): void {
  if (values.now !== undefined || values.overlap !== undefined) checkNow(command, values);
  if (command === 'audit' && values['dry-run'] && !values.cleanup)
    throw new UsageError('--dry-run on audit goes with --cleanup; audit alone changes nothing');
  if (command !== 'audit' && (values.cleanup || values['older-than'] !== undefined))
    throw new UsageError(`--cleanup and --older-than belong to audit, not ${command}`);
  if (
    command !== 'rotate' &&
    (values.force || values['replace-secondary'] || (values['dry-run'] && command !== 'audit'))
  )
    throw new UsageError(`--dry-run, --force and --replace-secondary belong to rotate, not ${command}`);
  if (command !== 'secret' && (values.store !== undefined || values.replace))
    throw new UsageError(`--store and --replace belong to secret put, not ${command}`);
  if ((command === 'confirm' || command === 'abort' || command === 'secret' || command === 'alerts') && values.target)
    throw new UsageError(`--target belongs to rotate and status; ${command} names what it acts on as an argument`);
  if (command !== 'alerts' && values.channel !== undefined)
    throw new UsageError(`--channel belongs to alerts test, not ${command}`);
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
  if (command === 'confirm' || command === 'abort') {
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

/** The exit status of a process ended by `signal`, as a shell reports it (128 + its number). */
const INTERRUPTED: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };
/** rotate --now TARGET --overlap SECONDS, and nothing that contradicts it. */
function checkNow(command: string, values: ReturnType<typeof parse>['values']): void {
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

function overlapSeconds(value: string | undefined): number {
  const seconds = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || seconds > 3600)
    throw new UsageError(
      `--overlap must be a whole number of seconds from 0 to 3600, got "${value}"; a longer overlap is not an emergency: use the normal gate`,
    );
  return seconds;
}

const sleep = (ms: number, stop?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stop?.removeEventListener('abort', done);
      resolve();
    }
    stop?.addEventListener('abort', done, { once: true });
  });

/** --older-than: whole days, 1 to 3650; 90 when not given. */
function olderThanDays(value: string | undefined): number {
  if (value === undefined) return 90;
  const days = Number(value);
  if (!/^\d+$/.test(value) || days < 1 || days > 3650)
    throw new UsageError(`--older-than must be a whole number of days from 1 to 3650, got "${value}"`);
  return days;
}

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
