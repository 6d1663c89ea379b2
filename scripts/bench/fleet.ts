/**
 * npm run bench:fleet — a fleet of API-key targets on one Twilio account against the emulators, every
 * request delayed by LATENCY_MS and Twilio limited to TWILIO_LIMIT concurrent requests, as Twilio
 * limits concurrency per account. Measured in one run, side by side:
 *   (a) a nothing-due run, (b) an all-due run (`rotate --force`, gate open: create, verify, promote,
 *   retire), each with the configured concurrency, and the one-at-a-time behaviour on a sample;
 *   wall time against the lower bound (remote calls × latency ÷ the concurrency the limits allow),
 *   remote calls per rotation and per nothing-due target, and the CLI's peak RSS.
 * The CLI runs as its own process: the package's bin, dist/cli/cli.mjs (built first when missing or
 * stale), as the crash tests run it; the emulators run here.
 *
 * BENCH_N (1000), BENCH_SAMPLE (the one-at-a-time sample, 40), BENCH_LATENCY_MS (50),
 * BENCH_TWILIO_LIMIT (20), BENCH_CONCURRENCY (20), BENCH_STORE (aws|file, aws),
 * BENCH_SWEEP (batched|per-target, batched: the nothing-due sweep from ListSecrets/BatchGetSecretValue),
 * BENCH_NODE (a Node binary for the CLI; default Node 22, from scripts/node22.mjs), BENCH_NODE_FLAGS,
 * BENCH_PROFILE_DIR (CPU profiles).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { awsStore } from '../../src/adapters/secrets/aws-store.js';
import { fileStore } from '../../src/adapters/secrets/file-store.js';
import type { SecretStore } from '../../src/core/ports.js';
import { startSecretsManagerEmulator } from '../../test/emulators/secrets-manager/index.js';
import { startTwilioEmulator } from '../../test/emulators/twilio/index.js';
import { builtCliBin } from '../build-cli.mjs';
import { ensureNode22, versionOf } from '../node22.mjs';

const N = Number(process.env.BENCH_N ?? 1000);
const SAMPLE = Math.min(N, Number(process.env.BENCH_SAMPLE ?? 40));
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50);
const TWILIO_LIMIT = Number(process.env.BENCH_TWILIO_LIMIT ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const STORE = (process.env.BENCH_STORE ?? 'aws') as 'aws' | 'file';
const SWEEP = process.env.BENCH_SWEEP ?? 'batched';
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDBENCH',
  AWS_SECRET_ACCESS_KEY: 'bench-not-a-secret',
  AWS_REGION: 'us-east-1',
};

interface Measured {
  ms: number;
  /** The CLI process's own CPU time (user + system). */
  cpuMs: number;
  twilio: number;
  sm: number;
  maxRssMiB: number;
  code: number | null;
  stdout: string;
  ops: Map<string, number>;
}

/** The CLI runs on Node 22 (what Lambda runs) unless BENCH_NODE names another binary ("current": this one). */
const NODE =
  process.env.BENCH_NODE === 'current' ? process.execPath : (process.env.BENCH_NODE ?? (await ensureNode22()));
/** V8 flags for the CLI's process, e.g. BENCH_NODE_FLAGS=--optimize-for-size (NODE_OPTIONS refuses some). */
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const twilio = await startTwilioEmulator();
const sm = await startSecretsManagerEmulator();
const dir = await mkdtemp(join(tmpdir(), 'tkr-bench-fleet-'));
const storePath = join(dir, 'secrets.json');
const bundle = await builtCliBin();
const rssProbe = join(dir, 'rss.mjs');
await writeFile(
  rssProbe,
  "process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write(`\\nBENCH_MAX_RSS_KIB=${u.maxRSS} BENCH_CPU_US=${u.userCPUTime + u.systemCPUTime}\\n`); });\n",
);

const store = (): SecretStore =>
  STORE === 'file'
    ? fileStore(storePath)
    : awsStore({
        region: 'us-east-1',
        endpoint: sm.url,
        credentials: { accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY },
        retry: { attempts: 3, budgetMs: 30_000, minDelayMs: 5 },
      });

