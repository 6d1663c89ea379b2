import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { fileStore } from '../../src/adapters/secrets/file-store.js';
import { CURRENT, PENDING, PREVIOUS, TAG_CURRENT_SINCE, TAG_PROMOTED, TAG_RETIRED } from '../../src/core/labels.js';
import { isOwnKeyName, looksLikeRotatorKeyName, ownerFingerprint } from '../../src/credentials/named/naming.js';
import { TAG_SECONDARY_INTENT } from '../../src/credentials/auth-token/observation.js';
import type { SecretStore } from '../../src/core/ports.js';
import type { RequestLogEntry } from '../emulators/common/index.js';
import { authenticates, type StoredKey } from './assertions.js';
import { spawnCli, type ChildRun } from './child.js';
import { AWS_ENV, World, type StoreKind, type TargetSpec } from './world.js';

/**
 * A small fleet for the crash, race and fault suites to run with concurrency on: one Auth Token
 * target (self-managed; the admin secret of account A's API-key targets holds the same token, so its
 * promotion refreshes that copy before the API-key phase starts), three API-key targets on account A
 * and two on account B (whose admin credential is a Main key), reconciled `concurrency.targets` at a
 * time with a low `concurrency.perAccount`, and the Twilio emulator holding each account to fewer
 * requests in flight than that, so the account limiter meets 429s and backs off.
 *
 * A target on each account uses the same friendly-name prefix (the configuration allows overlapping
 * prefixes only across accounts). Each account also holds keys nobody in the configuration owns (a
 * hand-made one, and one named the rotator's way with that prefix by another deployment: only the
 * owner fingerprint in its name tells it apart), which must outlive every run.
 *
 * Every key deletion the Twilio emulator carries out is recorded with the key's name, so a test can
 * check that nothing was deleted that a target of this configuration did not create or retire.
 */

export const SHARED_PREFIX = 'rot-fleet-';
export const TOKEN_SECRET = 'twilio/token';
export const ADMIN_A = 'twilio/admin';
export const ADMIN_B = 'twilio/admin-b';
const DAY_MS = 86_400_000;

export interface ApiKeyMember {
  kind: 'api-key';
  name: string;
  account: string;
  secretId: string;
  prefix: string;
  /** The hand-made key the secret held before the rotator's first run. */
  original: string;
}

export interface TokenMember {
  kind: 'auth-token';
  name: string;
  account: string;
  secretId: string;
  /** The Auth Token the secret held before the rotator's first run. */
  original: string;
}

/** A secret as the store holds it, read without the rotator's adapters (no HTTP for Secrets Manager). */
interface Inspected {
  versions: { versionId: string; stages: string[]; value?: string }[];
  tags: Record<string, string>;
}

function stageOf(secret: Inspected | undefined, stage: string) {
  return secret?.versions.find((v) => v.stages.includes(stage));
}

function keyAt(secret: Inspected | undefined, stage: string): StoredKey | undefined {
  const value = stageOf(secret, stage)?.value;
  return value === undefined ? undefined : (JSON.parse(value) as StoredKey);
}

function tokenAt(secret: Inspected | undefined, stage: string): string | undefined {
  const value = stageOf(secret, stage)?.value;
  return value === undefined ? undefined : (JSON.parse(value) as { authToken: string }).authToken;
}

export interface Deletion {
  sid: string;
  account: string;
  name: string | null;
}

/**
 * A kill point: the Nth mutating request (both emulators counted together) of the run armed with it.
 * before: the Nth to arrive (a 429 counts) is dropped and the child dies, as if it died sending it;
 * after: the Nth that took effect, the child dying before its answer.
 */
export interface KillPoint {
  n: number;
  phase: 'before' | 'after';
  /** Count from the first request of this operation on (e.g. CreateKey: the API-key phase). */
  from?: string;
  /** Count only requests of this operation. */
  only?: string;
}

export function describePoint(p: KillPoint): string {
  const what = p.only ? `${p.only} #${p.n}` : `mutating request #${p.n}${p.from ? ` from the first ${p.from}` : ''}`;
  return `${p.phase} ${what}`;
}

