import { noArguments, type Command } from './command.js';
import { BAD_INPUT } from './flags.js';

export const daemon: Command = {
  usage: [['daemon', 'run on a schedule until stopped (health on daemon.health)']],
  help: `Usage: twilio-key-rotator daemon [--config PATH] [--json]

Runs until SIGTERM or SIGINT: reconciles every target on its cron schedule (daemon.schedule, or the
target's own schedule), one run at a time, with the same steps, logs and results as rotate. A tick
that finds the target's previous run still going is skipped. Paused targets are left alone; a due
rotation starts only inside the target's maintenance window. SIGTERM/SIGINT finish the step in
flight and start nothing new (a second one exits at once); SIGHUP reloads the configuration (so
does a change to the file with daemon.watchConfig) and a bad one is refused with every problem
named, the running one kept. With daemon.health: GET /healthz, /readyz and /metrics.`,
  exitCodes: `Exit codes: 0 stopped by SIGTERM/SIGINT once the step in flight finished, 130 a second signal
cut that step short (the next run resumes), 1 it could not start (e.g. the health port is taken),
${BAD_INPUT} at start-up.
A bad reload is refused and the running configuration kept. A run's failures show in logs, alerts
and /metrics, never in the exit code.`,
  flags: [],
  refuses: { target: '--target belongs to rotate and status; the daemon runs every target not paused' },
  check: (rest) => noArguments('daemon', rest),
  async run({ io, session }) {
    const { runDaemon } = await import('../daemon/daemon.js');
    return await runDaemon({ configPath: session.path, env: io.env, logger: session.logger });
  },
};
