import { randomBytes } from 'node:crypto';
import { vi } from 'vitest';
import { memoryStore } from '../../src/adapters/secrets/memory-store.js';
import type { SecretTable } from '../../src/adapters/secrets/versioned.js';
import type { RotatorConfig, TargetConfig } from '../../src/config/types.js';
import type { TargetShape } from '../../src/core/target.js';
import { parseConfigObject } from '../../src/config/validate.js';
import { CURRENT, PENDING, PREVIOUS } from '../../src/core/labels.js';
import type {
  AuthTokens,
  KeyVerifier,
  ProbeResult,
  SecretStore,
  TokenVerifier,
  TwilioKeys,
} from '../../src/core/ports.js';
import type { RunOptions, Runtime } from '../../src/core/runtime.js';
import { RemoteError } from '../../src/errors.js';
import { quietLogger } from '../support/fakes.js';

/**
 * The model world behind the model-based tests (test/model/*.model.test.ts): in-memory Twilio and a
 * memory store at the engine's ports, where every credential carries its provenance (who created it)
 * and every port call of a run passes through a fault plan (kill before or after the call's effect,
 * an answer lost after its effect, a 5xx, a write held back and delivered late, a duplicate delivery)
 * and, when two runs share the world, through a scheduler that decides which run's call goes next.
 *
 * The invariants are checked by oracles that know the truth the engine cannot see:
 *   I1  a deletion or promotion acts only on a credential created by the acting target's own rotator
 *   I2  a credential some AWSCURRENT ever held is deleted only once no secret has served it for the
 *       gate's minimum overlap (never while one serves it), and killed by a promotion only once the
 *       promoted token was published for that long
 *   I3  a key another configured target's secret holds (current, pending or previous) is never deleted
 *   I4  after a run without faults, each target's AWSCURRENT authenticates at Twilio
 *   I5  nothing stored is lost: a version's value never changes or disappears, a secret that had an
 *       AWSCURRENT keeps one, and the account's primary Auth Token is always held by some version
 */

export const AC = `AC${'a'.repeat(32)}`;
export const MIN_OVERLAP_MS = 3_600_000;

export type Invariant = 'I1' | 'I2' | 'I3' | 'I4' | 'I5';
export interface Break {
  invariant: Invariant;
  what: string;
}

/** Who made a credential: a target's rotator (`rotator:<name>`), or a person in the Console. */
export type Creator = `rotator:${string}` | 'person' | 'seed';

interface ModelKey {
  sid: string;
  friendlyName: string | null;
  createdAtMs: number;
  secret: string;
  creator: Creator;
}
interface ModelToken {
  token: string;
  creator: Creator;
}

export type FaultKind = 'kill-before' | 'kill-after' | 'lost-answer' | '5xx' | 'late-write' | 'duplicate';
export interface Fault {
  /** The index of the run's port call it hits (0 = the first call). */
  at: number;
  kind: FaultKind;
}

const WRITES = new Set(['reserve', 'create', 'putCurrent', 'putPending', 'promote', 'abandonPending', 'setTags']);

/** One run of the engine (a process), as the world sees it: its calls, its faults, its fate. */
export class RunCtl {
  calls = 0;
  killed = false;
  done = false;
  /**
   * Calls of this run waiting for their turn (scheduled worlds), oldest first: one process may have
   * several calls in flight (targets are reconciled concurrently). Calling one lets that call go.
   */
  readonly waiters: (() => void)[] = [];
  readonly trace: string[] = [];
  private killFn!: () => void;
  readonly killedP = new Promise<'killed'>((resolve) => (this.killFn = () => resolve('killed')));
  constructor(
    readonly name: string,
    readonly faults: readonly Fault[],
    readonly scheduled: boolean,
    readonly replaceSecondary = false,
  ) {}
  kill(): void {
    this.killed = true;
    this.killFn();
  }
  faultAt(n: number): FaultKind | undefined {
    return this.faults.find((f) => f.at === n && f.kind !== 'late-write')?.kind;
  }
}

/** A promise that never settles: what a killed process's next call looks like from inside. */
const hang = <T>(): Promise<T> => new Promise<T>(() => undefined);

