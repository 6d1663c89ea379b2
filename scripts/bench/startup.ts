/**
 * npm run bench:startup — how fast the CLI starts, measured side by side in one run: bare `node -e 0`,
 * `--help`, and a nothing-due `rotate` against a local file-store configuration (the Twilio
 * emulator on 127.0.0.1, started here: no network). Each for the bundled bin (dist/cli/cli.mjs,
 * built fresh by scripts/build-cli.mjs) and for the unbundled tsc output (dist/entry/cli.js, built
 * fresh by tsc), plus any CLI entry named in BENCH_BEFORE (e.g. an older build, to compare).
 *
 * Two figures per row, each the median of BENCH_RUNS fresh processes (default 15), every kind of
 * sample alternating with every other so that load on a shared machine hits them alike:
 *  - wall: spawn to exit of the real command; "over node" is the median of each sample less the
 *    same round's `node -e 0` (process start);
 *  - module loading: the files that path loads (learned once from an untimed run with
 *    scripts/bench/trace-modules.mjs), imported in that order by a fresh process and timed with
 *    performance.now() — module resolution, reading, compiling and evaluating, without process
 *    start and without the command's own work (configuration, HTTP). Target: under 150 ms. Beside
 *    it, the CPU time that process spent (process.cpuUsage), which other load on the machine moves
 *    less than the wall time.
 * Exits 1 if the bundled bin misses the target on either path.
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { buildCli } from '../build-cli.mjs';
import { World } from '../../test/support/world.js';

const exec = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 1000) {
  console.error(`BENCH_RUNS must be an integer from 1 to 1000, not "${process.env.BENCH_RUNS}"`);
  process.exit(2);
}
const TARGET_MS = 150;
const root = resolve(import.meta.dirname, '..', '..');
const out = join(root, 'dist', 'bench', 'startup');
const tracer = join(import.meta.dirname, 'trace-modules.mjs');
const ENV = { ...process.env, LOG_FORMAT: 'json', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** Runs `node args`; resolves with the exit code (non-zero exits are results here, not errors). */
async function node(args: string[], env: NodeJS.ProcessEnv = ENV): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await exec(process.execPath, args, { env, maxBuffer: 16 << 20 });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '' };
  }
}

async function timed(args: string[]): Promise<number> {
  const t = performance.now();
  await node(args);
  return performance.now() - t;
}

/** The files `args` loads, in load order (the ESM graph; CommonJS below it is loaded by its importers). */
async function trace(args: string[]): Promise<{ esm: string[]; files: number; bytes: number }> {
  const file = join(out, 'trace.json');
  const run = await node(['--import', pathToFileURL(tracer).href, ...args], { ...ENV, TKR_TRACE_OUT: file });
  const { esm, cjs } = JSON.parse(await readFile(file, 'utf8')) as { esm: string[]; cjs: string[] };
  const all = new Set([...esm.map((u) => fileURLToPath(u)), ...cjs]);
  all.delete(tracer);
  const bytes = [...all].reduce((n, f) => n + statSync(f).size, 0);
  if (run.code !== 0) throw new Error(`${args.join(' ')} exited ${run.code}`);
  return { esm: esm.filter((u) => fileURLToPath(u) !== tracer), files: all.size, bytes };
}

