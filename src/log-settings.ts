import { ConfigError, type ConfigIssue } from './errors.js';

/** winston's npm levels, most severe first: the levels of both loggers (./log.ts, ./json-log.ts). */
export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
const LOG_FORMATS = ['json', 'text'] as const;

/**
 * Lambda's advanced logging controls (AWS_LAMBDA_LOG_LEVEL) as the winston level that keeps the same
 * records. FATAL keeps errors: the rotator logs nothing more severe.
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
 * The level and format a logger runs with, from its options and `env` (LOG_LEVEL, AWS_LAMBDA_LOG_LEVEL,
 * LOG_FORMAT). An unknown level or format is a start-up error naming the variable: winston would
 * otherwise drop every line for a level it does not know (LOG_LEVEL=warning silenced the rotator).
 */
export function logSettings(
  options: { level?: string; format?: string },
  env: NodeJS.ProcessEnv,
): { level: string; format: string | undefined } {
  const format = options.format ?? env.LOG_FORMAT;
  const issues: ConfigIssue[] = [];
  const level = chooseLevel(options.level, env, issues);
  if (format !== undefined && format !== '' && !(LOG_FORMATS as readonly string[]).includes(format)) {
    issues.push({ path: 'LOG_FORMAT', message: 'must be "json" or "text"' });
  }
  if (issues.length > 0) throw new ConfigError(issues, 'the environment');
  return { level, format };
}

/** Whether a record at `level` passes a logger at `limit`; a level the list does not know always passes. */
export function atLeast(level: string, limit: string): boolean {
  const rank = (LOG_LEVELS as readonly string[]).indexOf(level);
  return rank === -1 || rank <= (LOG_LEVELS as readonly string[]).indexOf(limit);
}
