/**
 * npm run bench:fleet — fleets of API-key targets on one Twilio account against the emulators, every
 * request delayed by LATENCY_MS and Twilio limited to TWILIO_LIMIT concurrent requests, as Twilio
 * limits concurrency per account. For each N (fresh emulators each), measured in one run, side by side:
 *   nothing due (`rotate`), `status`, the first all-due rotation (`rotate --force`, gate open: create,
 *   verify, promote, retire) and the following one (the previous version now names a deleted key),
 *   each with the configured concurrency: wall time against the lower bound (remote calls × latency ÷
 *   the concurrency the limits allow), remote calls per rotation and per nothing-due target, the
 *   CLI's own CPU time, its peak RSS and the load average in each phase. For nothing due, its store calls by
 *   operation and its remote time (first request to last answer) against the critical path: the
 *   longer of the ListSecrets pages one after another and the admin secret's read then the key list.
 * The CLI runs as its own process: the package's bin, dist/cli/cli.mjs (built first when missing or
 * stale), as the crash tests run it; the emulators run here.
 *
 * BENCH_N (300,1000: a comma-separated list), BENCH_LATENCY_MS (50), BENCH_TWILIO_LIMIT (20),
 * BENCH_CONCURRENCY (20), BENCH_STORE (aws|file, aws), BENCH_SWEEP (batched|per-target, batched),
 * BENCH_PHASES (quiet,status,first,next), BENCH_BIN (another build's cli.mjs, to compare),
 * BENCH_NODE (a Node binary for the CLI; default Node 22, from scripts/node22.mjs), BENCH_NODE_FLAGS,
 * BENCH_PROFILE_DIR (CPU profiles), BENCH_TRACE_DIR (each phase's request log as JSON lines: arrival time,
 * service, operation; for plotting requests in flight over time; and the CLI's own side of each request,
 * from an --import probe: when it was made, sent, answered and read; for nothing due, where the time
 * between one ListSecrets page's answer and the next page's arrival went), BENCH_LATENCY_MODEL (included:
 * the Secrets Manager emulator's answer leaves at arrival + latency, its own work inside it, as a real
 * service's does; added: the latency first, then its work, the model before issue 24's fourth round),
 * BENCH_MEMORY=1 (what the CLI's peak RSS is made of: its memory sampled every 50 ms, reported per phase
 * at the peak).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { awsStore } from '../../src/adapters/secrets/aws-store.js';
import { fileStore } from '../../src/adapters/secrets/file-store.js';
import type { SecretStore } from '../../src/core/ports.js';
import type { RequestLogEntry } from '../../test/emulators/common/index.js';
import { startSecretsManagerEmulator } from '../../test/emulators/secrets-manager/index.js';
import { startTwilioEmulator } from '../../test/emulators/twilio/index.js';
import { builtCliBin } from '../build-cli.mjs';
import { ensureNode22, versionOf } from '../node22.mjs';

const SIZES = (process.env.BENCH_N ?? '300,1000').split(',').map(Number);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50);
const TWILIO_LIMIT = Number(process.env.BENCH_TWILIO_LIMIT ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);
const STORE = (process.env.BENCH_STORE ?? 'aws') as 'aws' | 'file';
const SWEEP = process.env.BENCH_SWEEP ?? 'batched';
const PHASES = new Set((process.env.BENCH_PHASES ?? 'quiet,status,first,next').split(','));
const LATENCY_MODEL = process.env.BENCH_LATENCY_MODEL ?? 'included';
if (LATENCY_MODEL !== 'included' && LATENCY_MODEL !== 'added')
  throw new Error(`BENCH_LATENCY_MODEL must be included or added, not ${LATENCY_MODEL}`);
const TRACE_DIR = process.env.BENCH_TRACE_DIR;
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDBENCH',
  AWS_SECRET_ACCESS_KEY: 'bench-not-a-secret',
  AWS_REGION: 'us-east-1',
};

interface Measured {
  name: string;
  ms: number;
  /** The CLI process's own CPU time (user + system). */
  cpuMs: number;
  twilio: number;
  sm: number;
  maxRssMiB: number;
  code: number | null;
  stdout: string;
  ops: Map<string, number>;
  /** Rotations the run made (keys created). */
  rotated: number;
  /** From the first request's arrival to the last answer (arrival + latency): the run's remote time. */
  remoteMs: number;
  storeOps: Map<string, number>;
  /** The machine's one-minute load average when the phase began and when it ended. */
  load: [number, number];
  /** With BENCH_TRACE_DIR: the mean ms per ListSecrets page from one page's answer to the next's arrival. */
  pageGaps?: PageGaps;
  /** BENCH_MEMORY's report. */
  memory?: { rss: number; heap: number; file?: number; anon?: number; most: Record<string, number> };
}