export interface FleetOptions {
  /** Age of every stored API key in days; 40 makes every API-key target due (maxAgeDays 30). */
  ageDays?: number;
  /** Age of the stored Auth Token in days (default: ageDays); under 30 it is not due and stays. */
  tokenAgeDays?: number;
  concurrency?: { targets: number; perAccount: number };
  /** In-flight limit the Twilio emulator enforces per account: [account A, account B]. */
  twilioLimits?: [number, number];
  /** Added to every Twilio answer, in ms, so requests overlap there and the limits above bite. */
  twilioLatencyMs?: number;
  orphanGraceSeconds?: number;
  retry?: { attempts: number; budgetSeconds: number; minDelayMs: number };
}

export class Fleet {
  readonly deletions: Deletion[] = [];
  /** Keys no run may ever delete: admin credentials and keys of nobody in this configuration. */
  readonly keep = new Map<string, string>();
  private kill:
    | { point: KillPoint; run: ChildRun; arrivals: number; effective: number; counting: boolean; fired: boolean }
    | undefined;
  private fingerprints = new Map<string, string>();

  private constructor(
    readonly world: World,
    readonly accountB: string,
    readonly apiKeys: ApiKeyMember[],
    readonly token: TokenMember,
    readonly options: Required<FleetOptions>,
  ) {}

  get accountA(): string {
    return this.world.accountSid;
  }

  get targetNames(): string[] {
    return [this.token.name, ...this.apiKeys.map((t) => t.name)];
  }

  static async start(kind: StoreKind, options: FleetOptions = {}): Promise<Fleet> {
    const opts: Required<FleetOptions> = {
      ageDays: 40,
      tokenAgeDays: options.ageDays ?? 40,
      concurrency: { targets: 4, perAccount: 3 },
      twilioLimits: [2, 1],
      twilioLatencyMs: 10,
      orphanGraceSeconds: 0,
      retry: { attempts: 6, budgetSeconds: 5, minDelayMs: 5 },
      ...options,
    };
    const world = await World.start(kind);
    try {
      const A = world.accountSid;
      const B = world.twilio.addAccount({ friendlyName: 'fleet account B' }).sid;
      // One client for all the seeding: a Secrets Manager client is not free to make.
      const store = world.store();
      await world.seedAdmin('auth-token', ADMIN_A);
      const mainB = world.twilio.seedKey({ accountSid: B, type: 'main', friendlyName: 'admin-main-b' });
      await store.create(
        ADMIN_B,
        randomBytes(16).toString('hex'),
        JSON.stringify({ accountSid: B, adminKeySid: mainB.sid, adminKeySecret: mainB.secret }),
      );
      const tokenOriginal = await world.seedToken(TOKEN_SECRET, {}, { ageDays: opts.tokenAgeDays });
      const token: TokenMember = {
        kind: 'auth-token',
        name: 'token',
        account: A,
        secretId: TOKEN_SECRET,
        original: tokenOriginal,
      };
      const specs: { name: string; account: string; prefix: string }[] = [
        // Both accounts in the first four, so both limiters are busy from the start.
        { name: 'a0', account: A, prefix: SHARED_PREFIX },
        { name: 'b0', account: B, prefix: SHARED_PREFIX },
        { name: 'a1', account: A, prefix: 'rot-a1-' },
        { name: 'b1', account: B, prefix: 'rot-b1-' },
        { name: 'a2', account: A, prefix: 'rot-a2-' },
      ];
      const apiKeys: ApiKeyMember[] = [];
      for (const s of specs) {
        const secretId = `fleet/${s.name}`;
        const original = await seedKeyAged(world, store, s.account, secretId, opts.ageDays);
        apiKeys.push({ kind: 'api-key', ...s, secretId, original });
      }
      const fleet = new Fleet(world, B, apiKeys, token, opts);
      fleet.keep.set(mainB.sid, 'the Main key that is account B’s admin credential');
      const longAgo = new Date(Date.now() - 60 * DAY_MS);
      for (const account of [A, B]) {
        const byHand = world.twilio.seedKey({
          accountSid: account,
          type: 'standard',
          friendlyName: 'someone-elses-key',
        });
        fleet.keep.set(byHand.sid, `a hand-made key on ${account} nobody configured`);
        // Another deployment with the same prefix: the rotator's naming, another owner fingerprint.
        const foreign = world.twilio.seedKey({
          accountSid: account,
          type: 'standard',
          friendlyName: `${SHARED_PREFIX}0badf00d${randomBytes(12).toString('hex')}`,
          createdAt: longAgo,
        });
        fleet.keep.set(foreign.sid, `another deployment's key with the prefix ${SHARED_PREFIX} on ${account}`);
      }
      for (const t of apiKeys) {
        const secret = await store.read(t.secretId);
        fleet.fingerprints.set(t.name, ownerFingerprint(t.account, secret!.identity));
      }
      world.twilio.setConcurrencyLimit(opts.twilioLimits[0], A);
      world.twilio.setConcurrencyLimit(opts.twilioLimits[1], B);
      world.twilio.controls.latencyMs = opts.twilioLatencyMs;
      fleet.installHooks();
      await fleet.writeConfig();
      return fleet;
    } catch (err) {
      await world.close();
      throw err;
    }
  }

