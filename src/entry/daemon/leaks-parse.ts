import { KEY_SID } from '../../core/sids.js';
import { TOKEN_FINGERPRINT, type Leak } from '../../engine/leak-match.js';
import { parseJson } from '../../util/json.js';

/**
 * The two report formats, parsed only after their signature has been verified. Field values are
 * checked and bounded; an unexpected shape is refused with what was wrong, never echoing a value.
 */

/** GitHub's secret_scanning_alert actions that mean "this secret is exposed". */
const EXPOSED = new Set(['created', 'reopened', 'publicly_leaked']);

type Ignored = { kind: 'ignored'; status: number; why: string };
export type GithubEvent = { kind: 'ping' } | Ignored | { kind: 'alert'; owner: string; repo: string; number: number };
const ignored = (status: number, why: string): Ignored => ({ kind: 'ignored', status, why });

export function parseGithubEvent(event: string | undefined, body: Buffer): GithubEvent {
  if (event === 'ping') return { kind: 'ping' };
  if (event !== 'secret_scanning_alert')
    return ignored(200, `GitHub event "${String(event).slice(0, 64)}" is not secret_scanning_alert`);
  const doc = parseJson(body.toString('utf8')) as
    { action?: unknown; alert?: { number?: unknown }; repository?: { full_name?: unknown } } | undefined;
  if (typeof doc !== 'object' || doc === null) return ignored(400, 'the body is not JSON');
  if (typeof doc.action !== 'string' || !EXPOSED.has(doc.action))
    return ignored(200, `secret_scanning_alert action "${String(doc.action).slice(0, 32)}" is not a new exposure`);
  const full = doc.repository?.full_name;
  const number = doc.alert?.number;
  const [owner, repo, extra] = typeof full === 'string' ? full.split('/') : [];
  if (!owner || !repo || extra !== undefined || typeof number !== 'number')
    return ignored(400, 'the alert has no repository.full_name or alert.number');
  return { kind: 'alert', owner, repo, number };
}

export type SignedReport =
  { kind: 'report'; leak: Leak; source: string; where: string } | { kind: 'invalid'; why: string };

const FIELDS = ['keySid', 'tokenFingerprint', 'credential'] as const;

/**
 * {"type": "credential.leaked", "timestamp": "...", "data": {one of keySid | tokenFingerprint |
 * credential, "source"?: "gitguardian", "foundAt"?: "https://…"}} — the Standard Webhooks payload shape.
 */
export function parseSignedReport(body: Buffer): SignedReport {
  const doc = parseJson(body.toString('utf8')) as { type?: unknown; data?: Record<string, unknown> } | undefined;
  if (typeof doc !== 'object' || doc === null) return { kind: 'invalid', why: 'the body is not JSON' };
  if (doc.type !== 'credential.leaked') return { kind: 'invalid', why: 'type must be "credential.leaked"' };
  const data = doc.data;
  if (typeof data !== 'object' || data === null) return { kind: 'invalid', why: 'data must be an object' };
  const given = FIELDS.filter((f) => data[f] !== undefined);
  if (given.length !== 1)
    return { kind: 'invalid', why: 'data must name exactly one of keySid, tokenFingerprint or credential' };
  const field = given[0]!;
  const value = data[field];
  const text = (v: unknown, max: number) => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);
  const source = text(data.source, 100)?.replace(/[^\w .:/@()-]/g, '') ?? 'a signed leak report';
  const where = text(data.foundAt, 512)?.replace(/[\r\n]/g, ' ') ?? 'an unnamed place';
  if (field === 'keySid') {
    if (typeof value !== 'string' || !KEY_SID.test(value))
      return { kind: 'invalid', why: 'data.keySid must be SK followed by 32 hex characters' };
    return { kind: 'report', leak: { keySid: value }, source, where };
  }
  if (field === 'tokenFingerprint') {
    if (typeof value !== 'string' || !TOKEN_FINGERPRINT.test(value))
      return { kind: 'invalid', why: 'data.tokenFingerprint must be tf_ followed by 16 hex characters' };
    return { kind: 'report', leak: { tokenFingerprint: value }, source, where };
  }
  const credential = text(value, 4096);
  if (!credential) return { kind: 'invalid', why: 'data.credential must be a string of 1 to 4096 characters' };
  return { kind: 'report', leak: { credential }, source, where };
}
