import type { RestrictedPolicy, TwilioKeys, VerifyMethod } from '../../core/ports.js';
import { RotationError } from '../../errors.js';
import type { ApiKeyTargetConfig } from './config.js';
import { verifyMethodFor } from './verify-method.js';

const NO_KEY = 'policy "inherit" needs an existing key to copy from, and the secret has none';
const GIVE_POLICY = 'give policy {allow: [...]} for the first rotation';
const USE_STANDARD = 'use keyType "standard" or an explicit policy';
const SET_VALIDATION_URL = 'set validationUrl to a Twilio URL the key may GET';

export interface ResolvedPolicy {
  /** What a new key gets; null for a Standard key. */
  policy: RestrictedPolicy | null;
  verifyMethod: VerifyMethod;
  warnings: string[];
}

/** What a credential made from the configuration's permissions would add and drop, against a live one's. */
export function permissionDrift(config: readonly string[], live: readonly string[]): string[] {
  const added = config.filter((p) => !live.includes(p));
  const dropped = live.filter((p) => !config.includes(p));
  const words = [added.length ? `adds ${added.join(', ')}` : '', dropped.length ? `drops ${dropped.join(', ')}` : ''];
  return words.filter(Boolean);
}

/** The policy a new key gets and how to prove a key of this target works. Read-only. */
export async function resolvePolicy(
  target: ApiKeyTargetConfig,
  keys: TwilioKeys,
  currentSid: string | undefined,
): Promise<ResolvedPolicy> {
  const refuse = (why: string) => new RotationError(target.name, 'resolve-policy', why);
  const warnings: string[] = [];
  let policy: RestrictedPolicy | null = null;
  if (target.keyType === 'restricted') {
    const live = currentSid ? await keys.fetchPolicy(currentSid) : undefined;
    if (target.policy?.mode === 'explicit') {
      policy = { allow: [...target.policy.allow] };
      if (live) {
        const drift = permissionDrift(policy.allow, live.allow);
        const next = `the next key ${drift.join(' and ')}`;
        if (drift.length) warnings.push(`policy drift between config and the live key: ${next}`);
      } else if (live === null) warnings.push(`the current key ${currentSid} is not Restricted; the next key will be`);
    } else {
      const inherit = `policy "inherit": the current key ${currentSid}`;
      if (!currentSid) throw refuse(`${NO_KEY}; ${GIVE_POLICY}`);
      if (live === undefined) throw refuse(`${inherit} does not exist on Twilio; give an explicit policy`);
      if (live === null) throw refuse(`${inherit} is not a Restricted key; ${USE_STANDARD}`);
      policy = live;
    }
  }
  const verifyMethod = verifyMethodFor(policy, target.validationUrl);
  if (!verifyMethod)
    throw refuse(`the key policy grants nothing the rotator can use to prove a key works; ${SET_VALIDATION_URL}`);
  return { policy, verifyMethod, warnings };
}

/**
 * Would a key made from the configuration get other permissions than the current key has? Asked
 * only when the current key, never proven, is refused by verification: if the answer is no, a new
 * key would be refused the same way, and rotating would only churn keys.
 */
export async function newKeyWouldDiffer(
  keys: TwilioKeys,
  currentSid: string,
  resolved: ResolvedPolicy,
): Promise<boolean> {
  const live = await keys.fetchPolicy(currentSid);
  if (live === undefined) return true;
  if (live === null || resolved.policy === null) return live !== resolved.policy;
  const a = [...live.allow].sort();
  const b = [...resolved.policy.allow].sort();
  return a.length !== b.length || a.some((p, i) => p !== b[i]);
}
