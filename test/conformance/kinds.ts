import type { RotatorConfig } from '../../src/config/types.js';
import { memoryStore } from '../../src/adapters/secrets/memory-store.js';
import type { Runtime } from '../../src/core/runtime.js';
import { tokenFingerprint } from '../../src/credentials/auth-token/shape.js';
import { registerKind } from '../../src/credentials/registry.js';
import { parseConfigObject } from '../../src/config/validate.js';
import { AC, DAY, fakeOAuthApps, fakeWorld, fakeWorldOf, quietLogger, type FakeWorld } from '../support/fakes.js';
import { CounterService, counterKind } from './counter-kind.js';

/**
 * One fixture per kind the conformance suite runs over: a fresh in-memory world with one target of
 * that kind whose gate needs a person's confirmation and no overlap. A new kind joins the suite by
 * one line in FIXTURES.
 */
export interface KindWorld {
  config: RotatorConfig;
  runtime: Runtime;
  target: string;
  advance(ms: number): void;
  /** References of the target's credentials the provider holds now. */
  live(): Promise<string[]>;
}

export interface Fixture {
  kind: string;
  world(): Promise<KindWorld>;
}

const GATE = { minOverlapSeconds: 0, maxWaitSeconds: 7 * 86400, manualConfirm: true };

const fromFake = (w: FakeWorld, target: string, live: () => string[]): KindWorld => ({
  config: w.config,
  runtime: w.runtime,
  target,
  advance: (ms) => w.advance(ms),
  live: () => Promise.resolve(live()),
});

registerKind('counter', counterKind);

function counterWorld(): Promise<KindWorld> {
  let nowMs = Date.parse('2026-11-30T12:00:00Z');
  const now = () => nowMs;
  const service = new CounterService(now);
  const store = memoryStore({ now });
  // The configuration format knows the built-in kinds only: the toy's target is built in code.
  const base = parseConfigObject({
    stores: { file: { path: '/nonexistent/never-used.json' } },
    orphanGraceSeconds: 0,
    targets: [
      {
        name: 'unused',
        accountSid: AC,
        keyType: 'standard',
        friendlyNamePrefix: 'x-',
        secret: { store: 'file', secretId: 'x' },
        admin: { store: 'file', secretId: 'y' },
      },
    ],
  });
  const target = {
    kind: 'counter',
    name: 'ctr',
    accountSid: AC,
    secret: { store: 'aws' as const, secretId: 'counter/app' },
    maxAgeMs: 30 * DAY,
    gate: { minOverlapMs: 0, maxWaitMs: 7 * DAY, manualConfirm: true, probes: [] },
    paused: false,
  };
  const config = { ...base, targets: [target] } as unknown as RotatorConfig;
  const unused = () => {
    throw new Error('the counter kind uses no Twilio port');
  };
  const runtime: Runtime = {
    store: () => store,
    keys: unused,
    verifier: unused,
    authTokens: unused,
    tokenVerifier: unused,
    ports: { counter: service },
    probe: () => Promise.resolve([]),
    now,
    logger: quietLogger(),
    orphanGraceMs: 0,
    callBudgetMs: 10_000,
  };
  return Promise.resolve({
    config,
    runtime,
    target: 'ctr',
    advance: (ms) => void (nowMs += ms),
    live: () => Promise.resolve([...service.counters.keys()]),
  });
}

/** Both stores configured, so the rotated secrets can live on Secrets Manager (its protocol needs that). */
const STORES = { stores: { file: { path: '/nonexistent/never-used.json' }, aws: { region: 'us-east-1' } } };
const ON_AWS = (secretId: string) => ({ secret: { store: 'aws', secretId }, gate: GATE });

export const FIXTURES: readonly Fixture[] = [
  {
    kind: 'api-key',
    world: async () => {
      const w = await fakeWorld(ON_AWS('twilio/app'), STORES);
      return fromFake(w, 'app', () => [...w.twilio.keys.values()].map((k) => k.sid));
    },
  },
  {
    kind: 'auth-token',
    world: async () => {
      const target = { kind: 'auth-token', name: 'token', accountSid: AC, propagationDelaySeconds: 0 };
      const w = await fakeWorldOf([{ ...target, ...ON_AWS('twilio/token') }], STORES, (twilio, store) =>
        store.create('twilio/token', 'c'.repeat(32), JSON.stringify({ accountSid: AC, authToken: twilio.primary })),
      );
      const tokens = () => [w.twilio.primary, w.twilio.secondary].flatMap((t) => (t ? [tokenFingerprint(t)] : []));
      return fromFake(w, 'token', tokens);
    },
  },
  { kind: 'counter', world: counterWorld },
  {
    kind: 'oauth-app',
    world: async () => {
      const target = {
        kind: 'oauth-app',
        name: 'oauth',
        accountSid: AC,
        policy: { allow: ['/twilio/messaging/messages/list'] },
        friendlyNamePrefix: 'rot-oauth-',
        admin: { store: 'file', secretId: 'twilio/admin' },
      };
      const w = await fakeWorldOf([{ ...target, ...ON_AWS('twilio/oauth') }], STORES);
      const { port, apps } = fakeOAuthApps(() => w.now());
      w.runtime = { ...w.runtime, ports: { ...w.runtime.ports, 'oauth-app': port } };
      return fromFake(w, 'oauth', () => [...apps.keys()]);
    },
  },
];