type Service = 'twilio' | 'file-store';
const networkError = (service: Service, op: string) =>
  new RemoteError(service, op, { retryable: true }, `${service} ${op}: connection reset (injected: answer lost)`);
const serverError = (service: Service, op: string) =>
  new RemoteError(service, op, { status: 503, retryable: true }, `${service} ${op}: HTTP 503 (injected)`);

export interface WorldOptions {
  targets: Record<string, unknown>[];
  extra?: Record<string, unknown>;
}

export class ModelWorld {
  nowMs = Date.parse('2026-11-30T12:00:00Z');
  readonly now = () => this.nowMs;
  readonly keys = new Map<string, ModelKey>();
  primary: ModelToken = { token: randomBytes(16).toString('hex'), creator: 'seed' };
  secondary: ModelToken | undefined;
  readonly store = memoryStore({ now: this.now });
  readonly config: RotatorConfig;
  readonly breaks: Break[] = [];
  /** Store writes of killed runs, held back: LateWrites delivers them. */
  readonly late: { label: string; apply: () => Promise<unknown> }[] = [];
  readonly logger = quietLogger();
  /** Per secret id: the credential AWSCURRENT holds and since when (the truth, from the store). */
  private readonly served = new Map<string, { cred: string; sinceMs: number }>();
  /** Per secret id: credentials labelled AWSCURRENT or AWSPENDING, and since when, continuously. */
  private readonly published = new Map<string, Map<string, number>>();
  /** Per secret id: when its AWSCURRENT last stopped holding each credential it once held. */
  private readonly stoppedAt = new Map<string, Map<string, number>>();
  /** Credential → the secrets whose AWSCURRENT ever held it. */
  private readonly everServed = new Map<string, Set<string>>();
  /** secretId → versionId → value, every value ever seen stored. */
  private readonly history = new Map<string, Map<string, string>>();
  private readonly hadCurrent = new Set<string>();
  /**
   * Per target: credentials it adopted. A key a person stored as AWSCURRENT becomes the target's when
   * its own rotator promotes another version over it (README: "the previous key of a promotion it
   * performed itself" may be retired once the gate passes).
   */
  private readonly adopted = new Map<string, Set<string>>();
  /** Every token value any version of a secret has held. */
  private readonly storedTokens = new Set<string>();
  /** The running tally of runs, kills and faults, for the report. */
  readonly figures = { runs: 0, kills: 0, faults: 0, lateWrites: 0, checks: 0 };

  constructor(options: WorldOptions) {
    this.config = parseConfigObject({
      stores: { file: { path: '/nonexistent/never-used.json' } },
      ...options.extra,
      targets: options.targets,
    });
  }

  get table(): SecretTable {
    return this.store.table;
  }

  breakIf(cond: boolean, invariant: Invariant, what: string): void {
    this.figures.checks++;
    if (cond) this.breaks.push({ invariant, what });
  }

  // ---- Twilio, with provenance -------------------------------------------------------------------

  addKey(friendlyName: string | null, creator: Creator): ModelKey {
    const key: ModelKey = {
      sid: `SK${randomBytes(16).toString('hex')}`,
      friendlyName,
      createdAtMs: this.nowMs,
      secret: randomBytes(16).toString('hex'),
      creator,
    };
    this.keys.set(key.sid, key);
    return key;
  }

  private secretsOf(kind: 'api-key' | 'auth-token'): TargetConfig[] {
    return this.config.targets.filter((t) => t.kind === kind);
  }

  /** The credential id (key SID or token) each labelled version of a secret holds, by stage. */
  heldBy(secretId: string): { stage: string; cred: string }[] {
    const secret = this.table[secretId];
    if (!secret) return [];
    return secret.versions.flatMap((v) =>
      v.stages.flatMap((stage) => {
        const cred = credOf(v.value);
        return cred ? [{ stage, cred }] : [];
      }),
    );
  }

