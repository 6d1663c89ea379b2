import { readFileSync } from 'node:fs';
import { CURRENT, PENDING } from '../../src/core/labels.js';
import { FAULT_KINDS, prng, type RequestLogEntry } from '../emulators/common/index.js';
import { authenticates, type StoredKey } from '../support/assertions.js';
import { spawnCli } from '../support/child.js';
import { startLossyProxy, type LossyProxy } from '../support/lossy-proxy.js';
import { AWS_ENV, World, type StoreKind, type TargetSpec } from '../support/world.js';

/**
 * The seeded chaos campaign over the real processes and emulators (issue 19, item 10): the real CLI
 * in a child process, SIGKILLed at a random request; the emulators' faults (5xx, 429, dropped
 * connections, slow answers); answers lost after their effect (test/support/lossy-proxy.ts); and a
 * person acting between runs through the documented commands (secret put --replace, confirm, abort)
 * and the Console (a secondary Auth Token made or deleted by hand, a key made by hand).
 *
 * Every target's gate is a person's confirmation (manualConfirm, no minimum overlap), so "the gate
 * passed" is a fact the campaign knows: the versions the person confirmed. The invariants are checked
 * by the emulators' hooks at the moment a deletion or promotion takes effect, and after every step:
 *   I1  no deletion or promotion of a credential the configuration never held and a person made
 *       (hand-made keys never stored, secondaries made in the Console)
 *   I2  a credential some target's AWSCURRENT served is deleted only once the person confirmed what
 *       that target serves since it moved off it (a promotion: only once the person confirmed the
 *       token promoted), and never while a target's AWSCURRENT or AWSPENDING holds it
 *   I3  no key two targets' secrets hold is deleted
 *   I4  after a run that met no kill, fault or lost answer, every AWSCURRENT authenticates
 *   I5  no stored version loses or changes its value; a secret with an AWSCURRENT keeps one
 * Every loop is bounded in steps and in time; the campaign ends by itself.
 */

export type Scenario =
  'api-key-file' | 'api-key-aws' | 'auth-token-file' | 'targets-aws' | 'fleet-file' | 'daemon-file';
export const SCENARIOS: readonly Scenario[] = [
  'api-key-file',
  'api-key-aws',
  'auth-token-file',
  'targets-aws',
  'fleet-file',
  'daemon-file',
];

export interface Figures {
  steps: number;
  runs: number;
  kills: number;
  faults: number;
  lostAnswers: number;
  personActions: number;
  checks: number;
  breaks: string[];
}

export const emptyFigures = (): Figures => ({
  steps: 0,
  runs: 0,
  kills: 0,
  faults: 0,
  lostAnswers: 0,
  personActions: 0,
  checks: 0,
  breaks: [],
});

interface Inspected {
  versions: { versionId: string; stages: string[]; value?: string }[];
  tags: Record<string, string>;
}

const GATE = { minOverlapSeconds: 0, maxWaitSeconds: 86_400, manualConfirm: true };
const TOKEN = 'twilio/token';
/** How long a daemon step lets the daemon run before SIGTERM. */
const DAEMON_MS = 2500;
const ADMIN = 'twilio/admin';

function credOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const doc = JSON.parse(value) as { apiKeySid?: string; authToken?: string };
    return doc.apiKeySid ?? doc.authToken;
  } catch {
    return undefined;
  }
}
const short = (cred: string) => (cred.startsWith('SK') ? cred : `token ${cred.slice(0, 6)}…`);

/** The longest a child may run: past it, it is killed, and the run counts as a break (it hung). */
const CHILD_BOUND_MS = 90_000;

/** Waits for a child, killing it if it outlives CHILD_BOUND_MS (exit code null, signal SIGKILL). */
async function bounded(run: Awaited<ReturnType<typeof spawnCli>>) {
  const watchdog = setTimeout(() => run.child.kill('SIGKILL'), CHILD_BOUND_MS);
  try {
    return await run.done;
  } finally {
    clearTimeout(watchdog);
  }
}

