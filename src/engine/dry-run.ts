import { randomBytes } from 'node:crypto';
import { memoryStore } from '../adapters/secrets/memory-store.js';
import type { StoreName, TargetConfig } from '../config/types.js';
import type { TargetResult } from '../core/outcome.js';
import {
  UNKNOWN_IDENTITY,
  type AuthTokens,
  type KeyVerifier,
  type SecretStore,
  type TokenVerifier,
  type TwilioKey,
  type TwilioKeys,
} from '../core/ports.js';
import { kindOf, tokenFingerprint } from '../credentials/registry.js';
import type { RunOptions, Runtime } from '../core/runtime.js';
import { errorMessage } from '../errors.js';
import { redact } from '../redact.js';
import { describeOutcome } from './describe.js';
import { observeAndPlan, openRun, reconcileTarget } from './reconcile.js';
import { runScope, type Targets } from './targets.js';

/**
 * `rotate --dry-run`: the real loop over in-memory fakes seeded from one read-only look at the real store
 * and Twilio; the fakes get read functions only. Created keys and tokens are imaginary (SK(new), tf(new))
 * and "verify" by fiat; real ones for real. An existing secondary Auth Token cannot be seen without
 * changing something, so the plan assumes none.
 */

const NEW_PREFIX = 'SKd00d';

/** Fakes over `real`, and the imaginary key SIDs they minted. */
export function dryRuntime(real: Runtime): { runtime: Runtime; minted: () => { ref: string; name: string }[] } {
  const stores = new Map<StoreName, SecretStore>();
  const lists = new Map<string, Promise<readonly TwilioKey[]>>();
  const minted: TwilioKey[] = [];
  const removed = new Set<string>();
  const policies = new Map<string, { allow: string[] } | null>();
  const isNew = (sid: string) => sid.startsWith(NEW_PREFIX);
  // The imaginary Auth Tokens: the secondary made in this dry run, and which token is primary after a
  // promotion (the real primary then counts as dead, as it would be).
  const tokens: string[] = [];
  let secondary: string | undefined;
  let promoted: string | undefined;

  const runtime: Runtime = {
    now: () => real.now(),
    logger: real.logger,
    orphanGraceMs: real.orphanGraceMs,
    callBudgetMs: real.callBudgetMs,
    store(name) {
      let store = stores.get(name);
      if (!store) {
        const source = real.store(name);
        store = memoryStore({
          seed: (id) => source.read(id, { versionIds: true }),
          now: () => real.now(),
          newIdentity: () => UNKNOWN_IDENTITY,
        });
        stores.set(name, store);
      }
      return store;
    },
    keys(admin, target): TwilioKeys {
      const source = real.keys(admin, target);
      const listKey = `${target.accountSid}:${admin.username}`;
      return {
        async list() {
          let seeded = lists.get(listKey);
          if (!seeded) lists.set(listKey, (seeded = source.list()));
          return [...(await seeded), ...minted].filter((k) => !removed.has(k.sid));
        },
        create({ friendlyName, policy }) {
          const sid = `${NEW_PREFIX}${String(minted.length + 1).padStart(28, '0')}`;
          const key = { sid, friendlyName, createdAtMs: real.now() };
          minted.push(key);
          policies.set(sid, policy ? { allow: [...policy.allow] } : null);
          // Imaginary, but shaped like a secret; it is never shown.
          return Promise.resolve({ ...key, secret: randomBytes(16).toString('hex') });
        },
        fetchPolicy: async (sid) =>
          removed.has(sid) ? undefined : policies.has(sid) ? policies.get(sid) : source.fetchPolicy(sid),
        remove(sid) {
          if (removed.has(sid)) return Promise.resolve('already-gone' as const);
          removed.add(sid);
          return Promise.resolve('deleted' as const);
        },
      };
    },
    verifier(target): KeyVerifier {
      const source = real.verifier(target);
      return { verify: async (key, how) => (isNew(key.sid) ? { ok: true } : source.verify(key, how)) };
    },
    authTokens(): AuthTokens {
      return {
        createSecondary() {
          if (secondary) return Promise.resolve('exists' as const);
          secondary = randomBytes(16).toString('hex');
          tokens.push(secondary);
          return Promise.resolve({ token: secondary });
        },
        deleteSecondary() {
          const had = secondary !== undefined;
          secondary = undefined;
          return Promise.resolve(had ? ('deleted' as const) : ('none' as const));
        },
        promote() {
          if (!secondary) return Promise.resolve('no-secondary' as const);
          promoted = secondary;
          secondary = undefined;
          return Promise.resolve({ token: promoted });
        },
      };
    },
    tokenVerifier(target): TokenVerifier {
      const source = real.tokenVerifier(target);
      return {
        check(accountSid, token, how) {
          if (tokens.includes(token)) return Promise.resolve({ ok: true, primary: promoted === token });
          if (promoted)
            return Promise.resolve({
              ok: false,
              definitive: true,
              reason: 'HTTP 401 (Twilio error 20003): promoted over',
            });
          return source.check(accountSid, token, how);
        },
      };
    },
    ports: Object.fromEntries(
      Object.entries(real.ports ?? {}).flatMap(([name, port]) => {
        const fake = kindOf({ kind: name }).capabilities.dryRun?.(port);
        return fake === undefined ? [] : [[name, fake]];
      }),
    ),
    // CloudTrail is only read: the dry run asks it as the real run would.
    ...(real.secretReads ? { secretReads: real.secretReads.bind(real) } : {}),
    async probe(target, expect, refPattern) {
      if (!isNew(expect) && !newRefs().includes(expect)) return real.probe(target, expect, refPattern);
      return target.gate.probes.map((p) => ({
        url: new URL(p.url).origin + new URL(p.url).pathname,
        ok: false,
        problem: 'will report the old credential until the consumer reloads',
      }));
    },
  };
  function newRefs(): string[] {
    return tokens.map(tokenFingerprint);
  }
  return {
    runtime,
    minted: () => [
      ...minted.map((k, i) => ({ ref: k.sid, name: i === 0 ? 'SK(new)' : `SK(new ${i + 1})` })),
      ...newRefs().map((ref, i) => ({ ref, name: i === 0 ? 'tf(new)' : `tf(new ${i + 1})` })),
    ],
  };
}

