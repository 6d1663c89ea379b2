import { stat } from 'node:fs/promises';
import { isMemberName } from '../config/fleets.js';
import type { RotatorConfig } from '../config/types.js';
import { ConfigError, type ConfigIssue } from '../errors.js';

/**
 * Problems of the machine a command runs on, found before anything is read or changed: a file store
 * path that is a directory, no AWS credentials for the aws store. They are setup, like a bad
 * configuration: exit 2 with the field and what to do, instead of every target failing (exit 1).
 */
export async function checkSetup(config: RotatorConfig, env: NodeJS.ProcessEnv, storesUsed: Set<string>) {
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
    if (missing)
      issues.push({
        path: 'AWS credentials',
        message: `none found for the aws store (${missing}); set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (against the sandbox's emulator any values do)`,
      });
  }
  if (issues.length > 0) throw new ConfigError(issues, 'the setup');
}

/**
 * The stores a command will open: the one `secret put` names (`only`), else those of the targets and
 * fleets it names (a fleet member by its fleet), else every target's and fleet's.
 */
export function storesOf(config: RotatorConfig, only?: string, names?: readonly string[]): Set<string> {
  if (only) return new Set([only]);
  const named = (name: string) => !names?.length || names.includes(name);
  const ofFleet = (fleet: string) => !names?.length || names.some((n) => n === fleet || isMemberName(fleet, n));
  return new Set([
    ...config.targets.filter((t) => named(t.name)).flatMap((t) => [t.secret.store, t.admin.store]),
    ...config.fleets
      .filter((f) => ofFleet(f.name))
      .flatMap((f) => [f.admin.store, f.member(f.parentAccountSid).secret.store]),
  ]);
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
