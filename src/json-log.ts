import type { Writable } from 'node:stream';
import type { Logger } from './core/runtime.js';
import { atLeast, logSettings } from './log-settings.js';
import { redactFields } from './redact.js';

/**
 * The Lambda's logger: the JSON lines of ./log.ts (same fields, key order, redaction, levels and settings)
 * without winston, which cost the handler ~65 KiB of start-up code (README "Bundle size and cold start").
 * A test holds the two loggers' lines equal.
 */

type Fields = Record<string, unknown>;

/** JSON with every object's keys sorted, as winston's (safe-stable-stringify) writes it. */
function stringify(value: unknown, seen: Set<object>): string | undefined {
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return stringify((toJSON as () => unknown).call(value), seen);
  if (seen.has(value)) return '"[Circular]"';
  seen.add(value);
  const out = Array.isArray(value)
    ? `[${value.map((v) => stringify(v, seen) ?? 'null').join(',')}]`
    : `{${Object.keys(value)
        .sort()
        .flatMap((k) => {
          const text = stringify((value as Fields)[k], seen);
          return text === undefined ? [] : [`${JSON.stringify(k)}:${text}`];
        })
        .join(',')}}`;
  seen.delete(value);
  return out;
}

/**
 * One record, as winston builds it: the child's fields, then the call's, under the call's level and
 * message (a `message` field of the call appended to it).
 */
function record(level: string, message: string, base: Fields, fields: Fields): Fields {
  const info: Fields = { ...base, ...fields, level, message };
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- winston's own template, kept as it is
  if (fields.message) info.message = `${message} ${String(fields.message)}`;
  redactFields(info);
  info.timestamp ??= new Date().toISOString();
  return info;
}

/** A JSON-lines logger on `stream` at the level LOG_LEVEL / AWS_LAMBDA_LOG_LEVEL choose; bad values throw. */
export function createJsonLogger(options: { stream: Writable; level?: string; env?: NodeJS.ProcessEnv }): Logger {
  const { level: limit } = logSettings(options, options.env ?? process.env);
  const make = (base: Fields): Logger => {
    const at =
      (level: string) =>
      (message: string, fields: Fields = {}): void => {
        if (!atLeast(level, limit)) return;
        options.stream.write(`${stringify(record(level, message, base, fields), new Set())}\n`);
      };
    return {
      error: at('error'),
      warn: at('warn'),
      info: at('info'),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make({});
}
