import { stat } from 'node:fs/promises';
import { configPathFromEnv, DEFAULT_CONFIG_PATH, loadConfig } from '../../config/load.js';
import type { RotatorConfig } from '../../config/types.js';
import { ConfigError, type ConfigIssue } from '../../errors.js';
import { createLogger, logsAreJson } from '../../log.js';
import { createRuntime } from '../../wiring.js';
import type { CliIo } from './command.js';
import type { CliValues } from './flags.js';

/** Opens the session of a run; loaded only for a run (../cli.ts "Start-up"). */
export function openSession(values: CliValues, io: CliIo) {
  const warn = (message: string) => void io.stderr.write(`twilio-key-rotator: warning: ${message}\n`);
  const json = values.json ? { json: true } : {};
  const path = values.config ?? configPathFromEnv(io.env, warn) ?? DEFAULT_CONFIG_PATH;
  const logger = createLogger({ stream: io.stderr, env: io.env, ...json });
  let signal: AbortSignal | undefined;
  return {
    path,
    logger,
    /** The run's signal, once `config()` has been called. */
    signal: () => signal,
    /** Reads and validates the configuration; first starts treating SIGINT/SIGTERM as the run's signal. */
    async config(): Promise<RotatorConfig> {
      // `rotate --now` handles its signals itself.
      signal = io.signal ?? (values.now === undefined ? io.interrupts?.() : undefined);
      return await loadConfig(path, io.env);
    },
    /** The runtime, once the stores of the `named` targets (or `store`) are checked unless `setup: false`. */
    async runtime(config: RotatorConfig, use: { named?: readonly string[]; store?: string; setup?: false } = {}) {
      const { storesNamed } = await import('../../engine/targets.js');
      const stores = use.store ? new Set([use.store]) : storesNamed(config, use.named);
      if (use.setup !== false) await checkSetup(config, io.env, stores);
      // Metrics (CloudWatch EMF) ride with JSON logs on stderr, where a log agent picks them up.
      const jsonLogs = logsAreJson({ stream: io.stderr, format: io.env.LOG_FORMAT, ...json });
      return createRuntime(config, {
        logger,
        env: io.env,
        ...(signal ? { signal } : {}),
        ...(jsonLogs ? { writeMetrics: (line: string) => void io.stderr.write(line) } : {}),
      });
    },
  };
}

/**
 * Problems of the machine, found before anything is read or changed (a file store path that is a
 * directory, no AWS credentials): exit 2 naming what to fix, instead of every target failing (exit 1).
 */
async function checkSetup(config: RotatorConfig, env: NodeJS.ProcessEnv, storesUsed: Set<string>) {
  const issues: ConfigIssue[] = [];
  const file = config.stores.file;
  if (file && storesUsed.has('file')) {
    const info = await stat(file.path).catch(() => undefined);
    if (info && !info.isFile()) {
      const what = info.isDirectory() ? 'a directory' : 'not a regular file';
      const fix = 'point stores.file.path at a file (it is created on first use), e.g. .state/secrets.json';
      issues.push({ path: 'stores.file.path', message: `${file.path} is ${what}; ${fix}` });
    }
  }
  const aws = config.stores.aws;
  // The emulator and tests pass keys from the environment with an endpoint (src/wiring.ts).
  const staticKeys = Boolean(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && aws?.endpoint);
  if (aws && storesUsed.has('aws') && !staticKeys) {
    const missing = await awsCredentialsMissing(aws.region);
    const fix = 'set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
    const sandbox = "(against the sandbox's emulator any values do)";
    const message = `none found for the aws store (${missing}); ${fix} ${sandbox}`;
    if (missing) issues.push({ path: 'AWS credentials', message });
  }
  if (issues.length > 0) throw new ConfigError(issues, 'the setup');
}

/** Resolves the SDK's default credential chain once; the reason when it finds nothing, else undefined. */
async function awsCredentialsMissing(region: string): Promise<string | undefined> {
  const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({ region });
  try {
    await client.config.credentials();
    return undefined;
  } catch (err) {
    if ((err as Error).name !== 'CredentialsProviderError') throw err;
    return 'the SDK tried the environment, shared config and profiles, and instance or container roles';
  } finally {
    client.destroy();
  }
}
