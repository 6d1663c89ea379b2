import { isRecord, parseJson } from './util/json.js';

/**
 * The redaction registry: every secret the process learns is registered here and replaced wherever it
 * appears in a log record, an error message or CLI output, also in the forms it comes back in (an
 * echoed Authorization header's base64, a URL's percent-encoding, a JSON body's escapes).
 */

export const REDACTED = '[REDACTED]';

/** Fields whose name says "secret" are masked whatever they hold, registered or not. */
const SECRET_FIELDS = [
  ...['apiKeySecret', 'adminKeySecret', 'authToken', 'secondaryAuthToken', 'password', 'secret'],
  ...['secretString', 'SecretString', 'SecretBinary', 'authorization'],
  ...['clientSecret', 'client_secret', 'accessToken', 'access_token'],
];
export const SECRET_FIELD = new RegExp(`^(${SECRET_FIELDS.join('|')})$`, 'i');

/** Fields of a stored secret that identify rather than authenticate: they stay readable in logs. */
const PUBLIC_FIELDS = new Set(['accountSid', 'apiKeySid', 'adminKeySid', 'clientId', 'validationUrl']);

/** Real secrets are 32 characters; very short strings would redact ordinary words. */
const MIN_LENGTH = 8;

const known = new Set<string>();
/**
 * The forms by their first MIN_LENGTH characters: a text is scanned once, however many a fleet's run
 * learns. A head almost always starts one form: it is kept as that string, and only heads shared by
 * several get a list (at N = 1,000 targets some 20,000 forms: 0.5 MiB, 0.9 with a list each).
 */
let byHead: Map<string, string | string[]> | undefined;

function add(form: string): void {
  if (form.length >= MIN_LENGTH && !known.has(form)) {
    known.add(form);
    byHead = undefined;
  }
}

function index(): Map<string, string | string[]> {
  const map = new Map<string, string | string[]>();
  for (const form of known) {
    const head = form.slice(0, MIN_LENGTH);
    const there = map.get(head);
    if (there === undefined) map.set(head, form);
    else if (typeof there === 'string') map.set(head, [there, form]);
    else there.push(form);
  }
  return map;
}

/**
 * The characters that encode `value` inside any base64 text, at each of the three byte alignments it
 * can start at (the characters shared with what comes before or after are left out).
 */
function base64Cores(value: string): string[] {
  const bytes = Buffer.byteLength(value);
  return [0, 1, 2].flatMap((shift) =>
    (['base64', 'base64url'] as const).map((alphabet) => {
      const encoded = Buffer.from('x'.repeat(shift) + value)
        .toString(alphabet)
        .replace(/=+$/, '');
      return encoded.slice(Math.ceil((shift * 4) / 3), Math.floor(((shift + bytes) * 4) / 3));
    }),
  );
}

export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_LENGTH) return;
  add(value);
  add(encodeURIComponent(value));
  add(JSON.stringify(value).slice(1, -1));
  for (const core of base64Cores(value)) if (core.length >= 16) add(core);
}

/** A Basic-auth pair: the password and the header value built from both. */
export function registerCredential(username: string, password: string): void {
  registerSecret(password);
  const basic = Buffer.from(`${username}:${password}`).toString('base64');
  add(basic);
  add(encodeURIComponent(basic));
}

/**
 * A stored secret's text: the whole text, and every string field of a JSON object except the few
 * that identify (SIDs, the validation URL). Fields a consumer added are treated as secrets too.
 */
export function registerSecretText(text: string | undefined): void {
  if (!text) return;
  registerSecret(text);
  const parsed = parseJson(text);
  if (!isRecord(parsed)) return;
  for (const [field, value] of Object.entries(parsed)) {
    if (typeof value === 'string' && !PUBLIC_FIELDS.has(field)) registerSecret(value);
  }
}

/**
 * Every stretch of `text` covered by a registered form is replaced; stretches that touch or overlap
 * (a Basic header and the password inside it) become one [REDACTED].
 */
export function redact(text: string): string {
  if (text.length < MIN_LENGTH || known.size === 0) return text;
  byHead ??= index();
  let out = '';
  let copied = 0; // text before this index is in `out`
  let start = -1; // the stretch being covered: [start, end)
  let end = -1;
  for (let i = 0; i + MIN_LENGTH <= text.length; i++) {
    if (start >= 0 && i > end) {
      out += text.slice(copied, start) + REDACTED;
      copied = end;
      start = end = -1;
    }
    const found = byHead.get(text.slice(i, i + MIN_LENGTH));
    if (found === undefined) continue;
    for (const form of typeof found === 'string' ? [found] : found) {
      if (!text.startsWith(form, i)) continue;
      if (start < 0) start = i;
      end = Math.max(end, i + form.length);
    }
  }
  if (start >= 0) {
    out += text.slice(copied, start) + REDACTED;
    copied = end;
  }
  return out + text.slice(copied);
}

/** A log record's fields redacted in place: a field named as a secret masked, every other value redacted. */
export function redactFields(record: Record<string, unknown>): void {
  for (const key of Object.keys(record)) record[key] = SECRET_FIELD.test(key) ? REDACTED : redactValue(record[key]);
}

export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return redact(value.message);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_FIELD.test(k) ? REDACTED : redactValue(v, depth + 1)]),
  );
}

/**
 * The daemon forgets a run's secrets after it, so the registry holds one run's at most. Safe once the
 * run has returned: winston redacts a record when it is logged, not when the stream drains.
 */
export function forgetSecrets(): void {
  known.clear();
  byHead = undefined;
}

/** How many forms of secrets are registered now (the daemon exports it as a metric). */
export function knownSecretForms(): number {
  return known.size;
}