  /**
   * The oracle for retiring `cred`. A deletion: every secret whose AWSCURRENT ever held it must have
   * stopped serving it at least the gate's minimum overlap ago (consumers had that long to move on);
   * deleting what a secret serves right now is a lock-out whatever the time. A promotion that kills
   * it (`promotedTo`): the token promoted must have been published (AWSPENDING or AWSCURRENT) in
   * each such secret for the minimum overlap, so consumers could switch before the old one died.
   */
  private retireChecks(cred: string, actor: string, how: string, promotedTo?: string): void {
    for (const secretId of this.everServed.get(cred) ?? []) {
      const now = this.served.get(secretId);
      if (promotedTo === undefined) {
        if (now?.cred === cred) {
          this.breakIf(true, 'I2', `${actor} ${how} ${short(cred)} while ${secretId} serves it as AWSCURRENT`);
          continue;
        }
        const stopped = this.stoppedAt.get(secretId)?.get(cred);
        const age = stopped === undefined ? 0 : this.nowMs - stopped;
        this.breakIf(
          age < MIN_OVERLAP_MS,
          'I2',
          `${actor} ${how} ${short(cred)}, which ${secretId} served until ${Math.round(age / 1000)} s ago ` +
            `(now ${now ? short(now.cred) : 'nothing'}; gate: ${MIN_OVERLAP_MS / 1000} s)`,
        );
        continue;
      }
      const since = this.published.get(secretId)?.get(promotedTo);
      const age = since === undefined ? undefined : this.nowMs - since;
      this.breakIf(
        age === undefined || age < MIN_OVERLAP_MS,
        'I2',
        `${actor} ${how} ${short(cred)}, which ${secretId} served, ${
          age === undefined
            ? `while ${short(promotedTo)} is not published there`
            : `${Math.round(age / 1000)} s after ${short(promotedTo)} was published (gate: ${MIN_OVERLAP_MS / 1000} s)`
        }`,
      );
    }
  }

  twilioKeys(run: RunCtl, target: TargetShape): TwilioKeys {
    const actor = `rotator:${target.name}` as const;
    return {
      list: () =>
        this.call(run, 'twilio', 'keys.list', false, () =>
          Promise.resolve(
            [...this.keys.values()].map(({ sid, friendlyName, createdAtMs }) => ({ sid, friendlyName, createdAtMs })),
          ),
        ),
      create: ({ friendlyName }) =>
        this.call(run, 'twilio', 'keys.create', true, () => {
          const k = this.addKey(friendlyName, actor);
          return Promise.resolve({ sid: k.sid, friendlyName, createdAtMs: k.createdAtMs, secret: k.secret });
        }),
      fetchPolicy: (sid) =>
        this.call(run, 'twilio', 'keys.fetchPolicy', false, () =>
          Promise.resolve(this.keys.has(sid) ? null : undefined),
        ),
      remove: (sid) =>
        this.call(run, 'twilio', 'keys.remove', true, (): Promise<'deleted' | 'already-gone'> => {
          const key = this.keys.get(sid);
          if (!key) return Promise.resolve('already-gone' as const);
          this.breakIf(
            key.creator !== actor && !this.adopted.get(target.name)?.has(sid),
            'I1',
            `${target.name} deleted key ${short(sid)} created by ${key.creator}, never its own current before one of its promotions (${run.name})`,
          );
          for (const other of this.secretsOf('api-key')) {
            if (other.name === target.name) continue;
            const held = this.heldBy(other.secret.secretId).filter((h) => h.cred === sid);
            this.breakIf(
              held.length > 0,
              'I3',
              `${target.name} deleted key ${short(sid)}, which ${other.name}'s secret holds as ${held.map((h) => h.stage).join('+')} (${run.name})`,
            );
          }
          this.retireChecks(sid, `${target.name} (${run.name})`, 'deleted');
          this.keys.delete(sid);
          return Promise.resolve('deleted' as const);
        }),
    };
  }

