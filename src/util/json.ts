/**
 * `text` parsed, or undefined when it is not JSON: JSON.parse's error quotes the text, which may be a secret.
 * A body that is not text (an SDK's already-parsed answer) is handed back as it is.
 */
export function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A JSON object: not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