/** The plan of one target: checks from the one real look, then every step the loop took and where it stopped. */
export async function dryRun(
  resolved: Pick<Targets, 'config' | 'admins'>,
  target: TargetConfig,
  real: Runtime,
  options: RunOptions & { outsideWindow?: string; resume?: boolean },
): Promise<TargetResult> {
  const base = { target: target.name, credential: target.kind, steps: [] };
  const fake = dryRuntime(real);
  const scope = runScope(resolved, fake.runtime);
  let checks: string[];
  let warnings: string[];
  try {
    const run = await openRun(target, fake.runtime, scope, options);
    const { obs } = await observeAndPlan(run, fake.runtime);
    const { report } = run.kind;
    ({ checks, warnings } = report.preflight
      ? await report.preflight(run.session, obs, fake.runtime)
      : { checks: [], warnings: [] });
    warnings.push(...(run.kind.report.warnings?.(obs, run.settings) ?? []));
  } catch (err) {
    return { ...base, kind: 'failed', step: 'read-state', error: redact(errorMessage(err)) };
  }
  const result = await reconcileTarget(target, fake.runtime, scope, { ...options, dryRun: true, quiet: true });
  const plan = result.steps.map((s) => s.plan);
  if (result.kind === 'failed') plan.push(`then it would fail at ${result.step}: ${result.error}`);
  else if (result.kind === 'lost-race' || result.kind === 'deferred') plan.push(`then it would stop: ${result.detail}`);
  else if (result.kind !== 'planned') plan.push(`then ${describeOutcome(result)}`);
  // Imaginary keys by what they are, not by the SIDs the fakes made up.
  const rename = (line: string) => fake.minted().reduce((text, { ref, name }) => text.split(ref).join(name), line);
  return { ...base, kind: 'planned', plan: plan.map(rename), checks, warnings };
}