  authTokens(run: RunCtl, target: TargetShape): AuthTokens {
    const actor = `rotator:${target.name}` as const;
    return {
      createSecondary: () =>
        this.call(run, 'twilio', 'authTokens.createSecondary', true, (): Promise<{ token: string } | 'exists'> => {
          if (this.secondary) return Promise.resolve('exists' as const);
          this.secondary = { token: randomBytes(16).toString('hex'), creator: actor };
          return Promise.resolve({ token: this.secondary.token });
        }),
      deleteSecondary: () =>
        this.call(run, 'twilio', 'authTokens.deleteSecondary', true, (): Promise<'deleted' | 'none'> => {
          const had = this.secondary;
          if (!had) return Promise.resolve('none' as const);
          this.breakIf(
            had.creator !== actor && !run.replaceSecondary,
            'I1',
            `${target.name} deleted the secondary Auth Token ${short(had.token)} created by ${had.creator} (${run.name})`,
          );
          this.retireChecks(had.token, `${target.name} (${run.name})`, 'deleted the secondary');
          this.secondary = undefined;
          return Promise.resolve('deleted' as const);
        }),
      promote: () =>
        this.call(run, 'twilio', 'authTokens.promote', true, (): Promise<{ token: string } | 'no-secondary'> => {
          const next = this.secondary;
          if (!next) return Promise.resolve('no-secondary' as const);
          this.breakIf(
            next.creator !== actor,
            'I1',
            `${target.name} promoted the secondary Auth Token ${short(next.token)} created by ${next.creator} (${run.name})`,
          );
          this.retireChecks(this.primary.token, `${target.name} (${run.name})`, 'killed by a promotion', next.token);
          this.primary = next;
          this.secondary = undefined;
          return Promise.resolve({ token: next.token });
        }),
    };
  }

  private tokenVerifier(run: RunCtl): TokenVerifier {
    return {
      check: (_account, token) =>
        this.call(run, 'twilio', 'tokens.check', false, () =>
          Promise.resolve(
            token === this.primary.token || token === this.secondary?.token
              ? { ok: true as const, primary: token === this.primary.token }
              : { ok: false as const, definitive: true, reason: 'HTTP 401 (Twilio error 20003)' },
          ),
        ),
    };
  }

  private keyVerifier(run: RunCtl): KeyVerifier {
    return {
      verify: (key) =>
        this.call(run, 'twilio', 'keys.verify', false, () =>
          Promise.resolve(
            this.keys.get(key.sid)?.secret === key.secret
              ? { ok: true as const }
              : { ok: false as const, definitive: true, reason: 'HTTP 401 (Twilio error 20003)' },
          ),
        ),
    };
  }

  /** True when `value` (a stored document) authenticates at Twilio now. */
  authenticates(value: string | undefined): boolean {
    const doc = parse(value);
    if (typeof doc?.apiKeySid === 'string') return this.keys.get(doc.apiKeySid)?.secret === doc.apiKeySecret;
    if (typeof doc?.authToken === 'string')
      return doc.authToken === this.primary.token || doc.authToken === this.secondary?.token;
    return false;
  }

  // ---- the store, watched -------------------------------------------------------------------------

  private wrapStore(run: RunCtl): SecretStore {
    const s = this.store;
    const w =
      <A extends unknown[], R>(op: string, fn: (...args: A) => Promise<R>) =>
      (...args: A): Promise<R> =>
        this.call(run, 'file-store', op, WRITES.has(op), () => fn(...args));
    return {
      read: w('read', (id: string, o?: Parameters<SecretStore['read']>[1]) => s.read(id, o)),
      reserve: w('reserve', (id: string) => s.reserve(id)),
      create: w('create', (id: string, t: string, v: string) => s.create(id, t, v)),
      putCurrent: w('putCurrent', (id: string, t: string, v: string) => s.putCurrent(id, t, v)),
      putPending: w('putPending', (id: string, t: string, v: string) => s.putPending(id, t, v)),
      promote: w('promote', (id: string, t: string) => {
        this.adopt(id);
        return s.promote(id, t);
      }),
      abandonPending: w('abandonPending', (id: string, t: string) => s.abandonPending(id, t)),
      setTags: w('setTags', (id: string, tags: Readonly<Record<string, string>>) => s.setTags(id, tags)),
    };
  }

