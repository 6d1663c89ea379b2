import { configPathFromEnv, DEFAULT_CONFIG_PATH, loadConfig } from '../config/load.js';
import { isMemberName } from '../config/fleets.js';
import type { RotatorConfig, StoreName } from '../config/types.js';
import { exitCodeFor } from '../core/outcome.js';
import { sendTestAlerts } from '../engine/alerts.js';
import { abort, confirm, rotate, status } from '../engine/commands.js';
import { UsageError } from '../errors.js';
import { createLogger, logsAreJson } from '../log.js';
import { redact } from '../redact.js';
import { createRuntime } from '../wiring.js';
import { olderThanDays, overlapSeconds, type CliValues } from './cli-args.js';
import { forJson, formatResult, formatRollback, formatStatus } from './cli-format.js';
import { checkSetup, storesOf } from './cli-setup.js';
import type { CliIo } from './cli.js';

/**
 * One command whose arguments src/entry/cli.ts has checked, run to its exit code. cli.ts loads this
 * module only then, so `--help`, `--version` and usage errors load none of what a run needs (the
 * configuration reader, the logger, the Twilio and store adapters). What only one command uses —
 * the daemon, audit, `rotate --now`, `secret put` — is loaded by that command alone.
 */
export async function runCommand(command: string, rest: string[], values: CliValues, io: CliIo): Promise<number> {
  const print = (text: string) => io.stdout.write(`${redact(text)}\n`);
  const warn = (message: string) => void io.stderr.write(`twilio-key-rotator: warning: ${message}\n`);
  const path = values.config ?? configPathFromEnv(io.env, warn) ?? DEFAULT_CONFIG_PATH;
  const logger = createLogger({ stream: io.stderr, env: io.env, ...(values.json ? { json: true } : {}) });
  if (command === 'daemon') {
    const { runDaemon } = await import('./daemon/daemon.js');
    return await runDaemon({ configPath: path, env: io.env, logger });
  }
  const signal = io.signal ?? (values.now === undefined ? io.interrupts?.() : undefined);
  const config = await loadConfig(path, io.env);
  if (command === 'config') {
    const summary = {
      valid: true,
      path,
      targets: config.targets.map((t) => t.name),
      fleets: config.fleets.map((f) => f.name),
      channels: config.alerts.channels.map((c) => c.name),
    };
    const counts = `${summary.targets.length} target(s), ${summary.fleets.length} fleet(s), ${summary.channels.length} alert channel(s)`;
    print(values.json ? JSON.stringify(summary, null, 2) : `${path}: valid (${counts}); nothing was contacted.`);
    return 0;
  }
  if (values['replace-secondary'])
    onlyAuthTokenTargets(config, values.now !== undefined ? [values.now] : values.target);
  const named =
    values.now !== undefined ? [values.now] : ['confirm', 'abort', 'rollback'].includes(command) ? rest : values.target;
  if (command !== 'alerts') await checkSetup(config, io.env, storesOf(config, values.store, named));
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
    const { putSecret } = await import('../engine/secret-put.js');
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
    const [{ audit }, { auditJson, auditText }] = await Promise.all([
      import('../engine/audit.js'),
      import('./format-audit.js'),
    ]);
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
  if (command === 'rollback') {
    const { rollback } = await import('../engine/rollback.js');
    const done = await rollback(config, runtime, rest[0]!, { dryRun: values['dry-run'] ?? false });
    print(values.json ? JSON.stringify(done, null, 2) : formatRollback(done));
    return done.kept !== undefined ? 1 : 0;
  }
  if (values.now !== undefined) {
    const { rotateNow } = await import('../engine/emergency.js');
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
}

/** --replace-secondary deletes an Auth Token secondary: an API-key target or a fleet has none to replace. */
function onlyAuthTokenTargets(config: RotatorConfig, names: readonly string[] = []): void {
  for (const name of names) {
    const target = config.targets.find((t) => t.name === name);
    const fleet = config.fleets.find((f) => f.name === name || isMemberName(f.name, name));
    if (target?.kind === 'auth-token' || (!target && !fleet)) continue;
    const what = !fleet ? 'an API-key target' : fleet.name === name ? 'a fleet' : `a member of fleet "${fleet.name}"`;
    throw new UsageError(
      `--replace-secondary is for Auth Token targets; "${name}" is ${what}, whose API keys have no secondary token`,
    );
  }
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
