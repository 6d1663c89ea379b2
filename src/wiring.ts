import { alertChannels } from './adapters/alerts/channels.js';
import { emfWriter } from './adapters/metrics/emf.js';
import type { CloudTrailReads } from './adapters/cloudtrail/reads.js';
import type { awsStore } from './adapters/secrets/aws-store.js';
import { cachedStore, type CachedStore } from './adapters/secrets/cached-store.js';
import { deferredStore } from './adapters/secrets/deferred-store.js';
import { fileStore } from './adapters/secrets/file-store.js';
import { runProbes } from './adapters/probes/http-probe.js';
import { twilioSubaccounts } from './adapters/twilio/subaccounts.js';
import { twilioAuthTokens, twilioTokenVerifier } from './adapters/twilio/auth-tokens.js';
import { TwilioHttpPool } from './adapters/twilio/http-client.js';
import { twilioKeys, twilioVerifier } from './adapters/twilio/keys.js';
import { KeyLists } from './adapters/twilio/listed-keys.js';
import { oauthVerifier, twilioOAuthApps } from './adapters/twilio/oauth-apps.js';
import type { RotatorConfig, StoreName } from './config/types.js';
import type { TargetShape } from './core/target.js';
import type { OAuthAppsPort, TwilioKeys, TwilioOAuthApps } from './core/ports.js';
import type { AdminCredential } from './core/secret-values.js';
import type { Runtime } from './core/runtime.js';
import type { Logger } from './core/runtime.js';
import { redact, registerCredential } from './redact.js';
import { ConfigError, errorMessage } from './errors.js';
import { endpointCredentials } from './adapters/retry.js';

export interface RuntimeOptions {
  logger: Logger;
  now?: () => number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Where metric lines (CloudWatch EMF) go; none are written without it, or with metrics.enabled false. */
  writeMetrics?: (line: string) => void;
  /**
   * The Secrets Manager adapter (src/adapters/secrets/aws-store.ts). Without it, it is imported on the
   * first call to the aws store, so a run on the file store never loads the AWS SDK (CLI start-up).
   * The Lambda, whose every run uses it, passes it in: it is then loaded at init, not on the first event.
   */
  awsStore?: typeof awsStore;
}

/** The optional methods the Secrets Manager store has (a unit test holds this to awsStore's). */
export const AWS_STORE_SHAPE = (batchedSweep: boolean) => ({ labels: true, listVersionIds: true, sweep: batchedSweep });

/** Where a target's Twilio calls go: its account, region and edge. */
function where(target: TargetShape) {
  return {
    accountSid: target.accountSid,
    ...(target.region ? { region: target.region } : {}),
    ...(target.edge ? { edge: target.edge } : {}),
  };
}