  /** A rotator moves AWSCURRENT of `secretId` away: the credential it held becomes its target's. */
  private adopt(secretId: string): void {
    const target = this.config.targets.find((t) => t.secret.secretId === secretId);
    const cred = credOf(this.table[secretId]?.versions.find((v) => v.stages.includes(CURRENT))?.value);
    if (!target || cred === undefined) return;
    const set = this.adopted.get(target.name) ?? new Set<string>();
    set.add(cred);
    this.adopted.set(target.name, set);
  }

  /** Brings the oracles' picture of the store up to date; called after every store effect. */
  observeStore(): void {
    for (const [secretId, secret] of Object.entries(this.table)) {
      const seen = this.history.get(secretId) ?? new Map<string, string>();
      this.history.set(secretId, seen);
      for (const [versionId, value] of seen) {
        const v = secret.versions.find((x) => x.versionId === versionId);
        this.breakIf(v?.value !== value, 'I5', `version ${versionId} of ${secretId} lost its value`);
      }
      for (const v of secret.versions) {
        if (v.value === undefined) continue;
        seen.set(v.versionId, v.value);
        const token = parse(v.value)?.authToken;
        if (typeof token === 'string') this.storedTokens.add(token);
      }
      const current = secret.versions.find((v) => v.stages.includes(CURRENT));
      if (current) this.hadCurrent.add(secretId);
      else this.breakIf(this.hadCurrent.has(secretId), 'I5', `secret ${secretId} lost its AWSCURRENT`);
      // Consumers read the targets' own secrets; an admin secret serves only the rotator itself.
      if (!this.config.targets.some((t) => t.secret.secretId === secretId)) continue;
      const cred = credOf(current?.value);
      const before = this.served.get(secretId);
      if (cred === undefined) this.served.delete(secretId);
      else if (before?.cred !== cred) {
        if (before) {
          const stops = this.stoppedAt.get(secretId) ?? new Map<string, number>();
          stops.set(before.cred, this.nowMs);
          this.stoppedAt.set(secretId, stops);
        }
        this.served.set(secretId, { cred, sinceMs: this.nowMs });
        const set = this.everServed.get(cred) ?? new Set<string>();
        set.add(secretId);
        this.everServed.set(cred, set);
      }
      const pub = this.published.get(secretId) ?? new Map<string, number>();
      this.published.set(secretId, pub);
      const now = new Set(
        secret.versions
          .filter((v) => v.stages.includes(CURRENT) || v.stages.includes(PENDING))
          .flatMap((v) => credOf(v.value) ?? []),
      );
      for (const c of [...pub.keys()]) if (!now.has(c)) pub.delete(c);
      for (const c of now) if (!pub.has(c)) pub.set(c, this.nowMs);
    }
    if (this.secretsOf('auth-token').length > 0)
      this.breakIf(
        !this.storedTokens.has(this.primary.token),
        'I5',
        `the account's primary Auth Token ${short(this.primary.token)} is stored in no version`,
      );
  }

  /** I4 for the targets a run without faults covered. */
  checkCurrentWorks(targets: readonly string[]): void {
    for (const t of this.config.targets.filter((x) => targets.includes(x.name))) {
      const current = this.table[t.secret.secretId]?.versions.find((v) => v.stages.includes(CURRENT));
      if (!current) continue;
      this.breakIf(
        !this.authenticates(current.value),
        'I4',
        `after a run without faults, ${t.name}'s AWSCURRENT ${short(credOf(current.value) ?? '?')} does not authenticate`,
      );
    }
  }

  // ---- one port call through the fault plan and the scheduler -------------------------------------

