import { KEY_SID } from '../../core/sids.js';
import { TOKEN_FINGERPRINT, type Leak } from '../../engine/leak-match.js';
import { parseJson } from '../../util/json.js';

/** The two report formats, parsed once verified: values bounded, a bad shape refused without echoing a value. */

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

/** The references a report may name, one of them: what a valid one looks like, in a pattern and in words. */
const FIELDS = {
  keySid: [KEY_SID, 'SK followed by 32 hex characters'],
  tokenFingerprint: [TOKEN_FINGERPRINT, 'tf_ followed by 16 hex characters'],
  credential: [/^[\s\S]{1,4096}$/, 'a string of 1 to 4096 characters'],
} as const;

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
  const given = (Object.keys(FIELDS) as (keyof typeof FIELDS)[]).filter((f) => data[f] !== undefined);
  if (given.length !== 1)
    return { kind: 'invalid', why: 'data must name exactly one of keySid, tokenFingerprint or credential' };
  const field = given[0]!;
  const value = data[field];
  const text = (v: unknown, max: number) => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);
  const source = text(data.source, 100)?.replace(/[^\w .:/@()-]/g, '') ?? 'a signed leak report';
  const where = text(data.foundAt, 512)?.replace(/[\r\n]/g, ' ') ?? 'an unnamed place';
  const [pattern, what] = FIELDS[field];
  if (typeof value !== 'string' || !pattern.test(value))
    return { kind: 'invalid', why: `data.${field} must be ${what}` };
  return { kind: 'report', leak: { [field]: value } as Leak, source, where };
}
