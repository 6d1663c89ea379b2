/**
 * The CLI's help texts. Kept apart from everything else the CLI does, so that `--help` loads this and
 * the argument checks and nothing more (src/entry/cli.ts).
 */

export const COMMON = `Options for every command:
  -c, --config PATH   configuration file (default: $TWILIO_KEY_ROTATOR_CONFIG or config/rotator.yaml)
      --json          print one JSON document on stdout (on an error: {"error": {...}}); logs on stderr
                      become JSON lines too
  -h, --help          help for the command`;

const BAD_INPUT = '2 bad configuration, environment or usage (nothing was changed)';

/** Each command's exit codes, printed under its help: they differ (the daemon runs until stopped). */
export const EXIT_CODES: Record<string, string> = {
  rotate: `Exit codes: 0 done or waiting, 1 a rotation failed or a target needs a person (rotate --now: it
did not finish), ${BAD_INPUT},
130/143 interrupted by SIGINT/SIGTERM (requests in flight were cut; the next run resumes).
An alert that could not be delivered is logged; it never changes the exit code.`,
  status: `Exit codes: 0 nothing needs a person, 1 a target is stuck, failed its last run, lost its current
key or cannot be read, ${BAD_INPUT}.`,
  confirm: `Exit codes: 0 recorded, 1 the store could not be reached,
${BAD_INPUT} (e.g. an unknown target, or nothing to confirm).`,
  abort: `Exit codes: 0 backed out, 1 the store or Twilio could not be reached,
${BAD_INPUT} (e.g. an API-key target).`,
  rollback: `Exit codes: 0 rolled back (or, with --dry-run, planned), 1 the store or Twilio could not be
reached, something changed meanwhile (a person, a concurrent run), or the new credential was kept,
${BAD_INPUT} (e.g. nothing to roll back, the old credential no longer works, an Auth Token
after its promotion).`,
  alerts: `Exit codes: 0 every channel took the test alert, 1 a channel could not be reached,
2 no channel is configured (or none of that name), or bad configuration or usage.`,
  daemon: `Exit codes: 0 stopped by SIGTERM/SIGINT once the step in flight finished, 130 a second signal
cut that step short (the next run resumes), 1 it could not start (e.g. the health port is taken),
${BAD_INPUT} at start-up.
A bad reload is refused and the running configuration kept. A run's failures show in logs, alerts
and /metrics, never in the exit code.`,
  audit: `Exit codes: 0 every account read whole (and every revocation done), 1 an account could not be
read whole or a revocation failed, ${BAD_INPUT}.`,
  secret: `Exit codes: 0 stored, 1 the store could not be reached, ${BAD_INPUT}
(e.g. a value of the wrong shape, or a current value without --replace).`,
  config: `Exit codes: 0 the file is valid, ${BAD_INPUT}.`,
};

/** The help of one command: what it does, then the options every command takes, then its exit codes. */
export const helpFor = (command: string): string => `${HELP[command]}\n\n${COMMON}\n\n${EXIT_CODES[command]}`;

export const HELP: Record<string, string> = {
  rotate: `Usage: twilio-key-rotator rotate [--target NAME]… [--dry-run] [--force] [--json]
       twilio-key-rotator rotate --target NAME --replace-secondary [--json]
       twilio-key-rotator rotate --now TARGET --overlap SECONDS [--replace-secondary] [--json]

Brings every target (or each named one) one rotation further. API keys: creates the secret on the
first run, rotates a due key, re-checks a waiting consumer gate, deletes the old key once the gate
passes. Auth Tokens: creates a secondary token, waits for the consumer gate, promotes it, waits the
propagation delay, checks that the old token is refused.

  -t, --target NAME       only this target; repeatable
      --dry-run           print the plan and run read-only checks; change nothing
      --force             rotate now even if the current credential is not due
      --replace-secondary delete a secondary Auth Token this tool did not create, then rotate
                          (whoever made it loses it: find out first); Auth Token targets
                          only, each named with --target (or --now)
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
  rollback: `Usage: twilio-key-rotator rollback <target> [--dry-run] [--json]

A new credential is bad: during the overlap (after its promotion, before the old one is retired),
puts the previous credential back. Verifies the old one still works first (refuses, changing nothing,
if not), pauses the target so the schedule does not rotate it again, moves AWSCURRENT back, revokes
the new credential when it is provably this target's own (else keeps it and says so), and sends a
rolled-back alert. A rerun finishes a rollback that was cut short. Resume with rotate --force
--target <target>. An Auth Token cannot be rolled back: its old token dies at the promotion (before
it, use abort).

      --dry-run   verify the old credential and print the plan; change nothing`,
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
  config: `Usage: twilio-key-rotator config check [--config PATH] [--json]

Reads and validates the configuration file exactly as every other command does (\${NAME} references
from this environment included) and says whether it is valid, naming every problem by its path.
Touches nothing: no store, no Twilio, no network. Editors can check as you type with
config/rotator.schema.json (the first line of config/example.yaml points at it).`,
  secret: `Usage: twilio-key-rotator secret put <secretId> --store file|aws [--replace] [--json] < value.json

Stores a value the configuration names — a target's admin credential or the key it rotates — after
checking its shape. The value is read from stdin, never from the command line, and never printed.

      --store file|aws  which configured store holds the secret
      --replace         replace a current value (the old one stays as AWSPREVIOUS)`,
};

export const USAGE = `Usage: twilio-key-rotator <command> [options]

Commands:
  rotate [--target NAME]… [--dry-run] [--force]   bring every (or each named) target one rotation further
  rotate --now TARGET --overlap SECONDS           a leaked credential: replace it now, retire it after SECONDS
  status [--target NAME]…                         current key, age, next step, what the gate waits on
  confirm <target>                                record that every consumer uses the new credential
  abort <target>                                  back out an Auth Token rotation before its promotion
  rollback <target> [--dry-run]                   a bad new key: put the previous one back during the overlap
  daemon                                          run on a schedule until stopped (health on daemon.health)
  audit [--cleanup [--dry-run]]                   every key on the accounts, classified; revoke rotator orphans
  secret put <secretId> --store file|aws          store an admin credential or key from stdin
  alerts test [--channel NAME]                    send a test alert to every (or the named) channel
  config check                                    validate the configuration file; touches nothing

${COMMON}
  -V, --version       print the version

Exit codes: 0 done, 1 a target needs a person or a run failed, 2 bad configuration or usage,
130/143 interrupted; "<command> --help" gives each command's.
"twilio-key-rotator <command> --help" describes one command.`;
