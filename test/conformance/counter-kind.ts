import { randomBytes } from 'node:crypto';
import type { TargetBase } from '../../src/config/types.js';
import { gateBlockers, type GateCheck } from '../../src/core/gate.js';
import {
  CURRENT,
  formatPromotion,
  formatStamp,
  labelled,
  parseStamp,
  PENDING,
  PREVIOUS,
  recordedPromotion,
  TAG_CURRENT_SINCE,
  TAG_PROMOTED,
  TAG_RETIRED,
} from '../../src/core/labels.js';
import type { Outcome } from '../../src/core/outcome.js';
import type { StoredSecret } from '../../src/core/ports.js';
import { rotationId } from '../../src/core/rotation-id.js';
import type { Runtime } from '../../src/core/runtime.js';
import type { KindModule, RunFlags, Session, StepSpec } from '../../src/credentials/kind.js';
import { SecretShapeError } from '../../src/errors.js';

/**
 * A toy third kind that lives only in test/: "counters" issued by an in-memory service. It is the
 * proof that a kind is one folder plus one line: it is registered by the conformance suite
 * (registerKind), never by src/, and passes the same suite as the built-in kinds.
 *
 *   (no current) ─create-current─▶ done ··· due ···▶ create-pending ─▶ promote ─▶ mark-current
 *        ─▶ check-gate ─(waiting)…─▶ retire-previous ─▶ done
 *
 * A counter is provably this target's when its name carries the version id it was made for; one whose
 * version was never stored (a crash between issuing and storing) was never served and is revoked.
 */

export interface CounterTarget extends TargetBase {
  kind: 'counter';
}

interface Counter {
  id: string;
  name: string;
  secret: string;
  createdAtMs: number;
}

/** The toy provider: counters by id. Every write is counted. */
export class CounterService {
  readonly counters = new Map<string, Counter>();
  readonly writes: string[] = [];
  constructor(readonly now: () => number) {}
  list(): Promise<Omit<Counter, 'secret'>[]> {
    return Promise.resolve([...this.counters.values()].map(({ secret: _s, ...rest }) => rest));
  }
  issue(name: string): Promise<Counter> {
    const c = { id: `CT${randomBytes(4).toString('hex')}`, name, secret: randomBytes(8).toString('hex') };
    const counter = { ...c, createdAtMs: this.now() };
    this.counters.set(c.id, counter);
    this.writes.push(`issue ${name}`);
    return Promise.resolve(counter);
  }
  revoke(id: string): Promise<void> {
    this.counters.delete(id);
    this.writes.push(`revoke ${id}`);
    return Promise.resolve();
  }
}

type CounterApi = Pick<CounterService, 'list' | 'issue' | 'revoke'>;

/** The kind reaches its provider through the runtime's ports, so the dry run can give it a fake. */
function api(runtime: Runtime): CounterApi {
  const port = runtime.ports?.counter as CounterApi | undefined;
  if (!port) throw new Error('no counter service in this runtime');
  return port;
}

/** The dry run's counter service: reads the real list, issues and revokes only in memory. */
function fakeOver(real: CounterApi): CounterApi {
  const minted: Counter[] = [];
  const revoked = new Set<string>();
  return {
    list: async () => [...(await real.list()), ...minted].filter((c) => !revoked.has(c.id)),
    issue: (name) => {
      const c = { id: `CT${randomBytes(4).toString('hex')}`, name, secret: 'imaginary', createdAtMs: 0 };
      minted.push(c);
      return Promise.resolve(c);
    },
    revoke: (id) => {
      revoked.add(id);
      return Promise.resolve();
    },
  };
}

interface Held {
  versionId: string;
  id: string;
  secret: string;
  createdAtMs: number;
}

interface Obs {
  nowMs: number;
  secret: StoredSecret | undefined;
  current?: Held;
  pending?: Held;
  previous?: Held;
  live: Omit<Counter, 'secret'>[];
  gate?: { probes: never[]; confirmed: boolean };
}

type Step =
  | { kind: 'create-current'; versionId: string }
  | { kind: 'revoke-unstored'; ids: string[] }
  | { kind: 'create-pending'; versionId: string }
  | { kind: 'drop-pending'; versionId: string }
  | { kind: 'promote'; versionId: string; from: string }
  | { kind: 'mark-current'; versionId: string }
  | { kind: 'retire-previous'; versionId: string; id: string };

interface Settings {
  name: string;
  maxAgeMs: number;
  gate: CounterTarget['gate'];
}

type CounterSession = Session<CounterTarget>;
const nameFor = (target: string, versionId: string) => `${target}:${versionId}`;