/** One scenario's world and what the campaign knows about it. */
export class Chaos {
  readonly figures = emptyFigures();
  private readonly random: () => number;
  /** Keys and secondaries a person made, by SID or token. */
  private readonly personKeys = new Set<string>();
  private readonly personSecondaries = new Set<string>();
  /** Credential → target secrets whose AWSCURRENT held it at some look. */
  private readonly everServed = new Map<string, Set<string>>();
  /** Target secret → versions the person confirmed, and at which look. */
  private readonly confirmed = new Map<string, Map<string, number>>();
  /** Target secret → credential → the look at which its AWSCURRENT last moved off it. */
  private readonly stoppedAt = new Map<string, Map<string, number>>();
  private readonly servedNow = new Map<string, string>();
  /** Counts looks: the campaign's own clock, since the processes it watches use the real one. */
  private looks = 0;
  private readonly seen = new Map<string, Map<string, string>>();
  private readonly hadCurrent = new Set<string>();
  private pending = new Map<number, { op: string; path: string; secondary?: string; primary: string }>();

  private constructor(
    readonly scenario: Scenario,
    readonly seed: number,
    readonly world: World,
    private readonly twilioProxy: LossyProxy,
    private readonly smProxy: LossyProxy,
    readonly targets: { name: string; secretId: string; kind: 'api-key' | 'auth-token' }[],
  ) {
    this.random = prng(seed * 7919 + SCENARIOS.indexOf(scenario));
  }

  static async start(scenario: Scenario, seed: number): Promise<Chaos> {
    const store: StoreKind = scenario.endsWith('aws') ? 'aws' : 'file';
    const world = await World.start(store);
    const [twilioProxy, smProxy] = await Promise.all([
      startLossyProxy(world.twilio.url),
      startLossyProxy(world.sm.url),
    ]);
    const specs: TargetSpec[] = [];
    const targets: Chaos['targets'] = [];
    const apiKey = (name: string) => {
      specs.push({ name, secretId: `twilio/${name}`, prefix: `rot-${name}-`, gate: GATE });
      targets.push({ name, secretId: `twilio/${name}`, kind: 'api-key' });
    };
    if (scenario === 'auth-token-file' || scenario === 'targets-aws') {
      await world.seedToken(TOKEN);
      specs.push({ kind: 'auth-token', name: 'token', secretId: TOKEN, gate: GATE });
      targets.push({ name: 'token', secretId: TOKEN, kind: 'auth-token' });
    }
    await world.seedAdmin('auth-token', ADMIN);
    // A subaccount fleet: the parent's Auth Token lists two tenants (and a subaccount of another team,
    // never touched); each tenant is a target of its own, its keys made with the tenant's own token.
    const fleets: Record<string, unknown>[] = [];
    const accounts = [world.accountSid];
    if (scenario === 'fleet-file') {
      for (const name of ['tenant-a', 'tenant-b', 'other-team']) {
        const { sid } = world.twilio.addAccount({ parentSid: world.accountSid, friendlyName: name });
        accounts.push(sid);
        if (name.startsWith('tenant-'))
          targets.push({ name: `tenants-${sid}`, secretId: `twilio/tenants/${sid}`, kind: 'api-key' });
      }
      fleets.push({
        name: 'tenants',
        parentAccountSid: world.accountSid,
        admin: { store, secretId: ADMIN },
        subaccounts: { friendlyNamePrefix: 'tenant-' },
        template: {
          keyType: 'standard',
          friendlyNamePrefix: 'rot-tenant-',
          secret: { store, secretId: 'twilio/tenants/{accountSid}' },
          gate: GATE,
        },
      });
    } else {
      apiKey('app1');
      if (scenario !== 'auth-token-file') apiKey('app2');
    }
    const chaos = new Chaos(scenario, seed, world, twilioProxy, smProxy, targets);
    // app1 adopts a key made by hand; app2 (where there is one) starts from nothing.
    if (scenario !== 'fleet-file') await world.seedCurrentKey({ secretId: 'twilio/app1' });
    for (const accountSid of accounts)
      for (const name of ['Studio API Key', 'made by hand, stored nowhere'])
        chaos.personKeys.add(world.twilio.seedKey({ accountSid, type: 'standard', friendlyName: name }).sid);
    if (scenario === 'auth-token-file') chaos.personSecondaries.add(world.twilio.seedSecondary());
    await world.writeConfig(specs, {
      ...(fleets.length > 0 ? { fleets, concurrency: { targets: 2, perAccount: 2 } } : {}),
      // The daemon's runs: one a second (node-cron, seconds field), the first at once.
      ...(scenario === 'daemon-file' ? { daemon: { schedule: '* * * * * *', runOnStart: true } } : {}),
      twilio: { baseUrl: twilioProxy.url, timeoutSeconds: 5 },
      stores: { file: { path: world.storePath }, aws: { region: 'us-east-1', endpoint: smProxy.url } },
      // A short budget keeps an Auth Token's creation window short (2 × budget + 5 s).
      retry: { attempts: 3, budgetSeconds: 1, minDelayMs: 5 },
    });
    chaos.installHooks(undefined);
    chaos.look('start');
    return chaos;
  }

