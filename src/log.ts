import winston from 'winston';
import type { Writable } from 'node:stream';

/**
 * Logging with winston: JSON lines off a TTY, short readable lines on a TTY.
 *
 * Redaction has two layers, because a secret can arrive in any field or inside any message:
 *  1. every secret value the process learns (stored versions, new keys, admin credentials) is
 *     registered with `registerSecret` and replaced wherever it appears in a log record;
 *  2. fields whose name says "secret" (apiKeySecret, authToken, password…) are masked whatever
 *     they hold, so a value never registered still cannot be printed under such a name.
 */

const REDACTED = '[REDACTED]';
const SECRET_FIELD =
  /^(apiKeySecret|adminKeySecret|authToken|secondaryAuthToken|password|secret|secretString|SecretString|authorization)$/i;
const known = new Set<string>();

export function registerSecret(value: string | undefined): void {
  // Very short strings would redact ordinary words; real secrets are 32 characters.
  if (value && value.length >= 8) known.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
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

const redaction = winston.format((info) => {
  for (const key of Object.keys(info)) {
    info[key] = SECRET_FIELD.test(key) ? REDACTED : redactValue(info[key]);
  }
  return info;
});

const readable = winston.format.printf((info) => {
  const { level, message, timestamp, target, step, ...rest } = info as Record<string, unknown>;
  const where = [target, step].filter(Boolean).join(' ');
  const extra = Object.entries(rest)
    .filter(([k]) => typeof k === 'string' && !k.startsWith('Symbol'))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${String(timestamp)} ${String(level)}${where ? ` [${where}]` : ''} ${String(message)}${extra ? `  ${extra}` : ''}`;
});

export type Logger = winston.Logger;

/** `format` (or LOG_FORMAT) forces 'json' or 'text'; by default JSON lines unless the stream is a TTY. */
export function createLogger(
  options: { stream?: Writable; json?: boolean; level?: string; format?: string } = {},
): Logger {
  const stream = options.stream ?? process.stderr;
  const format = options.format ?? process.env.LOG_FORMAT;
  const json =
    options.json ?? (format === 'json' ? true : format === 'text' ? false : !(stream as { isTTY?: boolean }).isTTY);
  return winston.createLogger({
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    format: winston.format.combine(redaction(), winston.format.timestamp(), json ? winston.format.json() : readable),
    transports: [new winston.transports.Stream({ stream })],
  });
}

/** A logger that drops everything, for library use and unit tests that do not look at logs. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