/** One request as the CLI saw it (the --import probe), epoch milliseconds with fractions. */
interface ClientRequest {
  op: string;
  created: number;
  sent?: number;
  end?: number;
}
/** Where the time between a page's due answer (arrival + latency) and the next page's arrival went. */
interface PageGaps {
  gaps: number;
  /** The emulator answered after its due time (work after the latency, or its event loop busy). */
  late: number;
  /** Answer sent → the CLI has read all of it (the wire; the CLI's event loop busy with other things). */
  back: number;
  /** Read → the next page's request made (the SDK's parse, the walk's own work, middleware, signing). */
  client: number;
  /**
   * Made → the emulator has it (the socket write, the wire; the emulators' event loop busy with other
   * answers). From the request's making, not its 'finish' event, which a busy CLI hears late.
   */
  out: number;
}

/** The CLI runs on Node 22 (what Lambda runs) unless BENCH_NODE names another binary ("current": this one). */
const NODE =
  process.env.BENCH_NODE === 'current' ? process.execPath : (process.env.BENCH_NODE ?? (await ensureNode22()));
/** V8 flags for the CLI's process, e.g. BENCH_NODE_FLAGS=--optimize-for-size (NODE_OPTIONS refuses some). */
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const BIN = process.env.BENCH_BIN ?? (await builtCliBin());
const dir = await mkdtemp(join(tmpdir(), 'tkr-bench-fleet-'));
const rssProbe = join(dir, 'rss.mjs');
const probeLine = 'BENCH_MAX_RSS_KIB=${u.maxRSS} BENCH_CPU_US=${u.userCPUTime + u.systemCPUTime}';
await writeFile(
  rssProbe,
  `process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write(\`\\n${probeLine}\\n\`); });\n`,
);
// The CLI's side of each request (BENCH_TRACE_DIR): Node's http diagnostics channels, written at exit.
const httpProbe = join(dir, 'http-probe.mjs');
await writeFile(
  httpProbe,
  [
    "import dc from 'node:diagnostics_channel'; import { writeFileSync } from 'node:fs';",
    'const rows = []; const byRequest = new WeakMap(); const now = () => performance.timeOrigin + performance.now();',
    "dc.channel('http.client.request.created').subscribe(({ request }) => {",
    "  const r = { op: String(request.getHeader('x-amz-target') ?? request.path.split('?')[0]), created: now() };",
    "  rows.push(r); byRequest.set(request, r); request.on('finish', () => (r.sent = now()));",
    '});',
    "dc.channel('http.client.response.finish').subscribe(({ request, response }) => {",
    "  const r = byRequest.get(request); if (r) response.on('end', () => (r.end = now()));",
    '});',
    "const lines = () => rows.map((r) => JSON.stringify(r)).join('\\n');",
    "process.on('exit', () => writeFileSync(process.env.BENCH_CLIENT_TRACE, lines()));",
  ].join('\n'),
);

/**
 * BENCH_MEMORY: the CLI samples its memory every 50 ms and, at exit, tells what it was at the highest
 * RSS: file-backed and anonymous resident pages (/proc/self/smaps_rollup, Linux), V8's heap committed, and the
 * most each heap space ever committed (V8 keeps pages it freed, so RSS follows the heap's high-water
 * mark). MiB, one decimal.
 */