  async writeConfig(): Promise<void> {
    const specs: TargetSpec[] = [
      { kind: 'auth-token', name: this.token.name, secretId: this.token.secretId },
      ...this.apiKeys.map((t) => ({
        name: t.name,
        secretId: t.secretId,
        prefix: t.prefix,
        adminSecretId: t.account === this.accountA ? ADMIN_A : ADMIN_B,
      })),
    ];
    const config = this.world.configObject(specs, {
      retry: this.options.retry,
      orphanGraceSeconds: this.options.orphanGraceSeconds,
      concurrency: this.options.concurrency,
    }) as { targets: { name: string; accountSid: string }[] };
    for (const t of config.targets) {
      const member = this.apiKeys.find((m) => m.name === t.name);
      if (member) t.accountSid = member.account;
    }
    await writeFile(this.world.configPath, stringify(config));
  }

  fingerprintOf(name: string): string {
    return this.fingerprints.get(name)!;
  }

  /** Live keys of both accounts. */
  liveKeys(): { sid: string; account: string; friendlyName: string | null }[] {
    return [this.accountA, this.accountB].flatMap((account) =>
      this.world.twilio.listKeys(account).map((k) => ({ sid: k.sid, account, friendlyName: k.friendlyName })),
    );
  }

  /**
   * One set of hooks for the fleet's life: records every key deletion (with the key's name, read while
   * it still exists) and, when a child is armed with a kill point, SIGKILLs it there.
   */
  private installHooks(): void {
    const names = new Map<RequestLogEntry, Deletion>();
    /** Whether `entry` counts towards the armed kill point, in the phase it is seen in. */
    const counts = (entry: RequestLogEntry, phase: KillPoint['phase']) => {
      const k = this.kill;
      if (!k || k.fired || !entry.mutating || k.point.phase !== phase) return false;
      if (k.point.only !== undefined && entry.operation !== k.point.only) return false;
      if (k.point.from !== undefined && entry.operation === k.point.from) k.counting = true;
      return k.point.from === undefined || k.counting;
    };
    const fire = () => {
      this.kill!.fired = true;
      this.kill!.run.child.kill('SIGKILL');
    };
    const beforeEffect = (entry: RequestLogEntry): 'drop' | void => {
      if (counts(entry, 'before') && ++this.kill!.arrivals === this.kill!.point.n) {
        fire();
        return 'drop';
      }
      if (entry.operation === 'DeleteKey' || entry.operation === 'DeleteKey2010') {
        const sid = /SK[0-9a-f]{32}/.exec(entry.path)?.[0];
        const key = sid ? this.liveKeys().find((x) => x.sid === sid) : undefined;
        if (key) names.set(entry, { sid: key.sid, account: key.account, name: key.friendlyName });
      }
    };
    const beforeResponse = (entry: RequestLogEntry): void => {
      const deletion = names.get(entry);
      if (deletion) {
        names.delete(entry);
        if (entry.status !== undefined && entry.status < 300) this.deletions.push(deletion);
      }
      const tookEffect = entry.status !== undefined && entry.status < 400;
      if (tookEffect && counts(entry, 'after') && ++this.kill!.effective === this.kill!.point.n) fire();
    };
    this.world.twilio.controls.hooks = { beforeEffect, beforeResponse };
    this.world.sm.controls.hooks = { beforeEffect, beforeResponse };
  }

