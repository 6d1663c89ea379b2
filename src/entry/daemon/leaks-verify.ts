import { createHmac, timingSafeEqual } from 'node:crypto';
import { SECOND_MS } from '../../core/sids.js';

/**
 * Signature checks of leak reports, run on the raw body before anything is parsed. Both compare in
 * constant time and say only whether the signature holds, never what was expected.
 */

const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

/** GitHub: X-Hub-Signature-256 is "sha256=" + the hex HMAC-SHA256 of the body under the webhook secret. */
export function verifyGithub(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return sameBytes(given, expected);
}

export type StandardVerdict = { ok: true; id: string } | { ok: false; why: string };

/**
 * Standard Webhooks: the key is the base64 after "whsec_"; the signed content is
 * "<webhook-id>.<webhook-timestamp>.<body>"; webhook-signature lists "v1,<base64 HMAC-SHA256>" entries
 * separated by spaces, any of which may match. A timestamp further than `toleranceMs` from now is
 * refused (a replay or a wrong clock).
 */
export function verifyStandard(
  secret: string,
  headers: { id?: string; timestamp?: string; signature?: string },
  body: Buffer,
  at: { nowMs: number; toleranceMs: number },
): StandardVerdict {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature)
    return { ok: false, why: 'webhook-id, webhook-timestamp and webhook-signature are all required' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, why: 'webhook-timestamp is not whole seconds' };
  if (Math.abs(at.nowMs - Number(timestamp) * SECOND_MS) > at.toleranceMs)
    return { ok: false, why: 'webhook-timestamp is too far from now' };
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
  const matches = signature
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .some((s) => sameBytes(Buffer.from(s.slice(3), 'base64'), expected));
  return matches ? { ok: true, id } : { ok: false, why: 'webhook-signature does not verify' };
}
