import type { RotatorConfig } from '../../config/types.js';
import type { TargetResult } from '../../core/outcome.js';
import type { Runtime } from '../../core/runtime.js';
import type { Words } from '../../credentials/registry.js';
import { UsageError } from '../../errors.js';
import { SECOND_MS } from '../../core/sids.js';
import { sleep } from '../../util/abort.js';
import { noArguments, type Command, type Run } from './command.js';
import { BAD_INPUT, overlapSeconds, type CliValues } from './flags.js';

export const rotate: Command = {
  usage: [
    ['rotate [--target NAME]… [--dry-run] [--force]', 'bring every (or each named) target one rotation further'],
    ['rotate --now TARGET --overlap SECONDS', 'a leaked credential: replace it now, retire it after SECONDS'],
  ],
  help: `Usage: twilio-key-rotator rotate [--target NAME]… [--dry-run] [--force] [--json]
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
  exitCodes: `Exit codes: 0 done or waiting, 1 a rotation failed or a target needs a person (rotate --now: it
did not finish), ${BAD_INPUT},
130/143 interrupted by SIGINT/SIGTERM (requests in flight were cut; the next run resumes).
An alert that could not be delivered is logged; it never changes the exit code.`,
  flags: ['target', 'dry-run', 'force', 'replace-secondary', 'now', 'overlap'],
  check(rest, values) {
    if (values.now !== undefined || values.overlap !== undefined) checkNow(values);
    // Without a name it deleted the foreign secondary of every Auth Token target at once.
    if (values['replace-secondary'] && !values.target && values.now === undefined) {
      const why = 'it deletes a secondary Auth Token someone else made, so name the one target it is meant for';
      throw new UsageError(`--replace-secondary needs --target NAME (or --now NAME): ${why}`);
    }
    noArguments('rotate', rest);
  },
  async run(run) {
    const { values, session } = run;
    const config = await session.config();
    const named = values.now !== undefined ? [values.now] : values.target;
    const { wordsOf } = await import('../../credentials/registry.js');
    if (values['replace-secondary']) await onlyAuthTokenTargets(config, wordsOf, named);
    const runtime = await session.runtime(config, { named });
    if (values.now !== undefined) return await rotateNow(run, config, runtime, values.now, wordsOf);
    const [{ rotate: rotateTargets }, { exitCodeFor }] = await Promise.all([
      import('../../engine/commands.js'),
      import('../../core/outcome.js'),
    ]);
    const dryRun = values['dry-run'] ?? false;
    const signal = session.signal();
    const results = await rotateTargets(config, runtime, {
      dryRun,
      force: values.force ?? false,
      replaceSecondary: values['replace-secondary'] ?? false,
      ...(values.target ? { targets: values.target } : {}),
      ...(signal ? { signal } : {}),
    });
    const json = () => JSON.stringify({ dryRun, targets: results.map((r) => forJson(r, wordsOf)) }, null, 2);
    run.print(values.json ? json() : results.map((r) => formatResult(r, wordsOf)).join('\n'));
    return exitCodeFor(results);
  },
};

/** rotate --now TARGET --overlap SECONDS, and nothing that contradicts it. */
function checkNow(values: CliValues): void {
  if (values.now === undefined) throw new UsageError('--overlap goes with --now TARGET');
  if (values.target) throw new UsageError('--now names its one target; leave out --target');
  if (values['dry-run']) {
    const instead = `"rotate --dry-run --force --target ${values.now}" shows the rotation`;
    throw new UsageError(`--now changes things at once and has no dry run; ${instead}`);
  }
  if (values.force) throw new UsageError('--now already forces the rotation; leave out --force');
  if (values.overlap === undefined) {
    const what = 'how long the old credential keeps working once the new one is in place';
    const then = 'consumers that have not switched by then lose access';
    throw new UsageError(`--now needs --overlap SECONDS (0-3600): ${what}; ${then}`);
  }
  overlapSeconds(values.overlap);
}

/** --replace-secondary deletes a secondary (words.secondary: an Auth Token's); other targets and fleets have none. */
async function onlyAuthTokenTargets(config: RotatorConfig, words: WordsOf, names: readonly string[] = []) {
  const [{ lookUp }, { kindNames }] = await Promise.all([
    import('../../engine/targets.js'),
    import('../../credentials/registry.js'),
  ]);
  const secondary = kindNames().flatMap((k) => (words(k).secondary ? [words(k).noun] : []));
  for (const name of names) {
    const found = lookUp(config, name);
    if (!found || (!found.fleet && words(found.kind).secondary)) continue;
    const none = `whose ${words(found.kind).noun}s have no secondary ${secondary.join(' or ')}`;
    const why = `"${name}" is ${found.what}, ${none}`;
    throw new UsageError(`--replace-secondary is for Auth Token targets; ${why}`);
  }
}

/** rotate --now: passes until the emergency rotation finishes, stopped between steps by SIGINT/SIGTERM. */
async function rotateNow(run: Run, config: RotatorConfig, runtime: Runtime, name: string, words: WordsOf) {
  const { rotateNow: passes } = await import('../../engine/emergency.js');
  const { values } = run;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const now = await passes(config, runtime, name, {
      overlapMs: overlapSeconds(values.overlap) * SECOND_MS,
      replaceSecondary: values['replace-secondary'] ?? false,
      stop: stop.signal,
      sleep,
    });
    const target = now.result.target;
    const json = { now: true, finished: now.finished, target: forJson(now.result, words), steps: now.steps };
    const text = [
      ...now.steps.map((s) => `  ${s.step}: ${s.detail}`),
      formatResult(now.result, words),
      now.finished
        ? `${target}: emergency rotation finished.`
        : `${target}: emergency rotation did NOT finish; run the same command again.`,
    ];
    run.print(values.json ? JSON.stringify(json, null, 2) : text.join('\n'));
    return now.finished ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** A kind's words, from the registry (src/credentials/registry.ts `wordsOf`), which a run loads. */
export type WordsOf = (kind: string) => Words;
const at = (ms: number) => new Date(ms).toISOString();
const bullets = (on: readonly string[]) => on.map((o) => `  - ${o}`).join('\n');

export function formatResult(r: TargetResult, words: WordsOf): string {
  const head = `${r.target}: `;
  switch (r.kind) {
    case 'done':
      return `${head}done. Current ${words(r.credential).noun} ${r.current}; next rotation due ${at(r.nextDueAtMs)}.`;
    case 'waiting': {
      const waiting = words(r.credential).waiting?.(r.kept) ?? `waiting for consumers before deleting ${r.kept}`;
      return `${head}${waiting} (gives up ${at(r.deadlineMs)}):\n${bullets(r.on)}`;
    }
    case 'stuck': {
      const kept = r.kept ? `; ${r.kept} is kept` : '';
      return `${head}STUCK since ${at(r.sinceMs)}${kept}; a person must act:\n${bullets(r.on)}`;
    }
    case 'busy':
      return `${head}nothing to do now: ${r.reason}.`;
    case 'lost-race':
      return `${head}another rotator got there first (${r.detail}); what this run made was revoked.`;
    case 'deferred':
      // A rollback's pause says itself how to resume (rotate --force --target NAME).
      if (r.reason === 'paused' && r.detail.includes('rotate --force')) return `${head}${r.detail}.`;
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
 * A result as `--json` prints it, without what the run saw for alerts and metrics (`seen`). API-key
 * results (words.keyFields) keep 0.1.0's `currentKeySid` and `previousKeySid` for scripts written then.
 */
function forJson(result: TargetResult, words: WordsOf): unknown {
  const { seen: _seen, ...r } = result;
  if (!words(r.credential).keyFields) return r;
  if (r.kind === 'done') return { ...r, currentKeySid: r.current };
  if (r.kind === 'waiting' || (r.kind === 'stuck' && r.kept)) return { ...r, previousKeySid: r.kept };
  return r;
}
