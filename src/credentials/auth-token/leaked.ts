import { CURRENT, PENDING } from '../../core/labels.js';
import { leakedTagChanges } from '../../core/leaked.js';
import type { Emergency, Runtime } from '../../core/runtime.js';
import type { AuthTokenTargetConfig } from './config.js';

/**
 * `rotate --now`, before every pass: the target's secret records each token the pass treats as leaked
 * (the current and pending versions this command did not create) as `rotator:leaked:<versionId>`. The
 * webhook helper then gives that token no grace once it is retired, and refreshes often while it is
 * still the current one. The record precedes the promotion that retires the token, in every pass.
 */
export async function recordLeaked(
  runtime: Runtime,
  target: AuthTokenTargetConfig,
  emergency: Emergency,
): Promise<void> {
  const store = runtime.store(target.secret.store);
  const wantValue = (v: { stages: readonly string[] }) => v.stages.includes(CURRENT);
  const secret = await store.read(target.secret.secretId, { fresh: true, wantValue });
  // Bad contents change nothing: the pass itself reports them (and no token is promoted from them).
  if (!secret || !holdsToken(secret.versions.find((v) => v.stages.includes(CURRENT))?.value)) return;
  const labelled = secret.versions.filter((v) => v.stages.length > 0);
  const leaked = labelled
    .filter((v) => (v.stages.includes(CURRENT) || v.stages.includes(PENDING)) && !emergency.created.has(v.versionId))
    .map((v) => v.versionId);
  const all = labelled.map((v) => v.versionId);
  const changes = leakedTagChanges(secret.tags, all, leaked, runtime.now());
  if (Object.keys(changes).length > 0) await store.setTags(target.secret.secretId, changes);
}

function holdsToken(value: string | undefined): boolean {
  try {
    const token = (JSON.parse(value ?? '') as { authToken?: unknown } | null)?.authToken;
    return typeof token === 'string' && token.length > 0;
  } catch {
    return false;
  }
}