function held(secret: StoredSecret | undefined, stage: string): Held | undefined {
  const v = labelled(secret, stage);
  if (!v?.value) return undefined;
  const { id, secret: value } = JSON.parse(v.value) as { id: string; secret: string };
  return { versionId: v.versionId, id, secret: value, createdAtMs: v.createdAtMs ?? 0 };
}

function plan(obs: Obs, s: Settings & RunFlags): Step | GateCheck | Outcome {
  const { secret, current, pending, previous } = obs;
  const isLive = (id: string) => obs.live.some((c) => c.id === id);
  const allIds = secret?.allVersionIds ?? [];
  // Counters named for a version the secret never had: never served, so provably safe to revoke.
  const unstored = obs.live.filter(
    (c) => c.name.startsWith(`${s.name}:`) && !allIds.includes(c.name.slice(s.name.length + 1)),
  );
  if (unstored.length > 0 && secret?.versionIdsComplete !== false)
    return { kind: 'revoke-unstored', ids: unstored.map((c) => c.id) };
  if (!current) return { kind: 'create-current', versionId: rotationId(s.name, 'genesis', allIds) };
  const since = parseStamp(secret!.tags[TAG_CURRENT_SINCE], current.versionId);
  const promoted = previous !== undefined && recordedPromotion(secret!, previous.versionId, current.versionId);
  if (since === undefined && (promoted || !previous)) return { kind: 'mark-current', versionId: current.versionId };
  if (previous && promoted && isLive(previous.id) && previous.id !== current.id && since !== undefined) {
    const overlap = s.emergency?.overlapMs;
    const on =
      overlap !== undefined
        ? obs.nowMs - since < overlap
          ? ['emergency overlap']
          : []
        : obs.gate
          ? gateBlockers(obs.gate, s.gate, { nowMs: obs.nowMs, sinceMs: since, expect: current.id, target: s.name })
          : undefined;
    if (on === undefined)
      return { kind: 'check-gate', versionId: current.versionId, expect: current.id, sinceMs: since };
    if (on.length > 0)
      return { kind: 'waiting', on, sinceMs: since, deadlineMs: since + s.gate.maxWaitMs, kept: previous.id };
    return { kind: 'retire-previous', versionId: previous.versionId, id: previous.id };
  }
  if (pending && pending.versionId !== current.versionId) {
    if (!isLive(pending.id)) return { kind: 'drop-pending', versionId: pending.versionId };
    return { kind: 'promote', versionId: pending.versionId, from: current.versionId };
  }
  const due =
    s.token !== undefined ||
    s.force ||
    (s.emergency !== undefined && !s.emergency.created.has(current.versionId)) ||
    obs.nowMs - current.createdAtMs >= s.maxAgeMs;
  if (due && s.token !== current.versionId)
    return { kind: 'create-pending', versionId: s.token ?? rotationId(s.name, current.versionId, allIds) };
  return { kind: 'done', current: current.id, nextDueAtMs: current.createdAtMs + s.maxAgeMs };
}

async function issueInto(session: CounterSession, runtime: Runtime, versionId: string, as: 'current' | 'pending') {
  const { target, store } = session;
  const c = await api(runtime).issue(nameFor(target.name, versionId));
  const value = JSON.stringify({ id: c.id, secret: c.secret });
  const secretId = target.secret.secretId;
  const put =
    as === 'current'
      ? await store.create(secretId, versionId, value)
      : await store.putPending(secretId, versionId, value);
  if (put === 'token-conflict') {
    await api(runtime).revoke(c.id);
    const detail = `version ${versionId} was stored by someone else; revoked ${c.id}`;
    return { detail, end: { kind: 'lost-race' as const, detail } };
  }
  return { detail: `issued ${c.id} as ${as} (version ${versionId})`, createdVersion: versionId, startedRotation: true };
}

type Spec = StepSpec<Step, Obs, CounterSession, Settings>;
const step = <K extends Step['kind']>(
  act: (step: Extract<Step, { kind: K }>, session: CounterSession, runtime: Runtime) => ReturnType<Spec['act']>,
  describe: string,
  props: Partial<Spec> = {},
): StepSpec<Extract<Step, { kind: K }>, Obs, CounterSession, Settings> => ({
  act: (d, _obs, session, runtime) => act(d, session, runtime),
  describe: () => describe,
  ...props,
});
const secretIdOf = (session: CounterSession) => session.target.secret.secretId;