async function seed(prefix: string, count: number): Promise<void> {
  const s = store();
  await s.create(
    'fleet/admin',
    randomBytes(16).toString('hex'),
    JSON.stringify({ accountSid: twilio.accountSid, authToken: twilio.authToken() }),
  );
  const queue = Array.from({ length: count }, (_, i) => i);
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const key = twilio.seedKey({ type: 'standard', friendlyName: `hand-made-${i}` });
        await s.create(
          `${prefix}/app-${i}`,
          randomBytes(16).toString('hex'),
          JSON.stringify({ accountSid: twilio.accountSid, apiKeySid: key.sid, apiKeySecret: key.secret }),
        );
      }
    }),
  );
}

async function config(prefix: string, count: number, concurrency: number): Promise<string> {
  const path = join(dir, `${prefix}-${concurrency}.yaml`);
  await writeFile(
    path,
    stringify({
      twilio: { baseUrl: twilio.url, timeoutSeconds: 30 },
      stores: {
        file: { path: storePath },
        aws: { region: 'us-east-1', endpoint: sm.url, ...(process.env.BENCH_LEGACY === '1' ? {} : { sweep: SWEEP }) },
      },
      retry: { attempts: 8, budgetSeconds: 120, minDelayMs: 50 },
      // BENCH_LEGACY=1 measures a build from before the concurrency settings existed.
      ...(process.env.BENCH_LEGACY === '1' ? {} : { concurrency: { targets: concurrency, perAccount: TWILIO_LIMIT } }),
      orphanGraceSeconds: 900,
      targets: Array.from({ length: count }, (_, i) => ({
        name: `${prefix}-${i}`,
        accountSid: twilio.accountSid,
        keyType: 'standard',
        friendlyNamePrefix: `${prefix}${i}-`,
        secret: { store: STORE, secretId: `${prefix}/app-${i}` },
        admin: { store: STORE, secretId: 'fleet/admin' },
        maxAgeDays: 30,
        gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 },
      })),
    }),
  );
  return path;
}

