import { randomBytes } from 'node:crypto';
import { memoryStore } from '../../src/adapters/secrets/memory-store.js';
import { parseConfigObject } from '../../src/config/validate.js';
import type { RotatorConfig } from '../../src/config/types.js';
import type {
  AuthTokens,
  OAuthApp,
  OAuthAppsPort,
  TokenVerifier,
  KeyVerifier,
  ProbeResult,
  RestrictedPolicy,
  SecretStore,
  TwilioKey,
  TwilioKeys,
} from '../../src/core/ports.js';
import type { Logger, Runtime } from '../../src/core/runtime.js';
import { RemoteError } from '../../src/errors.js';

/**
 * In-memory fakes at the ports (core/ports.ts, core/runtime.ts) for fast engine tests: a Twilio
 * account's keys, a key verifier that checks secrets, consumers that report what they are told, a
 * memory store with the file store's label rules, and a clock the test moves. Every write is counted.
 */

export const AC = `AC${'a'.repeat(32)}`;
export const DAY = 86_400_000;

export interface FakeKey extends TwilioKey {
  secret: string;
  policy: RestrictedPolicy | null;
}

export class FakeTwilio {
  readonly keys = new Map<string, FakeKey>();
  /** The account's Auth Tokens: the primary, and the one secondary slot. */
  primary = randomBytes(16).toString('hex');
  secondary: string | undefined;
  readonly writes: string[] = [];
  /** Operations that fail once each time they are named here (create, list, remove, fetch). */
  failing: string[] = [];
  /** Keys whose verification Twilio refuses (401/70051), by SID. */
  refused = new Set<string>();
  constructor(private readonly clock: () => number) {}

  seed(friendlyName: string | null, opts: { createdAtMs?: number; policy?: RestrictedPolicy | null } = {}): FakeKey {
    const key = {
      sid: `SK${randomBytes(16).toString('hex')}`,
      friendlyName,
      createdAtMs: opts.createdAtMs ?? this.clock(),
      secret: randomBytes(16).toString('hex'),
      policy: opts.policy ?? null,
    };
    this.keys.set(key.sid, key);
    return key;
  }

  private maybeFail(operation: string): void {
    const i = this.failing.indexOf(operation);
    if (i >= 0) {
      this.failing.splice(i, 1);
      throw new RemoteError(
        'twilio',
        operation,
        { status: 500, retryable: true },
        `Twilio ${operation} failed: HTTP 500 (injected)`,
      );
    }
  }

  api(): TwilioKeys {
    return {
      list: () => {
        this.maybeFail('list');
        return Promise.resolve(
          [...this.keys.values()].map(({ sid, friendlyName, createdAtMs }) => ({ sid, friendlyName, createdAtMs })),
        );
      },
      create: ({ friendlyName, policy }) => {
        this.maybeFail('create');
        this.writes.push(`create ${friendlyName}`);
        const key = this.seed(friendlyName, { policy: policy ?? null });
        return Promise.resolve({ sid: key.sid, friendlyName, createdAtMs: key.createdAtMs, secret: key.secret });
      },
      fetchPolicy: (sid) => {
        this.maybeFail('fetch');
        const key = this.keys.get(sid);
        return Promise.resolve(key ? key.policy : undefined);
      },
      remove: (sid) => {
        this.maybeFail('remove');
        this.writes.push(`remove ${sid}`);
        return Promise.resolve(this.keys.delete(sid) ? 'deleted' : 'already-gone');
      },
    };
  }

  authTokens(): AuthTokens {
    return {
      createSecondary: () => {
        this.maybeFail('createSecondary');
        if (this.secondary) return Promise.resolve('exists' as const);
        this.writes.push('createSecondary');
        this.secondary = randomBytes(16).toString('hex');
        return Promise.resolve({ token: this.secondary });
      },
      deleteSecondary: () => {
        this.maybeFail('deleteSecondary');
        this.writes.push('deleteSecondary');
        const had = this.secondary !== undefined;
        this.secondary = undefined;
        return Promise.resolve(had ? ('deleted' as const) : ('none' as const));
      },
      promote: () => {
        this.maybeFail('promote');
        if (!this.secondary) return Promise.resolve('no-secondary' as const);
        this.writes.push('promote');
        this.primary = this.secondary;
        this.secondary = undefined;
        return Promise.resolve({ token: this.primary });
      },
    };
  }

  tokenVerifier(): TokenVerifier {
    return {
      check: (_accountSid, token) =>
        Promise.resolve(
          token === this.primary || token === this.secondary
            ? { ok: true as const, primary: token === this.primary }
            : { ok: false as const, definitive: true, reason: 'HTTP 401 (Twilio error 20003)' },
        ),
    };
  }

  verifier(): KeyVerifier {
    return {
      verify: (key) => {
        const found = this.keys.get(key.sid);
        if (found?.secret === key.secret && !this.refused.has(key.sid)) return Promise.resolve({ ok: true });
        return Promise.resolve({ ok: false, definitive: true, reason: 'HTTP 401 (Twilio error 20003)' });
      },
    };
  }
}

