/**
 * One small error family. Each error says what failed, on which thing, and what to do next; none
 * ever carries a secret value. The CLI maps them to exit codes in one place (entry/cli.ts).
 */

export interface ConfigIssue {
  /** Dot path into the configuration, e.g. "targets.0.gate.minOverlapSeconds". */
  path: string;
  message: string;
}

/** Bad configuration or usage: exit code 2, nothing was changed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly issues: readonly ConfigIssue[],
    readonly source = 'configuration',
  ) {
    super(`${source} is invalid:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
  }
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A remote call failed for good: either a 4xx that retrying cannot fix, or retries ran out.
 * `hint` tells the operator what to change.
 */
export class RemoteError extends Error {
  override name = 'RemoteError';
  constructor(
    readonly service: 'twilio' | 'secrets-manager' | 'file-store' | 'probe',
    readonly operation: string,
    readonly detail: { status?: number; code?: string | number; retryable: boolean; hint?: string },
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A rotation step failed on a target; carries the target and step for logs and alerts. */
export class RotationError extends Error {
  override name = 'RotationError';
  constructor(
    readonly target: string,
    readonly step: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
