import type { RotatorConfig, TargetConfig } from '../config/types.js';
import type { Runtime } from '../core/runtime.js';
import { kindOf, type RotationEvent } from '../credentials/registry.js';

export type { RotationEvent };
import { RotationError } from '../errors.js';
import { expandFleets } from './fleets.js';
import { createRunScope } from './scope.js';

/**
 * Secrets Manager's rotation protocol (rotate-secret, rotation schedules, "Rotate now"): find the
 * target whose secret is being rotated and hand the step to its credential kind, which runs the same
 * step functions as the scheduled reconcile.
 */

export function isRotationEvent(event: unknown): event is RotationEvent {
  const e = event as Partial<RotationEvent> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.Step === 'string' &&
    typeof e.SecretId === 'string' &&
    typeof e.ClientRequestToken === 'string'
  );
}

/** The configured target whose secret is `secretId` (a name, a full ARN or a partial ARN). */
export function targetForSecret(config: RotatorConfig, secretId: string): TargetConfig {
  const name = /:secret:(.+?)(-[A-Za-z0-9]{6})?$/.exec(secretId)?.[1];
  const found = config.targets.find(
    (t) =>
      t.secret.store === 'aws' &&
      (t.secret.secretId === secretId ||
        t.secret.secretId === name ||
        secretId.endsWith(`:secret:${t.secret.secretId}`)),
  );
  if (!found)
    throw new RotationError(
      '(none)',
      'rotation-event',
      `secret ${secretId} is not the secret of any configured target with store "aws"; add it to the configuration or remove its rotation schedule`,
    );
  return found;
}

export async function rotationStep(event: RotationEvent, config: RotatorConfig, runtime: Runtime): Promise<string> {
  // A fleet member's secret is known only once the fleet is listed: list it when no target matches.
  let scope = createRunScope(config, runtime);
  let target: TargetConfig;
  try {
    target = targetForSecret(config, event.SecretId);
  } catch (err) {
    if (config.fleets.length === 0) throw err;
    const expanded = await expandFleets(config, runtime);
    target = targetForSecret(expanded.config, event.SecretId);
    scope = expanded.scope;
  }
  const kind = kindOf(target);
  const session = await kind.open(target, runtime, scope);
  return kind.rotationStep(event, session, runtime);
}