const MEMORY = process.env.BENCH_MEMORY === '1';
const memoryProbe = join(dir, 'memory.mjs');
await writeFile(
  memoryProbe,
  `import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
const MiB = (b) => Math.round(b / 104857.6) / 10;
const rollup = () => {
  try {
    const t = readFileSync('/proc/self/smaps_rollup', 'utf8');
    const kib = (k) => Number(new RegExp('^' + k + ':\\\\s+(\\\\d+)', 'm').exec(t)?.[1] ?? NaN);
    return { file: MiB((kib('Rss') - kib('Anonymous')) * 1024), anon: MiB(kib('Anonymous') * 1024) };
  } catch { return {}; }
};
const most = {};
let peak = { rss: 0 };
const sample = () => {
  const m = process.memoryUsage();
  for (const s of getHeapSpaceStatistics()) most[s.space_name] = Math.max(most[s.space_name] ?? 0, MiB(s.space_size));
  if (m.rss > peak.rss) peak = { rss: m.rss, heap: MiB(m.heapTotal), ...rollup() };
};
setInterval(sample, 50).unref();
process.on('exit', () => {
  sample();
  process.stderr.write('\\nBENCH_MEMORY=' + JSON.stringify({ ...peak, rss: MiB(peak.rss), most }) + '\\n');
});
`,
);

/** The fastest a run making `calls` requests can be, when at most `concurrency` are in flight. */
const bound = (calls: number) => (calls * LATENCY_MS) / Math.min(CONCURRENCY, TWILIO_LIMIT);
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const out = (line: string) => void process.stdout.write(`${line}\n`);