/** Imports `urls` in order in a fresh process: the time it took and the CPU time the process spent, in ms. */
async function loadMs(urls: string[]): Promise<{ wall: number; cpu: number }> {
  const script = [
    'const t = performance.now(); const c = process.cpuUsage();',
    'for (const u of JSON.parse(process.env.TKR_URLS)) await import(u);',
    'const d = process.cpuUsage(c);',
    'process.stdout.write(JSON.stringify({ wall: performance.now() - t, cpu: (d.user + d.system) / 1000 }));',
  ].join(' ');
  const { stdout, code } = await node(['--input-type=module', '-e', script], {
    ...ENV,
    TKR_URLS: JSON.stringify(urls),
  });
  if (code !== 0) throw new Error(`importing the traced modules failed (exit ${code})`);
  return JSON.parse(stdout) as { wall: number; cpu: number };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const load = loadavg().map((l) => l.toFixed(1));
const bundle = await buildCli({ outdir: join(out, 'cli') });
await exec(
  process.execPath,
  [
    join(root, 'node_modules', '@typescript', 'native', 'bin', 'tsc'),
    ...['-p', join(root, 'tsconfig.build.json'), '--outDir', join(out, 'tsc'), '--declaration', 'false'],
    ...['--sourceMap', 'false'],
  ],
  { cwd: root },
);
const clis: [string, string][] = [
  ['bundled bin (dist/cli/cli.mjs)', bundle.outfile],
  ['unbundled (dist/entry/cli.js)', join(out, 'tsc', 'entry', 'cli.js')],
  ...(process.env.BENCH_BEFORE ? [['BENCH_BEFORE', resolve(process.env.BENCH_BEFORE)] as [string, string]] : []),
];

// A nothing-due file-store target: its key is adopted by a first run, so every run after finds nothing to do.
const world = await World.start('file');
try {
  await world.seedAdmin('restricted');
  await world.seedCurrentKey();
  await world.writeConfig();
  if ((await world.cli(['rotate'])).code !== 0) throw new Error('the first run failed');
  const paths: [string, string[]][] = [
    ['--help', ['--help']],
    ['rotate, nothing due', ['rotate', '--config', world.configPath]],
  ];

  interface Row {
    name: string;
    args: string[];
    urls: string[];
    files: number;
    bytes: number;
    wall: number[];
    over: number[];
    load: number[];
    cpu: number[];
  }
  const rows: Row[] = [];
  for (const [cliName, entry] of clis)
    for (const [pathName, args] of paths) {
      const full = [entry, ...args];
      const check = await node(full);
      if (check.code !== 0) throw new Error(`${cliName} ${args.join(' ')} exited ${check.code}`);
      const traced = await trace(full);
      rows.push({
        name: `${cliName} ${pathName}`,
        args: full,
        urls: traced.esm,
        ...traced,
        wall: [],
        over: [],
        load: [],
        cpu: [],
      });
    }

  // Warm the page cache, then alternate: node -e 0, then each row's wall and load sample, every round.
  for (const r of rows) await Promise.all([timed(r.args), loadMs(r.urls)]);
  const bare: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const base = await timed(['-e', '0']);
    bare.push(base);
    for (const r of rows) {
      const wall = await timed(r.args);
      r.wall.push(wall);
      r.over.push(wall - base);
      const loaded = await loadMs(r.urls);
      r.load.push(loaded.wall);
      r.cpu.push(loaded.cpu);
    }
  }

  const table = [
    ['', 'wall', 'over node', 'module loading', `target < ${TARGET_MS} ms`, 'its CPU time', 'files loaded'],
    ['node -e 0 (process start)', ms(median(bare)), '', '', '', '', ''],
    ...rows.map((r) => [
      r.name,
      ms(median(r.wall)),
      `+${ms(median(r.over))}`,
      `${ms(median(r.load))} (${ms(Math.min(...r.load))}–${ms(Math.max(...r.load))})`,
      median(r.load) < TARGET_MS ? 'met' : 'MISSED',
      ms(median(r.cpu)),
      `${r.files}, ${(r.bytes / 1024).toFixed(0)} KiB`,
    ]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const runtime = `Node ${process.version}, ${process.platform}/${process.arch}`;
  const loadEnd = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(
    `CLI start-up: ${RUNS} fresh processes per figure, alternating; ${runtime}; ` +
      `load average ${load.join(' ')} at start, ${loadEnd} at end`,
  );
  for (const row of table) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`);
  console.log(
    '  module loading: the files the path loads, imported in a fresh process and timed (median, range), ' +
      'and the CPU time that process spent doing it (median; less moved by other load); wall: spawn to exit',
  );
  const missed = rows.filter((r) => r.args[0] === bundle.outfile && median(r.load) >= TARGET_MS);
  if (missed.length > 0) {
    console.log(`target missed by the bundled bin: ${missed.map((r) => r.name).join(', ')}`);
    process.exitCode = 1;
  }
} finally {
  await world.close();
}