  async call<T>(run: RunCtl, service: Service, op: string, write: boolean, effect: () => Promise<T>): Promise<T> {
    if (run.killed) return hang();
    if (run.scheduled) {
      await new Promise<void>((resolve) => run.waiters.push(resolve));
      if (run.killed) return hang();
    }
    const n = run.calls++;
    // A late write holds back the run's first store write at or after its index, then kills the run.
    const lateDue = service === 'file-store' && write && run.faults.some((f) => f.kind === 'late-write' && f.at <= n);
    const fault = lateDue && !run.killed ? 'late-write' : run.faultAt(n);
    run.trace.push(`${n}:${op}${fault ? `!${fault}` : ''}`);
    const apply = async () => {
      try {
        return await effect();
      } finally {
        if (service === 'file-store' && write) this.observeStore();
      }
    };
    if (!fault) return apply();
    this.figures.faults++;
    switch (fault) {
      case 'kill-before':
        this.killRun(run);
        return hang();
      case 'kill-after':
        await apply();
        this.killRun(run);
        return hang();
      case 'lost-answer':
        await apply();
        throw networkError(service, op);
      case '5xx':
        throw serverError(service, op);
      case 'late-write':
        this.late.push({ label: `${run.name} ${op}`, apply });
        this.figures.lateWrites++;
        this.killRun(run);
        return hang();
      case 'duplicate':
        // A request delivered twice (an adapter retried after an answer was lost): both take effect,
        // the caller sees the second answer.
        await apply();
        return apply();
    }
  }

  private killRun(run: RunCtl): void {
    this.figures.kills++;
    run.kill();
  }

  /** The runtime one run (one process) sees: every port call goes through `call`. */
  runtimeFor(run: RunCtl): Runtime {
    const store = this.wrapStore(run);
    return {
      store: () => store,
      keys: (_admin, target) => this.twilioKeys(run, target),
      verifier: () => this.keyVerifier(run),
      authTokens: (_admin, target) => this.authTokens(run, target),
      tokenVerifier: () => this.tokenVerifier(run),
      probe: (t): Promise<ProbeResult[]> => Promise.resolve(t.gate.probes.map((p) => ({ url: p.url, ok: false }))),
      now: this.now,
      logger: this.logger,
      orphanGraceMs: this.config.orphanGraceMs,
      callBudgetMs: this.config.retry.budgetMs,
    };
  }

  /** A person's runtime: the documented commands, no faults, no scheduler. */
  personRuntime(name = 'person'): Runtime {
    return this.runtimeFor(new RunCtl(name, [], false));
  }

  /**
   * Runs `bodies` (one per process) to their end or their kill. Scheduled runs take turns in the
   * order `order` gives (indices into the runs ready to call, cycled); a run inside a pause (the Auth
   * Token flow's settle pause) is moved on by fake time. Bounded: a run that neither calls, ends nor
   * pauses within the bound is a bug in the model or the engine, and says so.
   */
  async drive(runs: { ctl: RunCtl; body: (rt: Runtime) => Promise<unknown> }[], order: readonly number[] = [0]) {
    this.figures.runs += runs.length;
    const settled = runs.map(({ ctl, body }) => {
      const p = body(this.runtimeFor(ctl)).then(
        (r) => {
          ctl.done = true;
          return r;
        },
        (err: unknown) => {
          ctl.done = true;
          return { thrown: err };
        },
      );
      return Promise.race([p, ctl.killedP]);
    });
    for (let step = 0; step < 20_000; step++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const active = runs.filter(({ ctl }) => !ctl.done && !ctl.killed);
      if (active.length === 0) return Promise.all(settled);
      const ready = active.filter(({ ctl }) => ctl.waiters.length > 0);
      if (ready.length === 0) {
        await vi.advanceTimersByTimeAsync(1000);
        continue;
      }
      const pick = ready[(order[step % order.length] ?? 0) % ready.length]!.ctl;
      pick.waiters.shift()!();
    }
    throw new Error(`runs ${runs.map((r) => r.ctl.name).join(', ')} did not end within the driver's bound`);
  }

  async deliverLate(): Promise<void> {
    for (const w of this.late.splice(0)) await w.apply();
  }
}

export function parse(value: string | undefined): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The credential a stored document holds: its key SID or its Auth Token. */
export function credOf(value: string | undefined): string | undefined {
  const doc = parse(value);
  if (typeof doc?.apiKeySid === 'string') return doc.apiKeySid;
  if (typeof doc?.authToken === 'string') return doc.authToken;
  return undefined;
}

/** A credential named in a message: a key SID in full, a token by a short prefix (test tokens only). */
export function short(cred: string): string {
  return cred.startsWith('SK') ? cred : `token:${cred.slice(0, 6)}`;
}

export { CURRENT, PENDING, PREVIOUS };
export type { RunOptions };
