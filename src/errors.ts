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

/** A remote call failed for good (a 4xx that retrying cannot fix, or retries ran out); `hint`: what to change. */
export class RemoteError extends Error {
  override name = 'RemoteError';
  constructor(
    readonly service: 'twilio' | 'secrets-manager' | 'file-store' | 'probe' | 'alert',
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

/** Where a stored value came from, for messages: the secret, and the version when there is one. */
export interface ValueSource {
  secretId: string;
  versionId?: string;
  stage?: string;
}

function describeSource(source: ValueSource): string {
  const version = source.versionId ? ` version ${source.versionId}` : '';
  return `secret "${source.secretId}"${source.stage ? ` ${source.stage}` : ''}${version}`;
}

/**
 * A stored value that does not have the shape its secret needs. The message names the secret, the
 * version and the field, and never quotes the value: the value is a secret.
 */
export class SecretShapeError extends Error {
  override name = 'SecretShapeError';
  constructor(
    readonly source: ValueSource,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${describeSource(source)}: ${field} ${problem}`);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