async function benchFleet(N: number): Promise<boolean> {
  const twilio = await startTwilioEmulator();
  const sm = await startSecretsManagerEmulator();
  const storePath = join(dir, `secrets-${N}.json`);
  const store = (): SecretStore =>
    STORE === 'file'
      ? fileStore(storePath)
      : awsStore({
          region: 'us-east-1',
          endpoint: sm.url,
          credentials: { accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY },
          retry: { attempts: 3, budgetMs: 30_000, minDelayMs: 5 },
        });

  const seed = async (prefix: string) => {
    const st = store();
    const admin = JSON.stringify({ accountSid: twilio.accountSid, authToken: twilio.authToken() });
    await st.create('fleet/admin', randomBytes(16).toString('hex'), admin);
    const queue = Array.from({ length: N }, (_, i) => i);
    // The file store takes one writer at a time; Secrets Manager many.
    const writers = STORE === 'file' ? 1 : 16;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const key = twilio.seedKey({ type: 'standard', friendlyName: `hand-made-${i}` });
          const value = { accountSid: twilio.accountSid, apiKeySid: key.sid, apiKeySecret: key.secret };
          await st.create(`${prefix}/app-${i}`, randomBytes(16).toString('hex'), JSON.stringify(value));
        }
      }),
    );
  };

  const config = async (prefix: string) => {
    const path = join(dir, `${prefix}-${N}.yaml`);
    const aws = { region: 'us-east-1', endpoint: sm.url, sweep: SWEEP };
    const targets = Array.from({ length: N }, (_, i) => ({
      name: `${prefix}-${i}`,
      accountSid: twilio.accountSid,
      keyType: 'standard',
      friendlyNamePrefix: `${prefix}${i}-`,
      secret: { store: STORE, secretId: `${prefix}/app-${i}` },
      admin: { store: STORE, secretId: 'fleet/admin' },
      maxAgeDays: 30,
      gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 },
    }));
    const doc = {
      twilio: { baseUrl: twilio.url, timeoutSeconds: 30 },
      stores: { file: { path: storePath }, aws },
      retry: { attempts: 8, budgetSeconds: 120, minDelayMs: 50 },
      concurrency: { targets: CONCURRENCY, perAccount: TWILIO_LIMIT },
      orphanGraceSeconds: 900,
      targets,
    };
    await writeFile(path, stringify(doc));
    return path;
  };

  const run = async (name: string, args: string[], configPath: string): Promise<Measured> => {
    twilio.controls.log.length = 0;
    sm.controls.log.length = 0;
    const started = performance.now();
    const loadBefore = loadavg()[0]!;
    const profileDir = process.env.BENCH_PROFILE_DIR;
    const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
    const probes = [
      '--import',
      rssProbe,
      ...(TRACE_DIR ? ['--import', httpProbe] : []),
      ...(MEMORY ? ['--import', memoryProbe] : []),
    ];
    const argv = [...NODE_FLAGS, ...profile, ...probes, BIN, ...args, '--config', configPath];
    const clientTrace = join(dir, 'client-trace.jsonl');
    const env = { ...process.env, ...AWS_ENV, LOG_LEVEL: 'error', BENCH_CLIENT_TRACE: clientTrace };
    const child = spawn(NODE, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const ms = performance.now() - started;
    const rss = Number(/BENCH_MAX_RSS_KIB=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
    const cpuMs = Number(/BENCH_CPU_US=(\d+)/.exec(stderr)?.[1] ?? 0) / 1000;
    if (code !== 0) out(`run ${args.join(' ')} exited ${code}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
    const ops = new Map<string, number>();
    for (const e of [...twilio.controls.log, ...sm.controls.log]) ops.set(e.operation, (ops.get(e.operation) ?? 0) + 1);
    // Every rotation makes one key.
    const rotated = ops.get('CreateKey') ?? 0;
    const [tw, smCalls] = [twilio.controls.log.length, sm.controls.log.length];
    const at = [...twilio.controls.log, ...sm.controls.log].map((e) => e.atMs);
    const remoteMs = at.length > 0 ? Math.max(...at) + LATENCY_MS - Math.min(...at) : 0;
    let pageGaps: PageGaps | undefined;
    if (TRACE_DIR) {
      const at = (ms: number) => ms - started - performance.timeOrigin;
      const lines = [...twilio.controls.log, ...sm.controls.log]
        .sort((x, y) => (arrived.get(x) ?? x.atMs) - (arrived.get(y) ?? y.atMs))
        .map((e) => {
          const end = answered.get(e);
          return JSON.stringify({
            atMs: at(arrived.get(e) ?? e.atMs),
            ...(end !== undefined ? { answeredAtMs: at(end) } : {}),
            service: e.service,
            op: e.operation,
          });
        });
      const client = (await readFile(clientTrace, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ClientRequest);
      const clientLines = client.map((r) =>
        JSON.stringify({
          op: r.op,
          createdAtMs: at(r.created),
          sentAtMs: at(r.sent ?? NaN),
          readAtMs: at(r.end ?? NaN),
        }),
      );
      const base = join(TRACE_DIR, `${N}-${name.replace(/ /g, '-')}`);
      await mkdir(TRACE_DIR, { recursive: true });
      await writeFile(`${base}.jsonl`, `${lines.join('\n')}\n`);
      await writeFile(`${base}-cli.jsonl`, `${clientLines.join('\n')}\n`);
      pageGaps = gapsBetweenPages(sm.controls.log, client);
    }
    const storeOps = new Map<string, number>();
    for (const e of sm.controls.log) storeOps.set(e.operation, (storeOps.get(e.operation) ?? 0) + 1);
    const load: [number, number] = [loadBefore, loadavg()[0]!];
    const measured = { name, ms, cpuMs, twilio: tw, sm: smCalls, maxRssMiB: rss, code, stdout, ops, rotated, remoteMs };
    const memory = /BENCH_MEMORY=(\{.*\})/.exec(stderr)?.[1];
    return {
      ...measured,
      storeOps,
      load,
      ...(pageGaps ? { pageGaps } : {}),
      ...(memory ? { memory: JSON.parse(memory) as Measured['memory'] } : {}),
    };
  };

  /** Means over the walk's pages (server entries and the CLI's requests matched in order), in ms. */
  const gapsBetweenPages = (log: RequestLogEntry[], client: ClientRequest[]): PageGaps | undefined => {
    const server = log.filter((e) => e.operation === 'ListSecrets');
    const mine = client.filter((r) => r.op === 'secretsmanager.ListSecrets');
    if (server.length < 2 || mine.length !== server.length) return undefined;
    const sum = { gaps: server.length - 1, late: 0, back: 0, client: 0, out: 0 };
    for (let k = 0; k + 1 < server.length; k++) {
      const arrival = arrived.get(server[k]!);
      const answer = answered.get(server[k]!);
      const next = arrived.get(server[k + 1]!);
      const read = mine[k]!.end;
      const made = mine[k + 1]!.created;
      if (arrival === undefined || answer === undefined || next === undefined || read === undefined) return undefined;
      sum.late += answer - (arrival + LATENCY_MS);
      sum.back += read - answer;
      sum.client += made - read;
      sum.out += next - made;
    }
    const mean = (ms: number) => ms / sum.gaps;
    return { gaps: sum.gaps, late: mean(sum.late), back: mean(sum.back), client: mean(sum.client), out: mean(sum.out) };
  };

  // When each request arrived (admitted, its body read) and was answered (the emulators' own time
  // included), for BENCH_TRACE_DIR: epoch ms with fractions, as the CLI's probe has them.
  const arrived = new WeakMap<object, number>();
  const answered = new WeakMap<object, number>();
  const preciseNow = () => performance.timeOrigin + performance.now();
  for (const c of [twilio.controls, sm.controls])
    c.hooks = {
      beforeEffect: (e) => void arrived.set(e, preciseNow()),
      beforeResponse: (e) => void answered.set(e, preciseNow()),
    };

  const setLatency = (on: boolean) => {
    twilio.controls.latencyMs = on ? LATENCY_MS : 0;
    sm.controls.latencyMs = on ? LATENCY_MS : 0;
    twilio.setConcurrencyLimit(on ? TWILIO_LIMIT : undefined);
    // Twilio's emulator does not hold its answers: latency first, then its work, in either model.
    sm.controls.latencyIncludesWork = LATENCY_MODEL === 'included';
  };

  try {
    await seed('fleet');
    const fleet = await config('fleet');
    // Adopt the hand-made keys first (verify and mark current), with no latency: not measured.
    setLatency(false);
    if ((await run('warm-up', ['rotate'], fleet)).code !== 0) throw new Error('warm-up run failed');
    setLatency(true);
    const phases: Measured[] = [];
    if (PHASES.has('quiet')) phases.push(await run('nothing due', ['rotate'], fleet));
    if (PHASES.has('status')) phases.push(await run('status', ['status'], fleet));
    if (PHASES.has('first')) phases.push(await run('first rotation', ['rotate', '--force'], fleet));
    if (PHASES.has('next')) phases.push(await run('next rotation', ['rotate', '--force'], fleet));
    report(N, phases);
    return phases.every((m) => m.code === 0);
  } finally {
    await Promise.all([twilio.close(), sm.close()]);
  }
}

function report(N: number, phases: Measured[]): void {
  out(`N = ${N}`);
  const head = ['', 'wall', 'bound', 'ratio', 'CPU', 'Twilio', 'store', 'per target', 'per rotation', 'peak RSS'];
  head.push('load'); // the one-minute load average as the phase began → ended
  const rows = phases.map((m) => {
    const calls = m.twilio + m.sm;
    return [
      m.name,
      s(m.ms),
      s(bound(calls)),
      (m.ms / bound(calls)).toFixed(2),
      s(m.cpuMs),
      String(m.twilio),
      String(m.sm),
      (calls / N).toFixed(2),
      m.rotated > 0 ? (calls / m.rotated).toFixed(1) : '-',
      `${m.maxRssMiB.toFixed(0)} MiB`,
      m.load.map((l) => l.toFixed(1)).join('→'),
    ];
  });
  for (const l of [head, ...rows])
    out(
      `  ${l[0]!.padEnd(15)}${l
        .slice(1)
        .map((c) => c.padStart(13))
        .join('')}`,
    );
  const quiet = phases.find((m) => m.name === 'nothing due');
  const status = phases.find((m) => m.name === 'status');
  const pages = Math.ceil(N / 100);
  if (quiet) {
    const byOp = [...quiet.storeOps].map(([op, n]) => `${op} ${n}`).join(', ');
    out(`  nothing due: ${quiet.sm} store calls (⌈N/100⌉ + 2 = ${pages + 2}): ${byOp}`);
    // The critical path: the longer of two chains that start at once, each one call after another —
    // the ListSecrets pages (plus one value batch, which can follow only the last page), and the admin
    // secret's read then the account's key list. Below N = 200 the second is the longer one.
    const op = (name: string) => quiet.ops.get(name) ?? 0;
    const walk = op('ListSecrets') + (op('BatchGetSecretValue') > 0 ? 1 : 0);
    const admin = op('GetSecretValue') + op('ListKeys');
    const [path, calls] = walk >= admin ? ['the pages', walk] : ['the admin secret + key list', admin];
    const critical = calls * LATENCY_MS;
    const ratio = (ms: number) => (critical > 0 ? (ms / critical).toFixed(2) : '-');
    const remote = `remote time ${quiet.remoteMs.toFixed(0)} ms ÷ ${critical} ms = ${ratio(quiet.remoteMs)} (≤ 1.2)`;
    const against = `against its critical path (${path}, ${calls} calls one after another)`;
    out(`  nothing due, ${against}: ${remote}; process wall ÷ it ${ratio(quiet.ms)}`);
    const g = quiet.pageGaps;
    if (g) {
      const ms = (x: number) => `${x.toFixed(1)} ms`;
      const parts = `emulator late ${ms(g.late)}, back ${ms(g.back)}, CLI ${ms(g.client)}, out ${ms(g.out)}`;
      const total = g.late + g.back + g.client + g.out;
      out(`  between pages, per page over the latency (${g.gaps} gaps, mean): ${ms(total)} = ${parts}`);
    }
  }
  if (quiet && status) out(`  status ÷ nothing-due rotate: ${(status.ms / quiet.ms).toFixed(2)} (≤ 1.5)`);
  for (const { name, memory: m } of phases) {
    if (!m) continue;
    const most = (space: string) => m.most[space] ?? 0;
    const rest = Object.entries(m.most).filter(([k]) => k !== 'new_space' && k !== 'old_space');
    const pages = m.file !== undefined ? ` file-backed ${m.file} MiB, anonymous ${m.anon} MiB,` : '';
    const others = rest.reduce((a, [, v]) => a + v, 0).toFixed(1);
    const spaces = `new space ${most('new_space')}, old ${most('old_space')}, the others ${others}`;
    out(`  ${name}, at its peak RSS ${m.rss} MiB:${pages} heap ${m.heap} MiB; most committed: ${spaces} MiB`);
  }
  for (const m of phases.filter((p) => p.rotated > 0)) {
    const byOp = [...m.ops].sort((x, y) => y[1] - x[1]).map(([op, n]) => `${op} ${(n / m.rotated).toFixed(2)}`);
    out(`  ${m.name}: ${m.rotated} of ${N} rotated; calls per rotation by operation: ${byOp.join(', ')}`);
  }
}

try {
  const store = `${STORE} store${STORE === 'aws' ? ` (sweep: ${SWEEP})` : ''}`;
  const limits = `${LATENCY_MS} ms per request, Twilio limit ${TWILIO_LIMIT} in flight, concurrency ${CONCURRENCY}`;
  out(`fleet bench: API-key targets on one account, ${store}, ${limits}`);
  out(`  Secrets Manager latency model: ${LATENCY_MODEL} (BENCH_LATENCY_MODEL: its own work within or after it)`);
  out(`  the CLI: ${BIN} on Node ${versionOf(NODE)}; the emulators on ${process.version}`);
  let ok = true;
  for (const N of SIZES) ok = (await benchFleet(N)) && ok;
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