  async close(): Promise<void> {
    await Promise.all([this.twilioProxy.close(), this.smProxy.close()]);
    await this.world.close();
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  /** Requests a run that was not killed made here, on average: where kills are drawn from. */
  private requestsPerRun = 8;
  /** What happened so far, step by step: the first break of a campaign carries it. */
  private readonly history: string[] = [];

  private break(invariant: string, what: string, where: string): void {
    const first = this.figures.breaks.length === 0;
    const story = first ? `\n    after: ${this.history.join('\n           ')}` : '';
    this.figures.breaks.push(`${invariant} ${this.scenario} seed ${this.seed} ${where}: ${what}${story}`);
  }

  // ---- what the stores hold, read without the rotator ----------------------------------------------

  private inspectAll(): Map<string, Inspected | undefined> {
    const ids = [...this.targets.map((t) => t.secretId), ADMIN];
    const out = new Map<string, Inspected | undefined>();
    if (this.world.storeKind === 'aws') {
      for (const id of ids) {
        const found = this.world.sm.inspect(id);
        out.set(id, found && { versions: found.versions, tags: found.tags });
      }
      return out;
    }
    let doc: { secrets: Record<string, Inspected> } = { secrets: {} };
    try {
      doc = JSON.parse(readFileSync(this.world.storePath, 'utf8')) as typeof doc;
    } catch {
      // Not written yet.
    }
    for (const id of ids) out.set(id, doc.secrets[id]);
    return out;
  }

  /** Records what every target's AWSCURRENT serves; I5 over every secret. */
  private look(where: string): Map<string, Inspected | undefined> {
    this.looks++;
    const all = this.inspectAll();
    for (const [id, secret] of all) {
      const current = secret?.versions.find((v) => v.stages.includes(CURRENT));
      if (this.targets.some((t) => t.secretId === id)) {
        const cred = credOf(current?.value);
        if (cred !== undefined) this.everServed.set(cred, (this.everServed.get(cred) ?? new Set()).add(id));
        const was = this.servedNow.get(id);
        if (was !== undefined && was !== cred)
          this.stoppedAt.set(id, (this.stoppedAt.get(id) ?? new Map<string, number>()).set(was, this.looks));
        if (cred !== undefined) this.servedNow.set(id, cred);
      }
      this.figures.checks++;
      if (current) this.hadCurrent.add(id);
      else if (this.hadCurrent.has(id)) this.break('I5', `${id} lost its AWSCURRENT`, where);
      const was = this.seen.get(id) ?? new Map<string, string>();
      for (const [versionId, value] of was) {
        const now = secret?.versions.find((v) => v.versionId === versionId)?.value;
        if (now !== value) this.break('I5', `version ${versionId} of ${id} lost or changed its value`, where);
      }
      for (const v of secret?.versions ?? []) if (v.value !== undefined) was.set(v.versionId, v.value);
      this.seen.set(id, was);
    }
    return all;
  }

  // ---- the oracles, at the moment a deletion or promotion takes effect -----------------------------

  private judge(op: string, path: string, before: { secondary?: string; primary: string }, where: string): void {
    const all = this.look(where);
    const holders = (cred: string) =>
      this.targets.flatMap((t) =>
        (all.get(t.secretId)?.versions ?? [])
          .filter((v) => credOf(v.value) === cred && v.stages.length > 0)
          .map((v) => ({ secretId: t.secretId, versionId: v.versionId, stages: v.stages })),
      );
    const gatePassed = (secretId: string, versionId: string | undefined) =>
      versionId !== undefined && (this.confirmed.get(secretId)?.has(versionId) ?? false);
    // A key a secret stopped serving is retired through the gate once the person confirmed, since
    // then, that consumers use what that secret serves instead.
    const confirmedSince = (secretId: string, look: number | undefined) =>
      [...(this.confirmed.get(secretId)?.values() ?? [])].some((at) => look !== undefined && at >= look);
    this.figures.checks++;
    if (op === 'DeleteKey') {
      const sid = /\/Keys\/(SK[0-9a-f]+)/.exec(path)?.[1] ?? '?';
      const held = holders(sid);
      if (this.personKeys.has(sid) && !this.everServed.has(sid))
        this.break('I1', `deleted ${sid}, a key a person made that no target ever held`, where);
      for (const h of held.filter((x) => x.stages.includes(CURRENT) || x.stages.includes(PENDING)))
        this.break('I2', `deleted ${sid} while ${h.secretId} holds it as ${h.stages.join('+')}`, where);
      for (const secretId of this.everServed.get(sid) ?? []) {
        if (held.some((h) => h.secretId === secretId && h.stages.includes(CURRENT))) continue;
        if (!confirmedSince(secretId, this.stoppedAt.get(secretId)?.get(sid)))
          this.break('I2', `deleted ${sid}, which ${secretId} served, before its replacement was confirmed`, where);
      }
      if (new Set(held.map((h) => h.secretId)).size > 1)
        this.break('I3', `deleted ${sid}, which ${held.map((h) => h.secretId).join(' and ')} hold`, where);
    } else if (op === 'DeleteSecondaryAuthToken' && before.secondary !== undefined) {
      const token = before.secondary;
      if (this.personSecondaries.has(token))
        this.break('I1', `deleted the secondary Auth Token ${short(token)}, which a person made`, where);
      for (const h of holders(token).filter((x) => x.stages.includes(CURRENT)))
        this.break('I2', `deleted the secondary ${short(token)} while ${h.secretId} serves it as AWSCURRENT`, where);
    } else if (op === 'PromoteAuthToken' && before.secondary !== undefined) {
      const token = before.secondary;
      if (this.personSecondaries.has(token))
        this.break('I1', `promoted the secondary Auth Token ${short(token)}, which a person made`, where);
      for (const secretId of this.everServed.get(before.primary) ?? []) {
        const pending = holders(token).find((h) => h.secretId === secretId && h.stages.includes(PENDING));
        if (!gatePassed(secretId, pending?.versionId))
          this.break(
            'I2',
            `promoted ${short(token)} over ${short(before.primary)} (served by ${secretId}) before the ` +
              `person confirmed it`,
            where,
          );
      }
    }
  }

  /** Emulator hooks: the oracles, and a kill at the `kill.at`-th request of this run. */
  private installHooks(
    kill: { at: number; phase: 'before' | 'after'; fire: () => void; fired: boolean } | undefined,
    where = 'between runs',
  ): void {
    let arrivals = 0;
    const watched = new Set(['DeleteKey', 'DeleteSecondaryAuthToken', 'PromoteAuthToken']);
    const beforeEffect = (entry: RequestLogEntry): 'drop' | undefined => {
      arrivals++;
      if (entry.service !== 'secrets-manager') this.look(where);
      if (kill && !kill.fired && kill.phase === 'before' && arrivals === kill.at) {
        kill.fired = true;
        kill.fire();
        return 'drop';
      }
      if (watched.has(entry.operation))
        this.pending.set(entry.seq, {
          op: entry.operation,
          path: entry.path,
          primary: this.world.twilio.authToken(),
          ...(this.world.twilio.secondaryToken() !== undefined
            ? { secondary: this.world.twilio.secondaryToken() }
            : {}),
        });
      if (kill && kill.phase === 'after' && arrivals === kill.at)
        this.pending.set(-entry.seq, { op: 'kill', path: '', primary: '' });
      return undefined;
    };
    const beforeResponse = (entry: RequestLogEntry) => {
      const p = this.pending.get(entry.seq);
      this.pending.delete(entry.seq);
      const tookEffect =
        entry.status !== undefined &&
        entry.status < 300 &&
        entry.fault !== 'server-error' &&
        entry.fault !== 'throttle';
      if (p && tookEffect) this.judge(p.op, p.path, p, `${where}, ${entry.operation} #${entry.seq}`);
      if (kill && !kill.fired && this.pending.has(-entry.seq)) {
        this.pending.delete(-entry.seq);
        kill.fired = true;
        kill.fire();
      }
    };
    this.world.twilio.controls.hooks = { beforeEffect, beforeResponse };
    this.world.sm.controls.hooks = { beforeEffect, beforeResponse };
  }

  // ---- one step ------------------------------------------------------------------------------------

  /** A rotate run in a child process, with this step's kill, faults and lost answers. */
  private async rotateStep(step: number): Promise<void> {
    // In the daemon scenario half the runs are the daemon's: it runs on its schedule for up to
    // DAEMON_MS, then is stopped (SIGTERM) unless the kill came first.
    const daemon = this.scenario === 'daemon-file' && this.random() < 0.5;
    const args = daemon ? ['daemon'] : ['rotate'];
    if (!daemon && this.random() < 0.35) args.push('--force');
    if (!daemon && this.random() < 0.3) args.push('--target', this.pick(this.targets).name);
    // The kill lands at a request drawn from as many as a run has made here on average, so most land.
    const killAt =
      this.random() < 0.55
        ? {
            at: 1 + Math.floor(this.random() * Math.ceil(this.requestsPerRun * 1.2)),
            phase: this.pick(['before', 'after'] as const),
          }
        : undefined;
    const faulty = this.random() < 0.6;
    const loseAt = this.random() < 0.35 ? 1 + Math.floor(this.random() * 6) : undefined;
    const where = `step ${step} (${args.join(' ')}${killAt ? `, kill ${killAt.phase} request ${killAt.at}` : ''}${
      faulty ? ', faults' : ''
    }${loseAt ? `, answer lost at write ${loseAt}` : ''})`;
    if (faulty) {
      const plan = { rate: 0.25, seed: this.seed * 1000 + step, kinds: FAULT_KINDS, slowMs: 30 };
      this.world.twilio.controls.setFaults(plan);
      this.world.sm.controls.setFaults({ ...plan, seed: plan.seed + 500 });
    }
    let writes = 0;
    const lose = (r: { mutating: boolean }) => r.mutating && loseAt !== undefined && ++writes === loseAt;
    this.twilioProxy.lose = lose;
    this.smProxy.lose = lose;
    const lostBefore = this.twilioProxy.lost + this.smProxy.lost;
    const breaksBefore = this.figures.breaks.length;
    const logStart = [this.world.twilio.controls.log.length, this.world.sm.controls.log.length] as const;
    let child: Awaited<ReturnType<typeof spawnCli>>['child'] | undefined;
    const kill = killAt && { ...killAt, fired: false, fire: () => child?.kill('SIGKILL') };
    this.installHooks(kill, where);
    let result: Awaited<Awaited<ReturnType<typeof spawnCli>>['done']>;
    try {
      const run = await spawnCli([...args, '--config', this.world.configPath], AWS_ENV);
      child = run.child;
      const stop = daemon ? setTimeout(() => run.child.kill('SIGTERM'), DAEMON_MS) : undefined;
      result = await bounded(run);
      clearTimeout(stop);
    } finally {
      this.installHooks(undefined);
      this.world.twilio.controls.clearFaults();
      this.world.sm.controls.clearFaults();
      this.twilioProxy.lose = () => false;
      this.smProxy.lose = () => false;
    }
    const faults =
      [...this.world.twilio.controls.log.slice(logStart[0]), ...this.world.sm.controls.log.slice(logStart[1])].filter(
        (e) => e.fault !== undefined,
      ).length - (kill?.fired && kill.phase === 'before' ? 1 : 0);
    const lost = this.twilioProxy.lost + this.smProxy.lost - lostBefore;
    if (!kill?.fired) {
      const made =
        this.world.twilio.controls.log.length - logStart[0] + this.world.sm.controls.log.length - logStart[1];
      this.requestsPerRun = 0.8 * this.requestsPerRun + 0.2 * made;
    }
    this.figures.runs++;
    this.figures.faults += faults;
    this.figures.lostAnswers += lost;
    if (kill?.fired) this.figures.kills++;
    else if (daemon ? result.code !== 0 : result.code !== 0 && result.code !== 1)
      this.break(
        'run',
        `rotate exited ${result.code} (${result.signal ?? 'no signal'}): ${result.stderr.slice(-300)}`,
        where,
      );
    this.history.push(
      `${where}: ${kill?.fired ? 'killed' : `exit ${result.code}`}, ${faults} faults, ${lost} answers lost`,
    );
    // What the run said, when it broke something: the rotator's own account of the step.
    if (this.figures.breaks.length > breaksBefore)
      console.log(`chaos ${this.scenario} seed ${this.seed} ${where} printed:\n${result.stdout}${result.stderr}`);
    this.look(where);
    if (!kill?.fired && faults === 0 && lost === 0) await this.checkCurrentWorks(where);
  }

  /** I4: every target's AWSCURRENT authenticates at Twilio. */
  async checkCurrentWorks(where: string): Promise<void> {
    const all = this.inspectAll();
    for (const t of this.targets) {
      const value = all.get(t.secretId)?.versions.find((v) => v.stages.includes(CURRENT))?.value;
      if (value === undefined) continue;
      this.figures.checks++;
      const works =
        t.kind === 'auth-token'
          ? await this.world.tokenWorks(credOf(value))
          : await authenticates(this.world, JSON.parse(value) as StoredKey);
      if (!works)
        this.break('I4', `${t.name}'s AWSCURRENT ${short(credOf(value) ?? '?')} does not authenticate`, where);
    }
  }

  /** A person acting between runs, through the documented commands or the Console. */
  private async personStep(step: number): Promise<void> {
    this.figures.personActions++;
    const target = this.pick(this.targets);
    const actions: (() => Promise<string>)[] = [
      async () => {
        const r = await this.world.cli(['confirm', target.name]);
        const tag = this.inspectAll().get(target.secretId)?.tags['rotator:confirmed'];
        if (r.code === 0 && tag)
          this.confirmed.set(target.secretId, (this.confirmed.get(target.secretId) ?? new Map()).set(tag, this.looks));
        return `confirm ${target.name}`;
      },
      async () => {
        if (target.kind === 'auth-token') {
          const own = [...this.personSecondaries].find((s) => s === this.world.twilio.secondaryToken());
          if (!own) return 'nothing (no secondary of the person to store)';
          await this.world.cli(
            ['secret', 'put', target.secretId, '--store', this.world.storeKind, '--replace'],
            {},
            JSON.stringify({ accountSid: this.world.accountSid, authToken: own }),
          );
          return `secret put --replace ${target.secretId} (the person's own secondary: half a rotation by hand)`;
        }
        const accountSid = target.name.startsWith('tenants-') ? target.name.slice('tenants-'.length) : undefined;
        const key = this.world.twilio.seedKey({
          type: 'standard',
          friendlyName: 'made in the Console',
          ...(accountSid ? { accountSid } : {}),
        });
        this.personKeys.add(key.sid);
        await this.world.cli(
          ['secret', 'put', target.secretId, '--store', this.world.storeKind, '--replace'],
          {},
          JSON.stringify({
            accountSid: accountSid ?? this.world.accountSid,
            apiKeySid: key.sid,
            apiKeySecret: key.secret,
          }),
        );
        return `secret put --replace ${target.secretId} (a key made in the Console)`;
      },
    ];
    if (this.targets.some((t) => t.kind === 'auth-token'))
      actions.push(
        async () => {
          await this.world.cli(['abort', 'token']);
          return 'abort token';
        },
        () => {
          if (this.world.twilio.secondaryToken() !== undefined) return Promise.resolve('nothing (a secondary exists)');
          this.personSecondaries.add(this.world.twilio.seedSecondary());
          return Promise.resolve('Console: create a secondary Auth Token');
        },
        () => {
          const secondary = this.world.twilio.secondaryToken();
          const current = this.inspectAll()
            .get(TOKEN)
            ?.versions.find((v) => v.stages.includes(CURRENT))?.value;
          if (secondary === undefined || credOf(current) === secondary) return Promise.resolve('nothing');
          this.world.twilio.dropSecondary();
          return Promise.resolve('Console: delete the secondary Auth Token');
        },
      );
    const what = await this.pick(actions)();
    this.history.push(`step ${step} (person: ${what})`);
    this.look(`step ${step} (person: ${what})`);
  }

  async step(step: number): Promise<void> {
    this.figures.steps++;
    if (this.random() < 0.62) await this.rotateStep(step);
    else await this.personStep(step);
  }

  /** The end of a campaign: the person confirms, runs go on without faults; the rules still hold. */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      for (const t of this.targets) {
        const r = await this.world.cli(['confirm', t.name]);
        const tag = this.inspectAll().get(t.secretId)?.tags['rotator:confirmed'];
        if (r.code === 0 && tag)
          this.confirmed.set(t.secretId, (this.confirmed.get(t.secretId) ?? new Map()).set(tag, this.looks));
      }
      this.installHooks(undefined, `settling run ${i + 1}`);
      const result = await bounded(await spawnCli(['rotate', '--config', this.world.configPath], AWS_ENV));
      if (result.code !== 0 && result.code !== 1)
        this.break('run', `rotate exited ${result.code} (${result.signal ?? 'no signal'})`, `settling run ${i + 1}`);
      this.installHooks(undefined);
      this.figures.runs++;
      this.look(`settling run ${i + 1}`);
      await this.checkCurrentWorks(`settling run ${i + 1}`);
    }
  }
}

