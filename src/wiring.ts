import { alertChannels } from './adapters/alerts/channels.js';
import { emfWriter } from './adapters/metrics/emf.js';
import { awsStore } from './adapters/secrets/aws-store.js';
import { fileStore } from './adapters/secrets/file-store.js';
import { runProbes } from './adapters/probes/http-probe.js';
import { twilioAuthTokens, twilioTokenVerifier } from './adapters/twilio/auth-tokens.js';
import { twilioKeys, twilioVerifier } from './adapters/twilio/keys.js';
import type { RotatorConfig, TargetConfig } from './config/types.js';
import type { SecretStore } from './core/ports.js';
import type { Runtime } from './core/runtime.js';
import type { Logger } from './core/runtime.js';
import { registerCredential } from './redact.js';
import { ConfigError } from './errors.js';

export interface RuntimeOptions {
  logger: Logger;
  now?: () => number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Where metric lines (CloudWatch EMF) go; none are written without it, or with metrics.enabled false. */
  writeMetrics?: (line: string) => void;
}

/** Where a target's Twilio calls go: its account, region and edge. */
function where(target: TargetConfig) {
  return {
    accountSid: target.accountSid,
    ...(target.region ? { region: target.region } : {}),
    ...(target.edge ? { edge: target.edge } : {}),
  };
}

/** Wires the configured adapters into the ports of core/runtime.ts. Nothing connects until first use. */
export function createRuntime(config: RotatorConfig, options: RuntimeOptions): Runtime {
  const env = options.env ?? process.env;
  const stores = new Map<string, SecretStore>();
  const http = {
    ...(config.twilio.baseUrl ? { baseUrl: config.twilio.baseUrl } : {}),
    timeoutMs: config.twilio.timeoutMs,
  };
  const common = { http, retry: config.retry, ...(options.signal ? { signal: options.signal } : {}) };
  return {
    store(name) {
      let store = stores.get(name);
      if (!store) {
        if (name === 'file') {
          if (!config.stores.file)
            throw new ConfigError([
              { path: 'stores.file', message: 'is required by a target that uses the file store' },
            ]);
          store = fileStore(config.stores.file.path);
        } else {
          if (!config.stores.aws)
            throw new ConfigError([{ path: 'stores.aws', message: 'is required by a target that uses the aws store' }]);
          const creds =
            env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && config.stores.aws.endpoint
              ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } }
              : {};
          store = awsStore({
            region: config.stores.aws.region,
            ...(config.stores.aws.endpoint ? { endpoint: config.stores.aws.endpoint } : {}),
            timeoutMs: config.stores.aws.timeoutMs,
            retry: config.retry,
            ...(options.signal ? { signal: options.signal } : {}),
            ...creds,
          });
        }
        stores.set(name, store);
      }
      return store;
    },
    keys(admin, target) {
      registerCredential(admin.username, admin.password);
      return twilioKeys(admin, where(target), common);
    },
    authTokens(admin, target) {
      registerCredential(admin.username, admin.password);
      return twilioAuthTokens(admin, where(target), common);
    },
    // A new key or token may need a moment to reach every edge: 401s on verification are retried a few times.
    verifier: (target) => twilioVerifier(where(target), { ...common, authRetryDelayMs: config.retry.minDelayMs * 5 }),
    tokenVerifier: (target) =>
      twilioTokenVerifier(
        {
          ...where(target),
          ...(target.kind === 'auth-token' && target.validationUrl ? { validationUrl: target.validationUrl } : {}),
        },
        { ...common, authRetryDelayMs: config.retry.minDelayMs * 5 },
      ),
    probe: (target, expect, refPattern) => runProbes(target.gate.probes, expect, refPattern, env, options.signal),
    now: options.now ?? Date.now,
    logger: options.logger,
    orphanGraceMs: config.orphanGraceMs,
    callBudgetMs: config.retry.budgetMs,
    alertChannels: alertChannels(config.alerts.channels, env, { minDelayMs: config.retry.minDelayMs }),
    ...(config.metrics.enabled && options.writeMetrics
      ? { metrics: emfWriter(config.metrics.namespace, options.writeMetrics) }
      : {}),
  };
}
