import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM build script without type declarations
import { buildLambda } from '../../scripts/build-lambda.mjs';
import { startSqsEmulator } from '../emulators/sqs/index.js';
import { rotationEvents, SCHEDULED_EVENT } from '../support/lambda-child.js';
import { loadConfig } from '../../src/config/load.js';
import { recordOutput } from '../support/scan.js';
import { receiveAll, sqsClient, sqsEvent } from '../support/sqs-events.js';
import { AWS_ENV, World } from '../support/world.js';
import { stringify } from 'yaml';

const run = promisify(execFile);
/** A test that builds bundles and starts Node 22 processes: CPU-bound work a busy machine stretches. */
const BUILDS_MS = 240_000;
const root = join(import.meta.dirname, '..', '..');
let world: World;
let bundle: string;
let built: {
  outfile: string;
  files: string[];
  bytes: number;
  initFiles: string[];
  initBytes: number;
  initInputs: string[];
};

const jsonLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as unknown);

/** Invokes the built handler in a fresh Node process, as the Lambda runtime would. */
async function invoke(
  event: unknown,
  env: Record<string, string> = AWS_ENV,
  entry = 'handler',
  file = bundle,
): Promise<{ ok: boolean; value: unknown; stdout: string; loaded: string[]; atInit: string[] }> {
  // Every module file the process loads is posted by a resolve hook (on the hooks' own thread) and
  // read here, on the main thread, once module init is done and again once the handler returned.
  const hook = `data:text/javascript,${encodeURIComponent(
    `let port; export function initialize(data) { port = data.port; } ` +
      `export async function resolve(s, c, next) { const r = await next(s, c); ` +
      `if (r.url.startsWith('file:')) port.postMessage(r.url); return r; }`,
  )}`;
  const registration =
    `import { register } from 'node:module'; ` +
    `import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads'; ` +
    `const { port1, port2 } = new MessageChannel(); port1.unref(); ` +
    `register(${JSON.stringify(hook)}, { data: { port: port2 }, transferList: [port2] }); ` +
    `globalThis.tkrLoaded = (tag) => { for (let m = receiveMessageOnPort(port1); m; ` +
    `m = receiveMessageOnPort(port1)) process.stderr.write(tag + ' ' + m.message + '\\n'); };`;
  const register = `data:text/javascript,${encodeURIComponent(registration)}`;
  const script =
    `import(${JSON.stringify(file)}).then((m) => (tkrLoaded('INIT'), ` +
    `m[${JSON.stringify(entry)}](${JSON.stringify(event)}, { getRemainingTimeInMillis: () => ` +
    `60000 }))).then((v) => console.log('RESULT ' + JSON.stringify({ ok: true, value: v })), (e) ` +
    `=> console.log('RESULT ' + JSON.stringify({ ok: false, value: e.message }))).finally(() => tkrLoaded('LATER'))`;
  const { stdout, stderr } = await run(process.execPath, ['--import', register, '--input-type=module', '-e', script], {
    env: { ...withoutAwsCredentials(process.env), ...env, LAMBDA_TASK_ROOT: world.dir },
  });
  recordOutput(stdout);
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  const files = (...tags: string[]) =>
    stderr
      .split('\n')
      .filter((l) => tags.includes(l.split(' ')[0]!))
      .map((l) => fileURLToPath(l.slice(l.indexOf(' ') + 1)));
  // atInit: what module init read, before the handler was called.
  const atInit = files('INIT');
  const loaded = files('INIT', 'LATER');
  return { ...(JSON.parse(line!.slice(7)) as { ok: boolean; value: unknown }), stdout, loaded, atInit };
}

function withoutAwsCredentials(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const {
    AWS_ACCESS_KEY_ID: _id,
    AWS_SECRET_ACCESS_KEY: _secret,
    AWS_SESSION_TOKEN: _token,
    AWS_PROFILE: _profile,
    ...rest
  } = env;
  return rest;
}

beforeAll(async () => {
  world = await World.start('aws');
  await world.seedAdmin();
  await world.writeConfig();
  built = (await buildLambda({ config: world.configPath, outdir: join(world.dir, 'lambda') })) as typeof built;
  bundle = built.outfile;
}, BUILDS_MS);
afterAll(() => world.close());