async function run(args: string[], configPath: string): Promise<Measured> {
  twilio.controls.log.length = 0;
  sm.controls.log.length = 0;
  const started = performance.now();
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE_DIR] : [];
  const child = spawn(
    NODE,
    [...NODE_FLAGS, ...profile, '--import', rssProbe, bundle, ...args, '--config', configPath],
    {
      env: { ...process.env, ...AWS_ENV, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const ms = performance.now() - started;
  const rss = Number(/BENCH_MAX_RSS_KIB=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
  const cpuMs = Number(/BENCH_CPU_US=(\d+)/.exec(stderr)?.[1] ?? 0) / 1000;
  if (code !== 0)
    process.stderr.write(`run ${args.join(' ')} exited ${code}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}\n`);
  const ops = new Map<string, number>();
  for (const e of [...twilio.controls.log, ...sm.controls.log]) ops.set(e.operation, (ops.get(e.operation) ?? 0) + 1);
  return {
    ms,
    cpuMs,
    twilio: twilio.controls.log.length,
    sm: sm.controls.log.length,
    maxRssMiB: rss,
    code,
    stdout,
    ops,
  };
}

function setLatency(on: boolean): void {
  twilio.controls.latencyMs = on ? LATENCY_MS : 0;
  sm.controls.latencyMs = on ? LATENCY_MS : 0;
  twilio.setConcurrencyLimit(on ? TWILIO_LIMIT : undefined);
}

/** The fastest a run making `calls` requests can be, when at most `concurrency` are in flight. */
const bound = (calls: number) => (calls * LATENCY_MS) / Math.min(CONCURRENCY, TWILIO_LIMIT);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

try {
  process.stdout.write(
    `fleet bench: N=${N} API-key targets on one account, ${STORE} store, ${LATENCY_MS} ms per request, Twilio limit ${TWILIO_LIMIT} concurrent, rotator concurrency ${CONCURRENCY}; the CLI on Node ${versionOf(NODE)}, the emulators on ${process.version}\n`,
  );
  await seed('fleet', N);
  await seed('solo', SAMPLE);
  const fleet = await config('fleet', N, CONCURRENCY);
  const solo = await config('solo', SAMPLE, 1);

  // Adopt the hand-made keys first (verify and mark current), with no latency: not measured.
  setLatency(false);
  for (const c of [fleet, solo]) {
    const warm = await run(['rotate'], c);
    if (warm.code !== 0) throw new Error('warm-up run failed');
  }
  setLatency(true);

  const quiet = await run(['rotate'], fleet);
  const quietSolo = await run(['rotate'], solo);
  const due = await run(['rotate', '--force'], fleet);
  const dueSolo = await run(['rotate', '--force'], solo);
  const rotated = (due.stdout.match(/: done\./g) ?? []).length;

  const perTargetSolo = (m: Measured) => m.ms / SAMPLE;
  const lines = [
    ['', 'wall', 'lower bound', 'ratio', 'one at a time (est.)', 'Twilio calls', 'SM calls', 'peak RSS'],
    [
      '(a) nothing due',
      s(quiet.ms),
      s(bound(quiet.twilio + quiet.sm)),
      (quiet.ms / bound(quiet.twilio + quiet.sm)).toFixed(2),
      s(perTargetSolo(quietSolo) * N),
      String(quiet.twilio),
      String(quiet.sm),
      `${quiet.maxRssMiB.toFixed(0)} MiB`,
    ],
    [
      '(b) all due',
      s(due.ms),
      s(bound(due.twilio + due.sm)),
      (due.ms / bound(due.twilio + due.sm)).toFixed(2),
      s(perTargetSolo(dueSolo) * N),
      String(due.twilio),
      String(due.sm),
      `${due.maxRssMiB.toFixed(0)} MiB`,
    ],
  ];
  for (const l of lines)
    process.stdout.write(
      `  ${l[0]!.padEnd(16)}${l
        .slice(1)
        .map((c) => ` ${c.padStart(12)}`)
        .join('')}\n`,
    );
  const quietRemoteMs = ((quiet.twilio + quiet.sm) * LATENCY_MS) / Math.min(CONCURRENCY, TWILIO_LIMIT);
  process.stdout.write(
    [
      `  targets                                    measured        target`,
      `  (b) wall ÷ lower bound                     ${(due.ms / bound(due.twilio + due.sm)).toFixed(2).padStart(8)}        ≤ 1.25`,
      `  (a) remote time (calls × latency ÷ conc.)  ${s(quietRemoteMs).padStart(8)}        ≤ 2 s with batched metadata`,
      `  (a) store calls per nothing-due target     ${(quiet.sm / N).toFixed(2).padStart(8)}        ≤ 2`,
      `  (b) remote calls per rotation              ${((due.twilio + due.sm) / Math.max(1, rotated)).toFixed(1).padStart(8)}        ≤ 18  (${rotated} of ${N} rotated)`,
      `  peak RSS, nothing due / all due        ${quiet.maxRssMiB.toFixed(0).padStart(4)} / ${due.maxRssMiB.toFixed(0).padStart(3)} MiB  ≤ 128 MiB`,
      `  (b) calls per rotation by operation: ${[...due.ops]
        .sort((x, y) => y[1] - x[1])
        .map(([op, n]) => `${op} ${(n / Math.max(1, rotated)).toFixed(2)}`)
        .join(', ')}`,
      `  the CLI's own CPU time: ${s(quiet.cpuMs)} nothing due, ${s(due.cpuMs)} all due (against ${s(quiet.ms)} and ${s(due.ms)} of wall time)`,
      `  one at a time: ${SAMPLE} targets measured, ${s(quietSolo.ms)} nothing due and ${s(dueSolo.ms)} all due; scaled to N`,
    ].join('\n') + '\n',
  );
  const failed = [quiet, due].some((m) => m.code !== 0);
  process.exitCode = failed ? 1 : 0;
} finally {
  await Promise.all([twilio.close(), sm.close()]);
  await rm(dir, { recursive: true, force: true });
}
