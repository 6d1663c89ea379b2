import { createHash, timingSafeEqual } from 'node:crypto';
import type { RotatorConfig, TargetConfig } from '../config/types.js';
import { CURRENT, PENDING, PREVIOUS, TAG_RETIRED } from '../core/labels.js';
import type { Runtime } from '../core/runtime.js';
import { kindOf } from '../credentials/registry.js';
import { errorMessage } from '../errors.js';
import { redact } from '../redact.js';

/** What a reported token fingerprint looks like (for the daemon's report parser). */
export { TOKEN_FINGERPRINT } from '../credentials/registry.js';

/**
 * Which configured target a leak report is about: compared in memory with what each target's secret
 * holds (current, pending, previous); only references leave. Fleet members are not searched (not listed).
 */

export type Leak = { keySid: string } | { tokenFingerprint: string } | { credential: string };

export interface LeakMatch {
  target: TargetConfig;
  /** The key SID or token fingerprint that matched. */
  ref: string;
  stage: string;
  /** An AWSPREVIOUS credential the rotator already retired (deleted or promoted over): dead already. */
  retired: boolean;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

function isMatch(leak: Leak, h: { ref: string; keySid?: string; credential: string }): boolean {
  if ('keySid' in leak) return h.keySid === leak.keySid;
  if ('tokenFingerprint' in leak) return h.keySid === undefined && h.ref === leak.tokenFingerprint;
  // A scanner may report the key SID itself (GitHub's twilio_api_key) or the secret part.
  return (h.keySid !== undefined && h.keySid === leak.credential) || sameSecret(h.credential, leak.credential);
}

export async function matchLeak(
  config: RotatorConfig,
  runtime: Runtime,
  leak: Leak,
): Promise<{ matches: LeakMatch[]; unreadable: string[] }> {
  const matches: LeakMatch[] = [];
  const unreadable: string[] = [];
  for (const target of config.targets) {
    let secret;
    try {
      secret = await runtime.store(target.secret.store).read(target.secret.secretId);
    } catch (err) {
      unreadable.push(`${target.name} (${redact(errorMessage(err))})`);
      continue;
    }
    for (const v of secret?.versions ?? []) {
      const stage = [CURRENT, PENDING, PREVIOUS].find((s) => v.stages.includes(s));
      if (!stage || v.value === undefined) continue;
      const h = kindOf(target).report.holds?.(v.value, target);
      if (!h || !isMatch(leak, h)) continue;
      const retired = stage === PREVIOUS && secret?.tags[TAG_RETIRED] === v.versionId;
      matches.push({ target, ref: h.ref, stage, retired });
    }
  }
  return { matches, unreadable };
}