describe('the Lambda bundle', () => {
  it('stays under 1 MB, chunks included', () => {
    expect(built.bytes).toBe(built.files.reduce((n, f) => n + statSync(f).size, 0));
    expect(built.files.length).toBeGreaterThan(1);
    expect(built.bytes).toBeLessThanOrEqual(1_000_000);
    expect(built.initBytes).toBeLessThan(built.bytes);
  });

  it("names in every file's source map sources that exist, the lazy chunks' as the handler's", () => {
    const maps = built.files.map((f) => `${f}.map`).filter((m) => existsSync(m));
    expect(maps.length).toBeGreaterThan(1);
    // The rotator's own sources (a package's map may name sources it does not ship).
    const ours = maps.flatMap((m) =>
      (JSON.parse(readFileSync(m, 'utf8')) as { sources: string[] }).sources
        .filter((s) => s.includes('src/') && !s.includes('node_modules') && !/^[\w-]+:/.test(s))
        .map((s) => ({ m, s })),
    );
    expect(new Set(ours.map(({ m }) => m)).size).toBeGreaterThan(1);
    expect(ours.filter(({ m, s }) => !existsSync(resolve(dirname(m), s))).map(({ m, s }) => `${m}: ${s}`)).toEqual([]);
  });

  it('fails to build a configuration that is invalid, with the message the CLI gives', async () => {
    const bad = join(world.dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(world.configPath, 'utf8').replace(/maxAgeDays: \d+/, 'maxAgeDays: -1'));
    const cli = await loadConfig(bad).then(
      () => 'accepted',
      (e: Error) => e.message,
    );
    expect(cli).toMatch(/maxAgeDays: must be greater than 0/);
    await expect(buildLambda({ config: bad, outdir: join(world.dir, 'bad') })).rejects.toThrow(cli);
  });

  it('leaves out of start-up what a run may never need: winston, the alert channels, the SQS client', () => {
    expect(built.initInputs).toContain('src/entry/lambda.ts');
    const never =
      /node_modules\/(zod|winston|logform|@aws-sdk\/client-sqs)\/|src\/adapters\/alerts\/(?!channels)|config\/validate/;
    expect(built.initInputs.filter((p) => never.test(p))).toEqual([]);
  });

  it('leaves out of start-up what neither a scheduled run nor a rotation step uses', () => {
    const never = new RegExp(
      `^(${[
        // dayjs (a UTC parser in its place), node-cron (loaded with zod, to validate), the IAM resources
        // the rotator does not call, all of two package.json files but their versions.
        'node_modules/(dayjs|node-cron)/',
        'node_modules/twilio/lib/rest/iam/v1/(oAuthApp|rolePermission|token)\\.js',
        'node_modules/(twilio|@aws-sdk/client-secrets-manager)/package\\.json',
        // The SDK's credential chain beyond the environment's link, its JavaScript SHA-256, and the
        // modules lazy chunks take through the barrels start-up shares with them (REST and query protocols).
        'node_modules/@aws-sdk/credential-provider-node/',
        'checksum/sha256/Sha256Js\\.js',
        'protocols/HttpBindingProtocol\\.js',
        'checksum/md5/',
        // The shard code (read at init only by a function that shards or works shards), the dry run,
        // the configuration's schema modules (a copy of them goes with the validation).
        'src/entry/shard',
        'src/adapters/queue/',
        'src/engine/(shards|dry-run)\\.ts',
        'src/config/(schema|validate)\\.ts',
      ].join('|')})`,
    );
    expect(built.initInputs.filter((p) => never.test(p))).toEqual([]);
    expect(built.initInputs).toContain(`left-out:${join(root, 'src/engine/dry-run.ts')}`);
  });

  it('holds only the credential kinds its configuration uses (API keys here)', () => {
    expect(built.initInputs).toContain('src/credentials/api-key/module.ts');
    const unused = /src\/credentials\/(auth-token|oauth-app)\/module\.ts/;
    expect(built.initInputs.filter((p) => unused.test(p))).toEqual([]);
    expect(built.initInputs.filter((p) => p.startsWith('unused-kind:'))).toEqual([
      'unused-kind:auth-token',
      'unused-kind:oauth-app',
    ]);
  });

  it('loads no undici at start-up on Node 22 (built-ins are required, not imported as ESM)', async () => {
    // An ESM import of node:http evaluates http.WebSocket's getter, which loads undici (~60 ms).
    const script =
      `await import(${JSON.stringify(bundle)}); console.log(JSON.stringify({ version: ` +
      `process.version, undici: process.moduleLoadList.filter((m) => m.includes('undici')) }))`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...AWS_ENV },
    });
    expect(JSON.parse(stdout)).toEqual({ version: expect.stringMatching(/^v22\./), undici: [] });
  });

  it('refuses to start with an invalid ROTATOR_SAFETY_MARGIN_MS, naming it', async () => {
    const script =
      `await import(${JSON.stringify(bundle)}).then(() => console.log('STARTED'), (e) => ` +
      `console.log('REFUSED ' + e.message))`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...AWS_ENV, ROTATOR_SAFETY_MARGIN_MS: '20s' },
    });
    expect(stdout).toMatch(
      /^REFUSED the environment is invalid:\n {2}- ROTATOR_SAFETY_MARGIN_MS: must be a whole number of milliseconds/,
    );
  });

  it('runs a scheduled event from its bundled configuration, in a fresh process', async () => {
    const out = await invoke({ ...SCHEDULED_EVENT, id: randomUUID() });
    expect(out.value).toEqual({ targets: [{ target: 'app', kind: 'done' }] });
    // With credentials in the environment, as on Lambda, no chunk beyond the start-up set is read.
    expect(out.loaded).toContain(bundle);
    expect(out.loaded.filter((f) => !built.initFiles.includes(f))).toEqual([]);
    // ...and every file in it is read at init, so the start-up size the build reports is what a cold start reads.
    expect(built.initFiles.filter((f) => !out.atInit.includes(f))).toEqual([]);
    expect(out.stdout).toMatch(/"step":"create-secret"/);
    expect(world.sm.inspect('twilio/app')?.versions).toHaveLength(1);
  });

  it('runs the four rotation steps, each in its own process', async () => {
    const token = randomUUID();
    world.sm.beginRotation('twilio/app', token);
    const arn = world.sm.inspect('twilio/app')!.arn;
    for (const event of rotationEvents(arn, token) as { Step: string }[]) {
      const out = await invoke(event);
      expect(out.ok, String(out.value)).toBe(true);
      // The bundled winston (on node:stream, see scripts/build-lambda.mjs) writes a JSON line per step.
      expect(jsonLines(out.stdout)).toContainEqual(
        expect.objectContaining({ level: 'info', step: event.Step, rotationId: token }),
      );
    }
    expect(world.sm.inspect('twilio/app')!.versions.find((v) => v.versionId === token)?.stages).toEqual(['AWSCURRENT']);
  });

  it('fails a step for a secret it does not manage, with an error line in the log', async () => {
    const token = randomUUID();
    const out = await invoke({
      Step: 'createSecret',
      SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf',
      ClientRequestToken: token,
    });
    expect(out.ok).toBe(false);
    expect(String(out.value)).toMatch(/not the secret of any configured target/);
    expect(jsonLines(out.stdout)).toContainEqual(
      expect.objectContaining({
        level: 'error',
        step: 'createSecret',
        rotationId: token,
        message: expect.stringMatching(/not the secret of any configured target/),
      }),
    );
  });

  it('shards a scheduled event via the SQS client it loads only then; the worker reconciles the message', async () => {
    const sqs = await startSqsEmulator();
    const client = sqsClient(sqs);
    try {
      const queueUrl = sqs.createQueueDirect('shards');
      const env = { ...AWS_ENV, AWS_REGION: 'us-east-1', ROTATOR_SHARD_QUEUE_URL: queueUrl };
      const sent = await invoke({ ...SCHEDULED_EVENT, id: randomUUID() }, env);
      expect(sent.value).toEqual({ sharded: { messages: 1, targets: 1 } });
      // The shard code and the SQS client live in chunks/, read by a scheduler that shards and by no other.
      const shardCode = sent.loaded.filter((f) => !built.initFiles.includes(f));
      expect(shardCode.some((f) => /[\\/]shard-[A-Z0-9]+\.mjs$/.test(f))).toBe(true);
      expect(shardCode.some((f) => /[\\/]dist-es-[A-Z0-9]+\.mjs$/.test(f))).toBe(true);
      const messages = await receiveAll(client, queueUrl);
      // Lambda names the handler in _HANDLER: the shard worker starts reading its code at init.
      const worker = { ...AWS_ENV, _HANDLER: 'handler.shardHandler' };
      const worked = await invoke(sqsEvent(messages, queueUrl), worker, 'shardHandler');
      expect(worked.value).toEqual({ batchItemFailures: [] });
      expect(worked.loaded.some((f) => /[\\/]shard-worker-[A-Z0-9]+\.mjs$/.test(f))).toBe(true);
      expect(worked.loaded.some((f) => /[\\/]dist-es-[A-Z0-9]+\.mjs$/.test(f))).toBe(false);
      expect(jsonLines(worked.stdout)).toContainEqual(
        expect.objectContaining({
          level: 'info',
          step: 'summary',
          message: 'shard run of 1 targets from 1 messages: app: done',
        }),
      );
    } finally {
      client.destroy();
      await sqs.close();
    }
  });

  it('loads a credential provider kept in a chunk when the environment has no credentials', async () => {
    // Off Lambda, or with a profile: the SDK's ini provider lives in chunks/ and is read only now.
    const home = join(world.dir, 'aws-home');
    mkdirSync(home, { recursive: true });
    writeFileSync(
      join(home, 'credentials'),
      '[rotator]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = not-a-real-aws-secret\n',
    );
    const env = {
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_PROFILE: 'rotator',
    };
    world.sm.controls.reset();
    const out = await invoke({ ...SCHEDULED_EVENT, id: randomUUID() }, env);
    expect(out.ok, String(out.value)).toBe(true);
    expect(world.sm.controls.log.length).toBeGreaterThan(0);
    expect(new Set(world.sm.controls.log.map((e) => e.credential))).toEqual(new Set(['AKIDFROMPROFILE']));
    expect(out.loaded.filter((f) => !built.initFiles.includes(f)).length).toBeGreaterThan(0);
  });

  it(
    'validates at start-up when a variable the build read differs, refusing a bad one as the CLI would',
    async () => {
      const file = join(world.dir, 'from-env.yaml');
      writeFileSync(
        file,
        readFileSync(world.configPath, 'utf8').replace(/accountSid: \S+/, 'accountSid: ${TKR_ACCOUNT}'),
      );
      process.env.TKR_ACCOUNT = world.accountSid;
      const env = await buildLambda({ config: file, outdir: join(world.dir, 'from-env') }).finally(
        () => delete process.env.TKR_ACCOUNT,
      );
      expect(env.configAtStart).toBeUndefined();
      const same = await invoke(
        { ...SCHEDULED_EVENT, id: randomUUID() },
        { ...AWS_ENV, TKR_ACCOUNT: world.accountSid },
        'handler',
        env.outfile,
      );
      expect(same.value).toEqual({ targets: [{ target: 'app', kind: 'done' }] });
      expect(same.loaded.filter((f) => !env.initFiles.includes(f))).toEqual([]);
      const other = await invoke(
        { ...SCHEDULED_EVENT, id: randomUUID() },
        { ...AWS_ENV, TKR_ACCOUNT: 'AC-not-a-sid' },
        'handler',
        env.outfile,
      );
      expect(other.ok).toBe(false);
      expect(other.value).toMatch(
        /^bundled config\/rotator.yaml is invalid:\n {2}- targets\.0\.accountSid: must be an Account SID/,
      );
      expect(other.stdout).toMatch(/"message":"validating the configuration here: TKR_ACCOUNT differ/);
    },
    BUILDS_MS,
  );
  it(
    'bakes no ${NAME} value of a field that may hold a secret, and validates at start-up',
    async () => {
      const file = join(world.dir, 'probe-token.yaml');
      const url = 'https://consumer.example/check?token=${TKR_TOKEN}';
      writeFileSync(
        file,
        readFileSync(world.configPath, 'utf8').replace(
          /( *)accountSid: (\S+)/,
          `$1accountSid: $2\n$1validationUrl: ${url}`,
        ),
      );
      const marker = `tkr${randomUUID().replaceAll('-', '')}`;
      process.env.TKR_TOKEN = marker;
      const built = await buildLambda({ config: file, outdir: join(world.dir, 'probe-token') }).finally(
        () => delete process.env.TKR_TOKEN,
      );
      expect(built.configAtStart).toMatch(/validationUrl may hold a secret/);
      expect(built.files.filter((f: string) => readFileSync(f, 'utf8').includes(marker))).toEqual([]);
    },
    BUILDS_MS,
  );

  it(
    'leaves out the file store, Auth Token and subaccount adapters only when the configuration has none',
    async () => {
      // This world's configuration names a file store, so the bundle keeps it; without one, it is left out.
      expect(built.initInputs).toContain('src/adapters/secrets/file-store.ts');
      const raw = world.configObject();
      delete (raw.stores as { file?: unknown }).file;
      const file = join(world.dir, 'aws-only.yaml');
      writeFileSync(file, stringify(raw));
      const lean = await buildLambda({ config: file, outdir: join(world.dir, 'aws-only') });
      const adapters = /^src\/adapters\/(secrets\/file-(store|lock)|twilio\/(auth-tokens|subaccounts))\.ts$/;
      expect(built.initInputs.filter((p) => adapters.test(p)).sort()).toEqual([
        'src/adapters/secrets/file-lock.ts',
        'src/adapters/secrets/file-store.ts',
      ]);
      expect(lean.initInputs.filter((p: string) => adapters.test(p))).toEqual([]);
      const out = await invoke({ ...SCHEDULED_EVENT, id: randomUUID() }, AWS_ENV, 'handler', lean.outfile);
      expect(out.value).toEqual({ targets: [{ target: 'app', kind: 'done' }] });
      // An Auth Token target keeps its adapter.
      const token = join(world.dir, 'token.yaml');
      writeFileSync(token, stringify(world.configObject([{ kind: 'auth-token' }])));
      const tokens = await buildLambda({ config: token, outdir: join(world.dir, 'token') });
      expect(tokens.initInputs).toContain('src/adapters/twilio/auth-tokens.ts');
    },
    BUILDS_MS,
  );

  it(
    'validates a schedule at start-up with node-cron, which it loads with zod only then',
    async () => {
      const build = (schedule: string) => {
        const file = join(world.dir, `cron-${schedule.length}.yaml`);
        const raw = world.configObject();
        (raw.targets as Record<string, unknown>[])[0]!.schedule = schedule;
        writeFileSync(file, stringify(raw).replace(/accountSid: \S+/, 'accountSid: ${TKR_ACCOUNT}'));
        return buildLambda({ config: file, outdir: join(world.dir, `cron-${schedule.length}`) });
      };
      const good = await build('*/5 * * * *');
      expect(good.configAtStart).toMatch(/TKR_ACCOUNT not set/);
      expect(good.initInputs.filter((p: string) => p.includes('node_modules/node-cron/'))).toEqual([]);
      const env = { ...AWS_ENV, TKR_ACCOUNT: world.accountSid };
      const ran = await invoke({ ...SCHEDULED_EVENT, id: randomUUID() }, env, 'handler', good.outfile);
      expect(ran.value).toEqual({ targets: [{ target: 'app', kind: 'done' }] });
      expect(ran.loaded.some((f) => !good.initFiles.includes(f))).toBe(true);
      const bad = await build('99 * * * * * *');
      const refused = await invoke({ ...SCHEDULED_EVENT, id: randomUUID() }, env, 'handler', bad.outfile);
      expect(refused.ok).toBe(false);
      expect(refused.value).toMatch(
        /- targets\.0\.schedule: must be a cron expression such as "\*\/15 \* \* \* \*".*: /,
      );
    },
    BUILDS_MS,
  );
});
