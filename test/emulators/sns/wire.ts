/**
 * The awsQuery wire format SNS speaks (service model trait aws.protocols#awsQuery, version 2010-03-31):
 * requests are `Action=<Op>&Version=2010-03-31&...` form-encoded (POST body, or the query string of a
 * GET), lists are `Name.member.N`, maps are `Name.entry.N.key` / `Name.entry.N.value` (or the map's
 * own member names, `Name`/`Value` for MessageAttributes); responses are XML wrapped in
 * `<OpResponse><OpResult>…</OpResult><ResponseMetadata>…` and errors in `<ErrorResponse><Error>`.
 */

export const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** Decoded form parameters, keyed by their flattened name (`Attributes.entry.1.key`). */
export type Params = Map<string, string>;

export function parseParams(body: string, query: string): Params {
  const params: Params = new Map();
  for (const source of [query, body]) {
    for (const [k, v] of new URLSearchParams(source)) params.set(k, v);
  }
  return params;
}

/** Indices N present under `prefix.` + `infix` + `.N`, ascending. */
function indices(params: Params, prefix: string, infix: string): number[] {
  const head = `${prefix}.${infix}.`;
  const found = new Set<number>();
  for (const key of params.keys()) {
    if (!key.startsWith(head)) continue;
    const n = Number.parseInt(key.slice(head.length), 10);
    if (Number.isInteger(n) && n >= 1) found.add(n);
  }
  return [...found].sort((a, b) => a - b);
}

/** `prefix.member.N` prefixes of a list, or undefined when the list was not sent at all. */
export function listPrefixes(params: Params, prefix: string): string[] | undefined {
  const ns = indices(params, prefix, 'member');
  if (ns.length === 0) return params.has(prefix) ? [] : undefined;
  return ns.map((n) => `${prefix}.member.${n}`);
}

/** A map of `prefix.entry.N.<keyName>` to the prefix of its value, in entry order. */
export function mapEntries(
  params: Params,
  prefix: string,
  keyName = 'key',
  valueName = 'value',
): [string, string][] | undefined {
  const ns = indices(params, prefix, 'entry');
  if (ns.length === 0) return params.has(prefix) ? [] : undefined;
  const out: [string, string][] = [];
  for (const n of ns) {
    const key = params.get(`${prefix}.entry.${n}.${keyName}`);
    if (key !== undefined) out.push([key, `${prefix}.entry.${n}.${valueName}`]);
  }
  return out;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/** An XML fragment: `el('TopicArn', arn)` escapes text; `el('Topics', [el(...)])` nests raw fragments. */
export function el(name: string, content: string | readonly string[] | undefined): string {
  if (content === undefined) return '';
  const inner = typeof content === 'string' ? escapeXml(content) : content.join('');
  return `<${name}>${inner}</${name}>`;
}

export function successXml(operation: string, result: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<${operation}Response xmlns="${SNS_XMLNS}">` +
    (result ? `<${operation}Result>${result}</${operation}Result>` : '') +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>` +
    `</${operation}Response>`
  );
}

export function errorXml(type: 'Sender' | 'Receiver', code: string, message: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<ErrorResponse xmlns="${SNS_XMLNS}">` +
    `<Error>${el('Type', type)}${el('Code', code)}${el('Message', message)}</Error>` +
    `<RequestId>${requestId}</RequestId>` +
    `</ErrorResponse>`
  );
}
