import type { RotatorConfig, TargetConfig } from '../config/types.js';
import { CURRENT } from '../core/ports.js';
import { observationWarnings } from '../core/planner.js';
import { parseApiKeySecret } from '../core/secret-shapes.js';
import { DAY_MS } from '../core/sids.js';
import { TAG_CONFIRMED, TAG_CURRENT_SINCE, TAG_LAST_ERROR } from '../core/state.js';
import { errorMessage, UsageError } from '../errors.js';
import { redact } from '../redact.js';
import type { Runtime, RunOptions, TargetResult } from './context.js';
import { describeDecision } from './describe.js';
import { decide, openSession, plannerSettings, reconcileTarget } from './reconcile.js';
import { createRunScope } from './scope.js';

/** The named targets, each once, in configuration order; every unknown name is reported. */
export function selectTargets(config: RotatorConfig, names: readonly string[] | undefined): TargetConfig[] {
  if (!names || names.length === 0) return config.targets;
  const wanted = new Set(names);
  const known = new Set(config.targets.map((t) => t.name));
  const unknown = [...wanted].filter((n) => !known.has(n));
  if (unknown.length > 0)
    throw new UsageError(
      `unknown target${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}; configured: ${[...known].join(', ')}`,
    );
  return config.targets.filter((t) => wanted.has(t.name));
}

/** Targets are independent; they run one after another so logs and Twilio load stay readable. */
export async function rotate(
  config: RotatorConfig,
  runtime: Runtime,
  options: RunOptions & { targets?: readonly string[] } = {},
): Promise<TargetResult[]> {
  const scope = createRunScope(config, runtime);
  const results: TargetResult[] = [];
  for (const target of selectTargets(config, options.targets))
    results.push(await reconcileTarget(target, runtime, scope, options));
  return results;
}

export interface TargetStatus {
  target: string;
  currentKeySid?: string;
  currentVersionId?: string;
  ageDays?: number;
  /** The next thing a rotate run would do, or the state it would report. */
  step: string;
  /** The same, in words: what the next `rotate` would create, delete or wait for. */
  next?: string;
  waitingOn: string[];
  nextDueAt?: string;
  currentSince?: string;
  lastError?: string;
  warnings?: string[];
  /** A person should look: stuck, the last run failed, the current key is gone, or the state cannot be read. */
  attention: boolean;
  error?: string;
}

/** Read-only: what `rotate` would find, per target. */
export async function status(
  config: RotatorConfig,
  runtime: Runtime,
  names?: readonly string[],
): Promise<TargetStatus[]> {
  const scope = createRunScope(config, runtime);
  const out: TargetStatus[] = [];
  for (const target of selectTargets(config, names)) {
    try {
      const session = await openSession(target, runtime, scope);
      const settings = plannerSettings(target, runtime, {});
      const { obs, decision } = await decide(session, runtime, settings, { verified: new Set() });
      const tags = obs.secret?.tags ?? {};
      const current = obs.current;
      const currentGone = current !== undefined && !obs.keys.some((k) => k.sid === current.key.apiKeySid);
      const how = target.validationUrl ? `GET ${target.validationUrl} with the key` : 'one GET with the key itself';
      const lastError = tags[TAG_LAST_ERROR] || undefined;
      const warnings = observationWarnings(obs, settings);
      out.push({
        target: target.name,
        ...(current
          ? {
              currentKeySid: current.key.apiKeySid,
              currentVersionId: current.versionId,
              ageDays: Math.floor(((obs.nowMs - current.createdAtMs) / DAY_MS) * 10) / 10,
              nextDueAt: new Date(current.createdAtMs + target.maxAgeMs).toISOString(),
            }
          : {}),
        step: decision.kind,
        next: describeDecision(decision, obs, how),
        waitingOn:
          decision.kind === 'waiting' || decision.kind === 'stuck'
            ? decision.on
            : decision.kind === 'busy'
              ? [decision.reason]
              : [],
        ...(tags[TAG_CURRENT_SINCE] ? { currentSince: tags[TAG_CURRENT_SINCE].split(' ')[1] ?? '' } : {}),
        ...(lastError ? { lastError } : {}),
        ...(warnings.length > 0 ? { warnings } : {}),
        attention: decision.kind === 'stuck' || lastError !== undefined || currentGone,
      });
    } catch (err) {
      out.push({
        target: target.name,
        step: 'error',
        waitingOn: [],
        attention: true,
        error: redact(errorMessage(err)),
      });
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
  const secretId = target!.secret.secretId;
  const store = runtime.store(target!.secret.store);
  const secret = await store.read(secretId);
  const current = secret?.versions.find((v) => v.stages.includes(CURRENT));
  if (!secret || !current)
    throw new UsageError(`target "${name}": secret "${secretId}" has no current version to confirm; run rotate first`);
  const { apiKeySid } = parseApiKeySecret({ secretId, versionId: current.versionId, stage: CURRENT }, current.value);
  await store.setTags(secretId, { [TAG_CONFIRMED]: current.versionId });
  return { target: name, versionId: current.versionId, keySid: apiKeySid };
}
