import winston from 'winston';
import type { Writable } from 'node:stream';
import { atLeast as passes, logSettings } from './log-settings.js';
import { redactFields } from './redact.js';

/**
 * Logging with winston: JSON lines off a TTY, short readable lines on a TTY. Every record passes
 * ./redact.ts first: registered secret values and fields whose name says "secret" never print.
 */

/**
 * Drops a record below the logger's level before anything else runs: winston leaves the level check
 * to its transport, after every format, so a quiet run would still redact and serialise each record.
 */
const atLeast = winston.format((info, opts?: unknown) =>
  passes(String(info.level), (opts as { level?: string } | undefined)?.level ?? 'info') ? info : false,
);

const redaction = winston.format((info) => {
  redactFields(info);
  return info;
});

const readable = winston.format.printf((info) => {
  const { level, message, timestamp, target, step, ...rest } = info as Record<string, unknown>;
  const where = [target, step].filter(Boolean).join(' ');
  const extra = Object.entries(rest)
    .filter(([k]) => typeof k === 'string' && !k.startsWith('Symbol'))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const at = where ? ` [${where}]` : '';
  return `${String(timestamp)} ${String(level)}${at} ${String(message)}${extra ? `  ${extra}` : ''}`;
});

export type Logger = winston.Logger;

/**
 * `format` (or LOG_FORMAT) forces 'json' or 'text'; by default JSON lines unless the stream is a TTY.
 * The level and format are checked by ./log-settings.ts, from the options, else `env`.
 */
export function createLogger(
  options: { stream?: Writable; json?: boolean; level?: string; format?: string; env?: NodeJS.ProcessEnv } = {},
): Logger {
  const stream = options.stream ?? process.stderr;
  const { level, format } = logSettings(options, options.env ?? process.env);
  const json = logsAreJson({ stream, format, ...(options.json !== undefined ? { json: options.json } : {}) });
  return winston.createLogger({
    level,
    format: winston.format.combine(
      atLeast({ level }),
      redaction(),
      winston.format.timestamp(),
      json ? winston.format.json() : readable,
    ),
    transports: [new winston.transports.Stream({ stream })],
  });
}

/** Whether logs on `stream` are JSON lines: when asked for, else when the stream is not a terminal. */
export function logsAreJson(options: { stream: Writable; json?: boolean; format?: string | undefined }): boolean {
  const { format } = options;
  return (
    options.json ??
    (format === 'json' ? true : format === 'text' ? false : !(options.stream as { isTTY?: boolean }).isTTY)
  );
}
