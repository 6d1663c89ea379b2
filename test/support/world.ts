import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { stringify } from 'yaml';
import { awsStore } from '../../src/adapters/secrets/aws-store.js';
import { fileStore } from '../../src/adapters/secrets/file-store.js';
import { loadConfig } from '../../src/config/load.js';
import type { RotatorConfig } from '../../src/config/types.js';
import type { SecretStore } from '../../src/core/ports.js';
import { runCli } from '../../src/entry/cli.js';
import { createLogger } from '../../src/log.js';
import { createRuntime } from '../../src/wiring.js';
import type { Runtime } from '../../src/core/runtime.js';
import { recordOutput, recordSecrets } from './scan.js';
import { startSecretsManagerEmulator } from '../emulators/secrets-manager/index.js';
import { startTwilioEmulator } from '../emulators/twilio/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export type StoreKind = 'file' | 'aws';
export const AWS_ENV = { AWS_ACCESS_KEY_ID: 'AKIDROTATORTEST', AWS_SECRET_ACCESS_KEY: 'not-a-real-aws-secret' };

export interface TargetSpec {
  name?: string;
  /** An Auth Token target: no key type or prefix; `admin` only when adminSecretId is given. */
  kind?: 'auth-token';
  propagationDelaySeconds?: number;
  keyType?: 'standard' | 'restricted';
  policy?: 'inherit' | { allow: string[] };
  gate?: Record<string, unknown>;
  maxAgeDays?: number;
  validationUrl?: string;
  secretId?: string;
  adminSecretId?: string;
  prefix?: string;
}

/** Everything one integration test needs: both emulators, a temp dir, a config, the CLI. */
export class World {
  readonly output: string[] = [];
  private constructor(
    readonly twilio: Awaited<ReturnType<typeof startTwilioEmulator>>,
    readonly sm: Awaited<ReturnType<typeof startSecretsManagerEmulator>>,
    readonly dir: string,
    readonly storeKind: StoreKind,
    /** A world beside another shares its Twilio account and leaves it running on close. */
    private readonly ownsTwilio = true,
  ) {}

  static async start(storeKind: StoreKind = 'file'): Promise<World> {
    const [twilio, sm] = await Promise.all([startTwilioEmulator(), startSecretsManagerEmulator()]);
    return new World(twilio, sm, await mkdtemp(join(tmpdir(), 'tkr-world-')), storeKind);
  }

  /**
   * Another team's deployment on the same Twilio account: its own directory, file store and Secrets
   * Manager (another AWS account), its own config. Close it before the world it stands beside.
   */
  static async beside(other: World, storeKind: StoreKind = other.storeKind): Promise<World> {
    const sm = await startSecretsManagerEmulator({ accountId: '210987654321' });
    return new World(other.twilio, sm, await mkdtemp(join(tmpdir(), 'tkr-world-')), storeKind, false);
  }

  get accountSid(): string {
    return this.twilio.accountSid;
  }
  get storePath(): string {
    return join(this.dir, 'secrets.json');
  }
  get configPath(): string {
    return join(this.dir, 'rotator.yaml');
  }

  /** A direct handle on the store, for seeding and inspecting (not the rotator's own instance). */
  store(kind: StoreKind = this.storeKind): SecretStore {
    return kind === 'file'
      ? fileStore(this.storePath)
      : awsStore({
          region: 'us-east-1',
          endpoint: this.sm.url,
          credentials: { accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY },
          retry: { attempts: 3, budgetMs: 5000, minDelayMs: 5 },
        });
  }

  /** Stores an admin credential: the Auth Token, a Main key, or a Restricted key for /twilio/iam/api-keys/*. */
  async seedAdmin(
    kind: 'auth-token' | 'main' | 'restricted' | 'standard' = 'auth-token',
    secretId = 'twilio/admin',
  ): Promise<void> {
    let value: Record<string, string>;
    if (kind === 'auth-token') value = { accountSid: this.accountSid, authToken: this.twilio.authToken() };
    else {
      const key = this.twilio.seedKey({
        type: kind,
        ...(kind === 'restricted' ? { policy: { allow: ['/twilio/iam/api-keys/*'] } } : {}),
        friendlyName: `admin-${kind}`,
      });
      value =
        kind === 'main'
          ? { accountSid: this.accountSid, adminKeySid: key.sid, adminKeySecret: key.secret }
          : { accountSid: this.accountSid, apiKeySid: key.sid, apiKeySecret: key.secret };
    }
    await this.store().create(secretId, randomBytes(16).toString('hex'), JSON.stringify(value));
  }

  /** Stores the account's current Auth Token in the secret an auth-token target rotates. */
  async seedToken(
    secretId = 'twilio/token',
    extra: Record<string, string> = {},
    options: { ageDays?: number } = {},
  ): Promise<string> {
    const authToken = this.twilio.authToken();
    const value = JSON.stringify({ accountSid: this.accountSid, authToken, ...extra });
    const then = () => Date.now() - (options.ageDays ?? 0) * 86_400_000;
    if (this.storeKind === 'file')
      await fileStore(this.storePath, then).create(secretId, randomBytes(16).toString('hex'), value);
    else {
      this.sm.setClock(then);
      try {
        await this.store().create(secretId, randomBytes(16).toString('hex'), value);
      } finally {
        this.sm.setClock(Date.now);
      }
    }
    return authToken;
  }

  /** The token a stage of an Auth Token secret holds. */
  async storedToken(stage: string, secretId = 'twilio/token'): Promise<string | undefined> {
    const v = (await this.store().read(secretId))?.versions.find((x) => x.stages.includes(stage));
    return v?.value === undefined ? undefined : (JSON.parse(v.value) as { authToken: string }).authToken;
  }