  /** Runs the real CLI as a child process; with a kill point, SIGKILLs it there (`fired` says whether it did). */
  async child(args: string[], point?: KillPoint) {
    const run = await spawnCli([...args, '--config', this.world.configPath], AWS_ENV);
    const armed = point ? { point, run, arrivals: 0, effective: 0, counting: false, fired: false } : undefined;
    this.kill = armed;
    try {
      return { ...(await run.done), fired: armed?.fired ?? false };
    } finally {
      this.kill = undefined;
    }
  }

  /** Every stored version of every target's secret (and the admin copy), for `checkObservation`. */
  async snapshot(): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    const all = await this.inspectAll();
    for (const id of this.secretIds()) out.set(id, versionsOf(all.get(id)));
    return out;
  }

  /** Every secret of the fleet, straight from the emulator's state or the store file. */
  async inspectAll(): Promise<Map<string, Inspected | undefined>> {
    const out = new Map<string, Inspected | undefined>();
    if (this.world.storeKind === 'aws') {
      for (const id of this.secretIds()) {
        const found = this.world.sm.inspect(id);
        out.set(id, found && { versions: found.versions, tags: found.tags });
      }
    } else {
      const doc = JSON.parse(await readFile(this.world.storePath, 'utf8')) as {
        secrets: Record<string, Inspected>;
      };
      for (const id of this.secretIds()) out.set(id, doc.secrets[id]);
    }
    return out;
  }

  private secretIds(): string[] {
    return [this.token.secretId, ADMIN_A, ...this.apiKeys.map((t) => t.secretId)];
  }

  /**
   * What must hold at every observation, crashed, raced or faulted: each API-key target's AWSCURRENT
   * key authenticates and its AWSPENDING key (if any) exists; the Auth Token target's AWSCURRENT or
   * AWSPENDING works (no lock-out), a dead AWSCURRENT only while the promoted token waits as
   * AWSPENDING; no stored version is lost or changed; the keys nobody here owns are all alive; and
   * every key deleted so far was one a target of this configuration created, or a target's original
   * key after it was replaced.
   */
  async checkObservation(seen: Map<string, Map<string, string>>, where: string): Promise<void> {
    const all = await this.inspectAll();
    const live = new Set(this.liveKeys().map((k) => k.sid));
    for (const t of this.apiKeys) {
      const secret = all.get(t.secretId);
      expect(
        await authenticates(this.world, keyAt(secret, CURRENT)),
        `${where}: ${t.name}'s AWSCURRENT key authenticates`,
      ).toBe(true);
      const pending = keyAt(secret, PENDING);
      if (pending) expect(live.has(pending.apiKeySid), `${where}: ${t.name}'s AWSPENDING key exists`).toBe(true);
    }
    await this.checkTokenObservation(all, where);
    for (const id of this.secretIds()) {
      const was = seen.get(id) ?? new Map<string, string>();
      const now = versionsOf(all.get(id));
      for (const [versionId, value] of was)
        expect(now.get(versionId), `${where}: version ${versionId} of ${id} is still stored, unchanged`).toBe(value);
      seen.set(id, now);
    }
    for (const [sid, what] of this.keep) expect(live.has(sid), `${where}: ${sid} (${what}) is alive`).toBe(true);
    this.checkDeletions(where);
  }

  /** No lock-out: AWSCURRENT or AWSPENDING works; a dead AWSCURRENT only while the promoted token waits. */
  private async checkTokenObservation(all: Map<string, Inspected | undefined>, where: string): Promise<void> {
    const secret = all.get(this.token.secretId);
    const current = tokenAt(secret, CURRENT);
    const pending = tokenAt(secret, PENDING);
    const currentWorks = await this.world.tokenWorks(current);
    expect(
      currentWorks || (await this.world.tokenWorks(pending)),
      `${where}: AWSCURRENT or AWSPENDING of ${this.token.secretId} authenticates`,
    ).toBe(true);
    if (!currentWorks)
      expect(pending, `${where}: a dead AWSCURRENT token only while the promoted one waits as AWSPENDING`).toBe(
        this.world.twilio.authToken(),
      );
  }

  /** Twilio's primary is AWSCURRENT and in the admin copy; nothing pending, announced or left over. */
  private async checkTokenConverged(all: Map<string, Inspected | undefined>, where: string): Promise<void> {
    const secret = all.get(this.token.secretId);
    const primary = this.world.twilio.authToken();
    const at = `${where}: ${this.token.name}`;
    const due = this.options.tokenAgeDays >= 30;
    if (due) {
      expect(primary, `${at}: rotated`).not.toBe(this.token.original);
      expect(tokenAt(secret, PREVIOUS), `${at}: AWSPREVIOUS`).toBe(this.token.original);
      expect(await this.world.tokenWorks(this.token.original), `${at}: the old token is dead`).toBe(false);
    } else expect(primary, `${at}: not due, not rotated`).toBe(this.token.original);
    expect(tokenAt(secret, CURRENT), `${at}: AWSCURRENT is the primary`).toBe(primary);
    expect(stageOf(secret, PENDING), `${at}: nothing pending`).toBeUndefined();
    expect(this.world.twilio.secondaryToken(), `${at}: no secondary left`).toBeUndefined();
    expect(tokenAt(all.get(ADMIN_A), CURRENT), `${at}: the admin copy holds the primary`).toBe(primary);
    expect(secret!.tags[TAG_SECONDARY_INTENT] ?? '', `${at}: no announced creation left`).toBe('');
  }

  /** Every deletion was of a key a target here made (its own fingerprint) or a target's original. */
  checkDeletions(where: string): void {
    for (const d of this.deletions) {
      const madeBy = this.apiKeys.find(
        (t) => t.account === d.account && isOwnKeyName(d.name, t.prefix, this.fingerprintOf(t.name)),
      );
      const originalOf = this.apiKeys.find((t) => t.original === d.sid);
      expect(
        madeBy !== undefined || originalOf !== undefined,
        `${where}: deleted key ${d.sid} "${d.name}" on ${d.account} was made by a target of this ` +
          `configuration, or was a target's original key`,
      ).toBe(true);
      expect(this.keep.has(d.sid), `${where}: deleted key ${d.sid} is one no run may delete`).toBe(false);
    }
  }

  /** API-key targets the last kill left mid-rotation: neither untouched nor rotated and retired. */
  async midRotation(): Promise<string[]> {
    const all = await this.inspectAll();
    const live = this.liveKeys();
    return this.apiKeys
      .filter((t) => {
        const secret = all.get(t.secretId);
        const current = keyAt(secret, CURRENT);
        const pending = keyAt(secret, PENDING);
        const own = live.filter(
          (k) => k.account === t.account && isOwnKeyName(k.friendlyName, t.prefix, this.fingerprintOf(t.name)),
        );
        const untouched = current?.apiKeySid === t.original && !pending && own.length === 0;
        const rotated =
          current?.apiKeySid !== t.original &&
          !pending &&
          !live.some((k) => k.sid === t.original) &&
          own.length === 1 &&
          secret?.tags[TAG_CURRENT_SINCE]?.split(' ')[0] === stageOf(secret, CURRENT)?.versionId;
        return !untouched && !rotated;
      })
      .map((t) => t.name);
  }

  /**
   * The end state once every target converged, each rotated exactly once: per API-key target the
   * new AWSCURRENT key authenticates and carries the target's own name, the original key is
   * AWSPREVIOUS and gone from Twilio, nothing is pending, the tags name the promotion and the current
   * version, and the target's only key on Twilio is the current one; no key named the rotator's way
   * is left that no version references. The Auth Token: Twilio's primary is AWSCURRENT and in the
   * admin copy, the original (if it was due) AWSPREVIOUS and dead, no secondary, nothing pending or
   * announced.
   */
  async checkConverged(where: string): Promise<void> {
    const all = await this.inspectAll();
    const live = this.liveKeys();
    const referenced = new Set<string>();
    for (const t of this.apiKeys) {
      const secret = all.get(t.secretId);
      const current = keyAt(secret, CURRENT);
      const previous = keyAt(secret, PREVIOUS);
      const at = `${where}: ${t.name}`;
      expect(await authenticates(this.world, current), `${at}: AWSCURRENT authenticates`).toBe(true);
      expect(current!.apiKeySid, `${at}: rotated`).not.toBe(t.original);
      expect(previous?.apiKeySid, `${at}: the original key is AWSPREVIOUS`).toBe(t.original);
      expect(stageOf(secret, PENDING), `${at}: nothing pending`).toBeUndefined();
      const currentName = live.find((k) => k.sid === current!.apiKeySid)?.friendlyName ?? null;
      expect(isOwnKeyName(currentName, t.prefix, this.fingerprintOf(t.name)), `${at}: current key's name`).toBe(true);
      expect(
        live.some((k) => k.sid === t.original),
        `${at}: the original key is retired`,
      ).toBe(false);
      const own = live.filter(
        (k) => k.account === t.account && isOwnKeyName(k.friendlyName, t.prefix, this.fingerprintOf(t.name)),
      );
      expect(
        own.map((k) => k.sid),
        `${at}: its only key on Twilio is the current one`,
      ).toEqual([current!.apiKeySid]);
      const currentVersion = stageOf(secret, CURRENT)!.versionId;
      const previousVersion = stageOf(secret, PREVIOUS)!.versionId;
      expect(secret!.tags[TAG_PROMOTED], `${at}: the promotion record`).toBe(`${previousVersion} ${currentVersion}`);
      expect(secret!.tags[TAG_CURRENT_SINCE]?.split(' ')[0], `${at}: current-since names the current version`).toBe(
        currentVersion,
      );
      // A hint that spares later looks a read, not a promise: a kill between the key's deletion and
      // the tag leaves it unwritten, and nothing writes it later. Never a wrong one, though.
      if (secret!.tags[TAG_RETIRED])
        expect(secret!.tags[TAG_RETIRED], `${at}: the retired version`).toBe(previousVersion);
      for (const k of [current, previous]) if (k) referenced.add(k.apiKeySid);
    }
    for (const prefix of new Set(this.apiKeys.map((t) => t.prefix))) {
      const leftovers = live.filter(
        (k) => looksLikeRotatorKeyName(k.friendlyName, prefix) && !referenced.has(k.sid) && !this.keep.has(k.sid),
      );
      expect(
        leftovers.map((k) => `${k.sid} ${k.friendlyName}`),
        `${where}: no key named the rotator's way is left unreferenced`,
      ).toEqual([]);
    }
    await this.checkTokenConverged(all, where);
    this.checkDeletions(where);
  }

  /** Whether a run's output says every target ended done. */
  allDone(stdout: string): boolean {
    return this.targetNames.every((n) => stdout.includes(`\n${n}: done.`) || stdout.startsWith(`${n}: done.`));
  }

  /** Twilio lets any number of requests in flight again: with `retry.attempts: 1` a 429 is a failure. */
  liftLimits(): void {
    this.world.twilio.setConcurrencyLimit(undefined);
  }

  /** 429s the Twilio emulator answered so far (its concurrency limit, or an injected throttle). */
  throttled(): number {
    return this.world.twilio.controls.log.filter((e) => e.status === 429).length;
  }

  close(): Promise<void> {
    return this.world.close();
  }
}

/** Version id -> value of every version with a value. */
function versionsOf(secret: Inspected | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of secret?.versions ?? []) if (v.value !== undefined) out.set(v.versionId, v.value);
  return out;
}

/** A hand-made key stored as the secret's first version, `ageDays` old. */
async function seedKeyAged(
  world: World,
  store: SecretStore,
  account: string,
  secretId: string,
  ageDays: number,
): Promise<string> {
  const key = world.twilio.seedKey({ accountSid: account, type: 'standard', friendlyName: 'made-by-hand' });
  const value = JSON.stringify({ accountSid: account, apiKeySid: key.sid, apiKeySecret: key.secret });
  const then = () => Date.now() - ageDays * DAY_MS;
  if (world.storeKind === 'file')
    await fileStore(world.storePath, then).create(secretId, randomBytes(16).toString('hex'), value);
  else {
    world.sm.setClock(then);
    try {
      await store.create(secretId, randomBytes(16).toString('hex'), value);
    } finally {
      world.sm.setClock(Date.now);
    }
  }
  return key.sid;
}

/** The emulators' PRNG: kill points and seeds are replayable from the printed seed. */
export { prng } from '../emulators/common/index.js';