export const quietLogger = (): Logger & { lines: { level: string; message: string }[] } => {
  const lines: { level: string; message: string }[] = [];
  const make = (): Logger & { lines: typeof lines } => ({
    lines,
    error: (message: string) => lines.push({ level: 'error', message }),
    warn: (message: string) => lines.push({ level: 'warn', message }),
    info: (message: string) => lines.push({ level: 'info', message }),
    child: () => make(),
  });
  return make();
};

export interface FakeWorld {
  config: RotatorConfig;
  runtime: Runtime;
  twilio: FakeTwilio;
  store: SecretStore & { table: Record<string, unknown> };
  /** Moves the clock. */
  advance(ms: number): void;
  now(): number;
  /** What consumers report: one SID per probe, or nothing. */
  reports: string[];
  logger: ReturnType<typeof quietLogger>;
}

/** A world of fakes for one API-key target "app" with an Auth Token admin credential already stored. */
export async function fakeWorld(
  target: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<FakeWorld> {
  return fakeWorldOf(
    [
      {
        name: 'app',
        accountSid: AC,
        keyType: 'standard',
        friendlyNamePrefix: 'rot-',
        secret: { store: 'file', secretId: 'twilio/app' },
        admin: { store: 'file', secretId: 'twilio/admin' },
        gate: { minOverlapSeconds: 3600, maxWaitSeconds: 7 * 86400 },
        ...target,
      },
    ],
    extra,
  );
}

/**
 * A world of fakes for an auth-token target "token" whose secret holds the account's primary token and
 * manages itself, plus any `others` (e.g. an API-key target whose admin secret holds the same token).
 */
export async function fakeTokenWorld(
  target: Record<string, unknown> = {},
  others: Record<string, unknown>[] = [],
): Promise<FakeWorld> {
  return fakeWorldOf(
    [
      {
        kind: 'auth-token',
        name: 'token',
        accountSid: AC,
        secret: { store: 'file', secretId: 'twilio/token' },
        gate: { minOverlapSeconds: 3600, maxWaitSeconds: 7 * 86400 },
        propagationDelaySeconds: 0,
        ...target,
      },
      ...others,
    ],
    {},
    (twilio, store) =>
      store.create('twilio/token', 'c'.repeat(32), JSON.stringify({ accountSid: AC, authToken: twilio.primary })),
  );
}

export async function fakeWorldOf(
  targets: Record<string, unknown>[],
  extra: Record<string, unknown>,
  seed?: (twilio: FakeTwilio, store: SecretStore) => Promise<unknown>,
): Promise<FakeWorld> {
  let nowMs = Date.parse('2026-11-30T12:00:00Z');
  const now = () => nowMs;
  const twilio = new FakeTwilio(now);
  const store = memoryStore({ now });
  await store.create('twilio/admin', 'a'.repeat(32), JSON.stringify({ accountSid: AC, authToken: 'f'.repeat(32) }));
  await seed?.(twilio, store);
  const config = parseConfigObject({
    stores: { file: { path: '/nonexistent/never-used.json' } },
    orphanGraceSeconds: 0,
    ...extra,
    targets,
  });
  const world: FakeWorld = {
    config,
    twilio,
    store,
    reports: [],
    now,
    advance: (ms) => void (nowMs += ms),
    logger: quietLogger(),
    runtime: undefined as unknown as Runtime,
  };
  world.runtime = {
    store: () => store,
    keys: () => twilio.api(),
    verifier: () => twilio.verifier(),
    authTokens: () => twilio.authTokens(),
    tokenVerifier: () => twilio.tokenVerifier(),
    probe: (t, expect): Promise<ProbeResult[]> =>
      Promise.resolve(
        t.gate.probes.map((p, i) => ({
          url: p.url,
          ok: world.reports[i] === expect,
          ...(world.reports[i] ? { reported: world.reports[i] } : {}),
        })),
      ),
    now,
    logger: world.logger,
    orphanGraceMs: config.orphanGraceMs,
    callBudgetMs: config.retry.budgetMs,
  };
  return world;
}

/**
 * OAuth apps held in memory behind the kind's port: an app works exactly while it exists, with its own
 * secret (the emulator-backed suites check the wire). `now` stamps each app's creation.
 */
export function fakeOAuthApps(now: () => number): {
  port: OAuthAppsPort;
  apps: Map<string, OAuthApp & { secret: string }>;
} {
  const apps = new Map<string, OAuthApp & { secret: string }>();
  const refused = { ok: false, definitive: true, reason: 'HTTP 400 (Twilio error 20003) from the token endpoint' };
  const port: OAuthAppsPort = {
    list: () => Promise.resolve([...apps.values()].map(({ secret: _s, ...app }) => app)),
    fetch: (_admin, _account, sid) => Promise.resolve(apps.get(sid)),
    create(_admin, _account, spec) {
      const sid = `OQ${randomBytes(16).toString('hex')}`;
      const app = { ...spec, sid, createdAtMs: now(), secret: randomBytes(32).toString('hex') };
      apps.set(app.sid, app);
      return Promise.resolve(app);
    },
    remove: (_admin, _account, sid) => Promise.resolve(apps.delete(sid) ? 'deleted' : 'already-gone'),
    verify: (creds) =>
      Promise.resolve(apps.get(creds.clientId)?.secret === creds.clientSecret ? { ok: true } : refused),
  };
  return { port, apps };
}
