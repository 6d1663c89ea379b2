import winston from 'winston';
import type { Writable } from 'node:stream';
import { ConfigError, type ConfigIssue } from './errors.js';
import { redactValue, SECRET_FIELD, REDACTED } from './redact.js';

/**
 * Logging with winston: JSON lines off a TTY, short readable lines on a TTY.
 *
 * Redaction has two layers, because a secret can arrive in any field or inside any message:
 *  1. every secret value the process learns (stored versions, new keys, admin credentials) is
 *     registered in ./redact.ts, with its derived forms, and replaced wherever it appears;
 *  2. fields whose name says "secret" (apiKeySecret, authToken, password…) are masked whatever
 *     they hold, so a value never registered still cannot be printed under such a name.
 */

/**
 * Drops a record below the logger's level before anything else runs: winston leaves the level check
 * to its transport, after every format, so a quiet run would still redact and serialise each record.
 */
const atLeast = winston.format((info, opts?: unknown) => {
  const rank = (LOG_LEVELS as readonly string[]).indexOf(String(info.level));
  const limit = (LOG_LEVELS as readonly string[]).indexOf((opts as { level?: string } | undefined)?.level ?? 'info');
  return rank === -1 || rank <= limit ? info : false;
});

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
  const at = where ? ` [${where}]` : '';
  return `${String(timestamp)} ${String(level)}${at} ${String(message)}${extra ? `  ${extra}` : ''}`;
});

export type Logger = winston.Logger;

/** winston's npm levels, most severe first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
const LOG_FORMATS = ['json', 'text'] as const;

/**
 * Lambda's advanced logging controls set AWS_LAMBDA_LOG_LEVEL (TRACE, DEBUG, INFO, WARN, ERROR, FATAL);
 * each maps to the winston level that keeps the same records. FATAL keeps errors: the rotator logs
 * nothing more severe.
 */
const LAMBDA_LEVELS: Record<string, (typeof LOG_LEVELS)[number]> = {
  TRACE: 'silly',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
  FATAL: 'error',
};

/**
 * The level: `level`, else LOG_LEVEL, else AWS_LAMBDA_LOG_LEVEL mapped, else info. LOG_LEVEL wins over
 * Lambda's setting: it is the rotator's own, set on purpose (README "Usage").
 */
function chooseLevel(level: string | undefined, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): string {
  const lambda = env.AWS_LAMBDA_LOG_LEVEL;
  const chosen = level ?? (env.LOG_LEVEL || undefined);
  if (chosen !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(chosen))
      issues.push({ path: 'LOG_LEVEL', message: `must be one of ${LOG_LEVELS.join(', ')} (most to least severe)` });
    return chosen;
  }
  if (!lambda) return 'info';
  const mapped = LAMBDA_LEVELS[lambda.toUpperCase()];
  if (mapped === undefined)
    issues.push({ path: 'AWS_LAMBDA_LOG_LEVEL', message: `must be one of ${Object.keys(LAMBDA_LEVELS).join(', ')}` });
  return mapped ?? 'info';
}

/**
 * `format` (or LOG_FORMAT) forces 'json' or 'text'; by default JSON lines unless the stream is a TTY.
 * An unknown level or format is a start-up error naming the variable: winston would otherwise drop
 * every line for a level it does not know (LOG_LEVEL=warning silenced the rotator completely).
 * `env` (default process.env) supplies LOG_LEVEL, AWS_LAMBDA_LOG_LEVEL and LOG_FORMAT when the
 * options do not.
 */
export function createLogger(
  options: { stream?: Writable; json?: boolean; level?: string; format?: string; env?: NodeJS.ProcessEnv } = {},
): Logger {
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  const format = options.format ?? env.LOG_FORMAT;
  const issues: ConfigIssue[] = [];
  const level = chooseLevel(options.level, env, issues);
  if (format !== undefined && format !== '' && !(LOG_FORMATS as readonly string[]).includes(format)) {
    issues.push({ path: 'LOG_FORMAT', message: 'must be "json" or "text"' });
  }
  if (issues.length > 0) throw new ConfigError(issues, 'the environment');
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

/** Whether logs on `stream` are JSON lines: when asked for, or by default when the stream is not a terminal. */
export function logsAreJson(options: { stream: Writable; json?: boolean; format?: string | undefined }): boolean {
  const { format } = options;
  return (
    options.json ??
    (format === 'json' ? true : format === 'text' ? false : !(options.stream as { isTTY?: boolean }).isTTY)
  );
}
