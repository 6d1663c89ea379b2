import { ATTRIBUTE_KEYS, matches, summary, type StoredEvent } from './events.js';

/**
 * LookupEvents (API_LookupEvents): at most one lookup attribute; StartTime/EndTime in epoch seconds;
 * MaxResults 1-50, default 50; events newest first; NextToken valid only with the same parameters;
 * "You can look up events that occurred in a Region within the last 90 days".
 */

export const RETENTION_MS = 90 * 86_400_000;

export class CtError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface Held {
  seq: number;
  event: StoredEvent;
}

type Input = Record<string, unknown>;

const timeOf = (input: Input, field: string): number | undefined => {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new CtError('SerializationException', `${field} must be a timestamp in epoch seconds`);
  return v * 1000;
};

function attribute(input: Input): { key: string; value: string } | undefined {
  const list = input.LookupAttributes;
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw new CtError('SerializationException', 'LookupAttributes must be a list');
  if (list.length === 0) return undefined;
  // "Contains a list of lookup attributes. Currently the list can contain only one item."
  if (list.length > 1)
    throw new CtError('InvalidLookupAttributesException', 'You can specify only one lookup attribute.');
  const only = list[0] as { AttributeKey?: unknown; AttributeValue?: unknown };
  if (typeof only.AttributeKey !== 'string' || !ATTRIBUTE_KEYS.includes(only.AttributeKey))
    throw new CtError(
      'InvalidLookupAttributesException',
      `Lookup attribute key ${String(only.AttributeKey)} is not valid.`,
    );
  if (typeof only.AttributeValue !== 'string' || only.AttributeValue.length < 1 || only.AttributeValue.length > 2000)
    throw new CtError('InvalidLookupAttributesException', 'AttributeValue must be 1 to 2000 characters.');
  return { key: only.AttributeKey, value: only.AttributeValue };
}

interface Token {
  q: string;
  time: number;
  seq: number;
}

const encode = (t: Token) => Buffer.from(JSON.stringify(t)).toString('base64');
function decode(raw: unknown, q: string): Token {
  const invalid = new CtError('InvalidNextTokenException', 'A token that is not valid was provided.');
  if (typeof raw !== 'string') throw invalid;
  try {
    const t = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as Token;
    if (t.q !== q || typeof t.time !== 'number' || typeof t.seq !== 'number') throw invalid;
    return t;
  } catch {
    throw invalid;
  }
}

/** Newest first; events of the same second in reverse order of recording. */
const newestFirst = (a: Held, b: Held) => b.event.eventTimeMs - a.event.eventTimeMs || b.seq - a.seq;

export function lookupEvents(
  held: readonly Held[],
  input: Input,
  at: { nowMs: number; deliveryDelayMs: number },
): Record<string, unknown> {
  const attr = attribute(input);
  if (input.EventCategory !== undefined && input.EventCategory !== 'insight')
    throw new CtError('InvalidEventCategoryException', 'EventCategory must be insight.');
  const max = input.MaxResults ?? 50;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 50)
    throw new CtError('InvalidMaxResultsException', 'MaxResults must be between 1 and 50.');
  const endMs = timeOf(input, 'EndTime') ?? at.nowMs;
  const startMs = timeOf(input, 'StartTime') ?? at.nowMs - RETENTION_MS;
  if (startMs > endMs)
    throw new CtError('InvalidTimeRangeException', 'Start time must be before or equal to the end time.');
  // Insights events: this emulator records none.
  if (input.EventCategory === 'insight') return { Events: [] };
  const q = JSON.stringify([attr?.key, attr?.value, startMs, endMs, max]);
  const after = input.NextToken === undefined ? undefined : decode(input.NextToken, q);
  const visible = held
    .filter((h) => h.event.eventTimeMs + at.deliveryDelayMs <= at.nowMs)
    .filter((h) => h.event.eventTimeMs >= at.nowMs - RETENTION_MS)
    .filter((h) => h.event.eventTimeMs >= startMs && h.event.eventTimeMs <= endMs)
    .filter((h) => !attr || matches(h.event, attr.key, attr.value))
    .sort(newestFirst)
    .filter(
      (h) => !after || h.event.eventTimeMs < after.time || (h.event.eventTimeMs === after.time && h.seq < after.seq),
    );
  const page = visible.slice(0, max);
  const last = page.at(-1);
  return {
    Events: page.map((h) => summary(h.event)),
    ...(visible.length > max && last ? { NextToken: encode({ q, time: last.event.eventTimeMs, seq: last.seq }) } : {}),
  };
}