  /** Whether Twilio accepts the token for the account (a GET of the account with it). */
  async tokenWorks(token: string | undefined): Promise<boolean> {
    if (!token) return false;
    const res = await fetch(`${this.twilio.url}/2010-04-01/Accounts/${this.accountSid}.json`, {
      headers: { authorization: `Basic ${Buffer.from(`${this.accountSid}:${token}`).toString('base64')}` },
    });
    return res.status === 200;
  }

  /** Stores an existing, hand-made key as the current version, the way a user adopts the tool. */
  async seedCurrentKey(
    options: { type?: 'standard' | 'restricted'; policy?: { allow: string[] }; secretId?: string } = {},
  ): Promise<string> {
    const key = this.twilio.seedKey({
      type: options.type ?? 'standard',
      ...(options.policy ? { policy: options.policy } : {}),
      friendlyName: 'made-by-hand',
    });
    await this.store().create(
      options.secretId ?? 'twilio/app',
      randomBytes(16).toString('hex'),
      JSON.stringify({ accountSid: this.accountSid, apiKeySid: key.sid, apiKeySecret: key.secret }),
    );
    return key.sid;
  }

  configObject(targets: TargetSpec[] = [{}], extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      twilio: { baseUrl: this.twilio.url, timeoutSeconds: 5 },
      stores: { file: { path: this.storePath }, aws: { region: 'us-east-1', endpoint: this.sm.url } },
      retry: { attempts: 4, budgetSeconds: 5, minDelayMs: 5 },
      orphanGraceSeconds: 0,
      ...extra,
      targets: targets.map((t, i) =>
        t.kind === 'auth-token'
          ? {
              name: t.name ?? 'token',
              kind: 'auth-token',
              accountSid: this.accountSid,
              secret: { store: this.storeKind, secretId: t.secretId ?? 'twilio/token' },
              ...(t.adminSecretId ? { admin: { store: this.storeKind, secretId: t.adminSecretId } } : {}),
              maxAgeDays: t.maxAgeDays ?? 30,
              propagationDelaySeconds: t.propagationDelaySeconds ?? 0,
              ...(t.validationUrl ? { validationUrl: t.validationUrl } : {}),
              gate: t.gate ?? { minOverlapSeconds: 0, maxWaitSeconds: 3600 },
            }
          : {
              name: t.name ?? (i === 0 ? 'app' : `app${i}`),
              accountSid: this.accountSid,
              keyType: t.keyType ?? 'standard',
              ...(t.policy ? { policy: t.policy } : {}),
              friendlyNamePrefix: t.prefix ?? `rot-${t.name ?? (i === 0 ? 'app' : `app${i}`)}-`,
              secret: { store: this.storeKind, secretId: t.secretId ?? (i === 0 ? 'twilio/app' : `twilio/app${i}`) },
              admin: { store: this.storeKind, secretId: t.adminSecretId ?? 'twilio/admin' },
              maxAgeDays: t.maxAgeDays ?? 30,
              ...(t.validationUrl ? { validationUrl: t.validationUrl } : {}),
              gate: t.gate ?? { minOverlapSeconds: 0, maxWaitSeconds: 3600 },
            },
      ),
    };
  }

  async writeConfig(targets: TargetSpec[] = [{}], extra: Record<string, unknown> = {}): Promise<string> {
    await writeFile(this.configPath, stringify(this.configObject(targets, extra)));
    return this.configPath;
  }

  async config(): Promise<RotatorConfig> {
    return loadConfig(this.configPath, { ...process.env, ...AWS_ENV });
  }

  /** A runtime with a chosen clock, for tests that move time. Logs go to this world's output. */
  runtime(config: RotatorConfig, now?: () => number): Runtime {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => this.record(chunk.toString()));
    return createRuntime(config, {
      logger: createLogger({ stream, json: true }),
      env: { ...process.env, ...AWS_ENV },
      ...(now ? { now } : {}),
    });
  }

  /** Runs the CLI in-process; everything it prints is kept for the leak scan. */
  async cli(
    args: string[],
    env: NodeJS.ProcessEnv = {},
    stdin?: string,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const out = new PassThrough();
    const err = new PassThrough();
    out.on('data', (c: Buffer) => (stdout += c.toString()));
    err.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await runCli(
      args.includes('--config') || args.includes('-c') ? args : [...args, '--config', this.configPath],
      {
        stdout: out,
        stderr: err,
        env: { ...process.env, ...AWS_ENV, ...env },
        ...(stdin !== undefined ? { stdin: () => Promise.resolve(stdin) } : {}),
      },
    );
    this.record(stdout);
    this.record(stderr);
    return { code, stdout, stderr };
  }

  /** Keeps text the rotator printed, here and for the run-wide leak scan. */
  record(text: string): void {
    this.output.push(text);
    recordOutput(text);
  }

  /** Live keys on the account, by SID. */
  liveKeys(): string[] {
    return this.twilio.listKeys().map((k) => k.sid);
  }

  mutatingCalls(): { twilio: number; sm: number } {
    return { twilio: this.twilio.controls.mutatingCalls().length, sm: this.sm.controls.mutatingCalls().length };
  }

  resetLogs(): void {
    this.twilio.controls.log.length = 0;
    this.sm.controls.log.length = 0;
  }

  /** Stops the emulators and removes the world's folder (a suite leaves thousands otherwise). */
  async close(): Promise<void> {
    if (this.ownsTwilio) recordSecrets(this.twilio.issuedSecrets());
    await Promise.all([...(this.ownsTwilio ? [this.twilio.close()] : []), this.sm.close()]);
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}