/** Wires the configured adapters into the ports of core/runtime.ts. Nothing connects until first use. */
export function createRuntime(config: RotatorConfig, options: RuntimeOptions): Runtime {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const stores = new Map<string, CachedStore>();
  const base = {
    ...(config.twilio.baseUrl ? { baseUrl: config.twilio.baseUrl } : {}),
    timeoutMs: config.twilio.timeoutMs,
  };
  // One keep-alive pool for the run, and the run's requests to each account held under its limit.
  const http = { ...base, pool: new TwilioHttpPool(base, config.concurrency.perAccount) };
  // One Twilio client per credential and account, and one key list per account (src/adapters/twilio/listed-keys.ts).
  const keyClients = new Map<string, TwilioKeys>();
  const keyLists = new KeyLists();
  const common = { http, retry: config.retry, ...(options.signal ? { signal: options.signal } : {}) };
  const store = (name: StoreName): CachedStore => {
    let store = stores.get(name);
    if (!store) {
      if (name === 'file') {
        if (!config.stores.file)
          throw new ConfigError([{ path: 'stores.file', message: 'is required by a target that uses the file store' }]);
        store = cachedStore(fileStore(config.stores.file.path), now);
      } else {
        if (!config.stores.aws)
          throw new ConfigError([{ path: 'stores.aws', message: 'is required by a target that uses the aws store' }]);
        const creds = endpointCredentials(env, config.stores.aws.endpoint);
        const batchedSweep = config.stores.aws.sweep === 'batched';
        const awsOptions = {
          region: config.stores.aws.region,
          ...(config.stores.aws.endpoint ? { endpoint: config.stores.aws.endpoint } : {}),
          timeoutMs: config.stores.aws.timeoutMs,
          batchedSweep,
          retry: config.retry,
          ...(options.signal ? { signal: options.signal } : {}),
          ...creds,
        };
        store = cachedStore(
          options.awsStore
            ? options.awsStore(awsOptions)
            : deferredStore(
                async () => (await import('./adapters/secrets/aws-store.js')).awsStore(awsOptions),
                AWS_STORE_SHAPE(batchedSweep),
              ),
          now,
        );
      }
      stores.set(name, store);
    }
    return store;
  };
  // CloudTrail's event history, looked up once per run (one Runtime per run) for every target's gate.
  let trail: Promise<CloudTrailReads> | undefined;
  const cloudtrail = config.cloudtrail;
  const secretReads = cloudtrail
    ? async (...args: Parameters<CloudTrailReads['reads']>) => {
        trail ??= import('./adapters/cloudtrail/reads.js').then((m) =>
          m.cloudTrailReads({
            ...cloudtrail,
            retry: config.retry,
            now,
            ...(options.signal ? { signal: options.signal } : {}),
            ...endpointCredentials(env, cloudtrail.endpoint),
          }),
        );
        return (await trail).reads(...args);
      }
    : undefined;
  // One adapter per admin credential and account, as for keys; the verifier sends only the app's own credentials.
  const appClients = new Map<string, TwilioOAuthApps>();
  const appsFor = (admin: AdminCredential, accountSid: string) => {
    registerCredential(admin.username, admin.password);
    const id = `${admin.username} ${accountSid.toUpperCase()}`;
    let found = appClients.get(id);
    if (!found) appClients.set(id, (found = twilioOAuthApps(admin, accountSid, common)));
    return found;
  };
  const verifier = oauthVerifier({ ...common, authRetryDelayMs: config.retry.minDelayMs * 5 });
  const oauthAppsPort: OAuthAppsPort = {
    list: (admin, accountSid) => appsFor(admin, accountSid).list(),
    fetch: (admin, accountSid, sid) => appsFor(admin, accountSid).fetch(sid),
    create: (admin, accountSid, spec) => appsFor(admin, accountSid).create(spec),
    remove: (admin, accountSid, sid) => appsFor(admin, accountSid).remove(sid),
    verify: (creds, how) => verifier.verify(creds, how),
  };
  return {
    store,
    close() {
      http.pool.close();
      for (const s of stores.values()) s.close?.();
      void trail?.then((t) => t.close());
    },
    ...(secretReads ? { secretReads } : {}),
    keys(admin, target) {
      registerCredential(admin.username, admin.password);
      const at = where(target);
      const account = `${at.accountSid.toUpperCase()} ${at.region ?? ''} ${at.edge ?? ''}`;
      const id = `${admin.username} ${account}`;
      let found = keyClients.get(id);
      if (!found) keyClients.set(id, (found = keyLists.around(account, twilioKeys(admin, at, common))));
      return found;
    },
    authTokens(admin, target) {
      registerCredential(admin.username, admin.password);
      return twilioAuthTokens(admin, where(target), common);
    },
    subaccounts(parent, at) {
      registerCredential(parent.username, parent.password);
      return twilioSubaccounts(parent, at, common);
    },
    // A new key or token may need a moment to reach every edge: 401s on verification are retried a few times.
    verifier: (target) => twilioVerifier(where(target), { ...common, authRetryDelayMs: config.retry.minDelayMs * 5 }),
    tokenVerifier: (target) =>
      twilioTokenVerifier(
        {
          ...where(target),
          ...('validationUrl' in target && typeof target.validationUrl === 'string'
            ? { validationUrl: target.validationUrl }
            : {}),
        },
        { ...common, authRetryDelayMs: config.retry.minDelayMs * 5 },
      ),
    ports: { 'oauth-app': oauthAppsPort },
    probe: (target, expect, refPattern) => runProbes(target.gate.probes, expect, refPattern, env, options.signal),
    now,
    fresh: (target) => store(target.secret.store).fresh(target.secret.secretId),
    confirmed: (target) => store(target.secret.store).confirmed(target.secret.secretId),
    // Started, not awaited: a read of a swept secret waits for it (cached-store.ts), the admin secrets
    // and what they unlock (the key list) are read meanwhile, so the run takes about its pages' time.
    sweep(targets) {
      const onAws = targets.filter((t) => t.secret.store === 'aws').map((t) => t.secret.secretId);
      if (onAws.length === 0 || config.stores.aws?.sweep !== 'batched') return Promise.resolve();
      store('aws')
        .sweep?.(onAws)
        .catch((err: unknown) => {
          // Each target then reads its own secret, as without the sweep; the run is only slower.
          const grant = 'Grant secretsmanager:ListSecrets and BatchGetSecretValue, or set stores.aws.sweep: per-target';
          const instead = "reading each target's secret instead";
          const failed = `the batched sweep failed (${redact(errorMessage(err))}); ${instead}`;
          options.logger.warn(`${failed}. ${grant}`, { step: 'sweep' });
        });
      return Promise.resolve();
    },
    logger: options.logger,
    orphanGraceMs: config.orphanGraceMs,
    callBudgetMs: config.retry.budgetMs,
    alertChannels: alertChannels(config.alerts.channels, env, { minDelayMs: config.retry.minDelayMs }),
    ...(config.metrics.enabled && options.writeMetrics
      ? { metrics: emfWriter(config.metrics.namespace, options.writeMetrics) }
      : {}),
  };
}