export const counterKind: KindModule<CounterTarget, CounterSession, Obs, Step, Settings> = {
  config: {
    schema: undefined as never,
    convert: (raw) => raw as CounterTarget,
    check: () => undefined,
    secretMayBeAdmin: false,
  },
  open: (target, runtime) =>
    Promise.resolve({
      session: { target, store: runtime.store(target.secret.store) },
      settings: { name: target.name, maxAgeMs: target.maxAgeMs, gate: target.gate },
    }),
  async observe(session, runtime) {
    const secret = await session.store.read(secretIdOf(session));
    return {
      nowMs: runtime.now(),
      secret,
      current: held(secret, CURRENT),
      pending: held(secret, PENDING),
      previous: held(secret, PREVIOUS),
      live: await api(runtime).list(),
    };
  },
  plan,
  steps: {
    'create-current': step<'create-current'>(
      (d, s, rt) => issueInto(s, rt, d.versionId, 'current'),
      'issue a counter',
      {
        namesVersion: true,
      },
    ),
    'revoke-unstored': step<'revoke-unstored'>(
      async (d, _s, rt) => {
        for (const id of d.ids) await api(rt).revoke(id);
        return { detail: `revoked ${d.ids.join(', ')}: no version ever held them` };
      },
      'revoke counters no version ever held',
      { irreversible: true },
    ),
    'create-pending': step<'create-pending'>(
      (d, s, rt) => issueInto(s, rt, d.versionId, 'pending'),
      'issue a counter as AWSPENDING',
      { window: true, namesVersion: true },
    ),
    'drop-pending': step<'drop-pending'>(async (d, s) => {
      await s.store.abandonPending(secretIdOf(s), d.versionId);
      return { detail: `dropped AWSPENDING from ${d.versionId}: its counter is gone` };
    }, 'drop a dead pending version'),
    promote: step<'promote'>(
      async (d, s) => {
        await s.store.setTags(secretIdOf(s), { [TAG_PROMOTED]: formatPromotion(d.from, d.versionId) });
        await s.store.promote(secretIdOf(s), d.versionId);
        return { detail: `promoted ${d.versionId}` };
      },
      'promote the pending counter',
      { window: true },
    ),
    'mark-current': step<'mark-current'>(async (d, s, rt) => {
      await s.store.setTags(secretIdOf(s), { [TAG_CURRENT_SINCE]: formatStamp(d.versionId, rt.now()) });
      return { detail: `marked ${d.versionId} current` };
    }, 'record when the counter became current'),
    'retire-previous': step<'retire-previous'>(
      async (d, s, rt) => {
        await api(rt).revoke(d.id);
        await s.store.setTags(secretIdOf(s), { [TAG_RETIRED]: d.versionId });
        return { detail: `revoked the previous counter ${d.id}`, completedRotation: true };
      },
      'revoke the previous counter',
      { irreversible: true },
    ),
  },
  rotation: {
    createSecret: { steps: ['revoke-unstored', 'create-pending'], done: (o, t) => holds(o, t) },
    setSecret: { steps: [], done: (o, t) => holds(o, t) },
    testSecret: { steps: [], done: (o, t) => holds(o, t) && o.live.some((c) => c.id === byToken(o, t)?.id) },
    finishSecret: {
      steps: ['promote', 'mark-current'],
      done: (o, t) => o.current?.versionId === t && parseStamp(o.secret?.tags[TAG_CURRENT_SINCE], t) !== undefined,
    },
  },
  words: { noun: 'counter', ref: /^CT[0-9a-f]{8}$/ },
  emergency: { settleMs: () => 0, consequence: (overlap) => `Consumers on the old counter lose it ${overlap} after.` },
  report: {
    summary: (obs, target) =>
      obs.current
        ? {
            ref: obs.current.id,
            versionId: obs.current.versionId,
            createdAtMs: obs.current.createdAtMs,
            nextDueAtMs: obs.current.createdAtMs + target.maxAgeMs,
            gone: !obs.live.some((c) => c.id === obs.current!.id),
          }
        : { gone: false },
    confirmable(secret) {
      const current = held(secret, CURRENT)!;
      const previous = held(secret, PREVIOUS);
      const waiting =
        previous &&
        secret.tags[TAG_RETIRED] !== previous.versionId &&
        recordedPromotion(secret, previous.versionId, current.versionId) === true;
      return waiting ? { versionId: current.versionId, ref: current.id } : { nothing: 'no old counter waits' };
    },
    describeValue(value, source) {
      const parsed = JSON.parse(value) as { id?: unknown };
      if (typeof parsed.id !== 'string') throw new SecretShapeError(source, 'id', 'is missing');
      return `counter ${parsed.id}`;
    },
  },
  capabilities: { dryRun: (real) => fakeOver(real as CounterApi) },
};

const byToken = (o: Obs, t: string) => [o.pending, o.current].find((h) => h?.versionId === t);
const holds = (o: Obs, t: string) => byToken(o, t) !== undefined;