/**
 * Runs `scenario` from `seed` for at most `steps` steps, `deadlineMs` (epoch ms) and `maxKills`
 * kills, whichever comes first, then settles; returns the figures.
 */
export async function campaign(
  scenario: Scenario,
  seed: number,
  limits: { steps: number; deadlineMs: number; maxKills?: number },
): Promise<Figures> {
  const chaos = await Chaos.start(scenario, seed);
  try {
    for (let step = 1; step <= limits.steps && Date.now() < limits.deadlineMs; step++) {
      if (limits.maxKills !== undefined && chaos.figures.kills >= limits.maxKills) break;
      await chaos.step(step);
    }
    await chaos.settle();
    return chaos.figures;
  } finally {
    await chaos.close();
  }
}

export function addFigures(into: Figures, more: Figures): void {
  into.steps += more.steps;
  into.runs += more.runs;
  into.kills += more.kills;
  into.faults += more.faults;
  into.lostAnswers += more.lostAnswers;
  into.personActions += more.personActions;
  into.checks += more.checks;
  into.breaks.push(...more.breaks);
}

export function describeFigures(f: Figures): string {
  return (
    `${f.steps} steps, ${f.runs} runs, ${f.kills} kills, ${f.faults} faults, ${f.lostAnswers} ` +
    `answers lost after their effect, ${f.personActions} person actions, ${f.checks} checks, ` +
    `${f.breaks.length} breaks`
  );
}
