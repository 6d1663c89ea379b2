import type { RotatorConfig, TargetConfig } from '../config/types.js';
import { CURRENT } from '../core/ports.js';
import { TAG_CONFIRMED, TAG_CURRENT_SINCE, TAG_LAST_ERROR } from '../core/state.js';
import { errorMessage, UsageError } from '../errors.js';
import { redact } from '../log.js';
import type { Runtime, RunOptions, TargetResult } from './context.js';
import { decide, openSession, plannerSettings, reconcileTarget } from './reconcile.js';

export function selectTargets(config: RotatorConfig, names: readonly string[] | undefined): TargetConfig[] {
  if (!names || names.length === 0) return config.targets;
  const known = new Map(config.targets.map((t) => [t.name, t]));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0)
    throw new UsageError(
      `unknown target${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}; configured: ${[...known.keys()].join(', ')}`,
    );
  return names.map((n) => known.get(n)!);
}

/** Targets are independent; they run one after another so logs and Twilio load stay readable. */
export async function rotate(
  config: RotatorConfig,
  runtime: Runtime,
  options: RunOptions & { targets?: readonly string[] } = {},
): Promise<TargetResult[]> {
  const results: TargetResult[] = [];
  for (const target of selectTargets(config, options.targets))
    results.push(await reconcileTarget(target, runtime, options));
  return results;
}

export interface TargetStatus {
  target: string;
  currentKeySid?: string;
  currentVersionId?: string;
  ageDays?: number;
  /** The next thing a rotate run would do, or the state it would report. */
  step: string;
  waitingOn: string[];
  nextDueAt?: string;
  currentSince?: string;
  lastError?: string;
  error?: string;
}

/** Read-only: what `rotate` would find, per target. */
export async function status(
  config: RotatorConfig,
  runtime: Runtime,
  names?: readonly string[],
): Promise<TargetStatus[]> {
  const out: TargetStatus[] = [];
  for (const target of selectTargets(config, names)) {
    try {
      const session = await openSession(target, runtime);
      const { obs, decision } = await decide(session, runtime, plannerSettings(target, runtime, {}), new Set());
      const tags = obs.secret?.tags ?? {};
      out.push({
        target: target.name,
        ...(obs.current
          ? {
              currentKeySid: obs.current.key.apiKeySid,
              currentVersionId: obs.current.versionId,
              ageDays: Math.floor(((obs.nowMs - obs.current.createdAtMs) / 86_400_000) * 10) / 10,
              nextDueAt: new Date(obs.current.createdAtMs + target.maxAgeMs).toISOString(),
            }
          : {}),
        step: decision.kind,
        waitingOn:
          decision.kind === 'waiting' || decision.kind === 'stuck'
            ? decision.on
            : decision.kind === 'busy'
              ? [decision.reason]
              : [],
        ...(tags[TAG_CURRENT_SINCE] ? { currentSince: tags[TAG_CURRENT_SINCE].split(' ')[1] ?? '' } : {}),
        ...(tags[TAG_LAST_ERROR] ? { lastError: tags[TAG_LAST_ERROR] } : {}),
      });
    } catch (err) {
      out.push({ target: target.name, step: 'error', waitingOn: [], error: redact(errorMessage(err)) });
    }
  }
  return out;
}

/** Records a person's confirmation that every consumer uses the current key. */
export async function confirm(
  config: RotatorConfig,
  runtime: Runtime,
  name: string,
): Promise<{ target: string; versionId: string; keySid: string }> {
  const [target] = selectTargets(config, [name]);
  const store = runtime.store(target!.secret.store);
  const secret = await store.read(target!.secret.secretId);
  const current = secret?.versions.find((v) => v.stages.includes(CURRENT));
  if (!secret || !current?.value)
    throw new UsageError(
      `target "${name}": secret "${target!.secret.secretId}" has no current version to confirm; run rotate first`,
    );
  const keySid = (JSON.parse(current.value) as { apiKeySid?: string }).apiKeySid ?? '(unknown)';
  await store.setTags(target!.secret.secretId, { [TAG_CONFIRMED]: current.versionId });
  return { target: name, versionId: current.versionId, keySid };
}
