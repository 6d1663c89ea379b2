#!/usr/bin/env node
// npm run bench:coldstart — module-init time and size of the Lambda handler bundle against a naive
// bundle (whole `twilio` + the Secrets Manager client), measured side by side in one run, on Node 22
// (the runtime Lambda uses, nodejs22.x: scripts/node22.mjs finds or fetches it) and on Node 20.
//
// Each sample is a fresh `node` process that imports the bundle and reports how long the import
// took (performance.now() around `await import()`), which is the module-init part of a cold start.
// Samples alternate between the bundles and the runtimes so machine noise hits all alike. Medians
// are reported, and the ratio is the median of the ratios of back-to-back pairs (handler, then naive,
// on the same runtime): on a shared machine a burst of load that lands on one sample moves a ratio of
// medians, much less the median of paired ratios. The target (≤ 0.25 of naive) is judged on Node 22.
//   BENCH_RUNS      samples per bundle and runtime (default 21)
//   BENCH_NODE20    the Node 20 binary (default: the node running this script, or the first v20 on PATH)
//   TKR_NODE22      the Node 22 binary (default: scripts/node22.mjs's, fetched from the npm registry once)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { buildLambda } from '../build-lambda.mjs';
import { ensureNode22, versionOf } from '../node22.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 21);
if (!Number.isInteger(runs) || runs < 1 || runs > 1000) {
  console.error(`BENCH_RUNS must be an integer from 1 to 1000, not "${process.env.BENCH_RUNS}"`);
  process.exit(2);
}
const out = join(import.meta.dirname, '..', '..', 'dist', 'bench');
mkdirSync(out, { recursive: true });

/** A Node 20 binary: BENCH_NODE20, this process's node, or the first v20 `node` on PATH. */
function node20Path() {
  if (process.env.BENCH_NODE20) return process.env.BENCH_NODE20;
  const candidates = [
    process.execPath,
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'node')),
  ].filter((p) => !p.includes('node_modules') && existsSync(p));
  const found = candidates.find((p) => versionOf(p).startsWith('v20.'));
  if (!found) throw new Error('no Node 20 found (this process and PATH); set BENCH_NODE20 to a Node 20 binary');
  return found;
}

const runtimes = [await ensureNode22(), node20Path()].map((path) => ({ path, version: versionOf(path) }));
if (!runtimes[0].version.startsWith('v22.'))
  throw new Error(`${runtimes[0].path} is ${runtimes[0].version}, not Node 22`);

// The example configuration reads TWILIO_ACCOUNT_SID and AWS_REGION: set here as a deployment's build has
// them, so the bundle carries the configuration validated, as a deployed one does. Without them the
// handler validates at its first invocation, which module init does not show (README "Cold start").
if (!process.env.BENCH_CONFIG) {
  process.env.TWILIO_ACCOUNT_SID ||= `AC${'0'.repeat(32)}`;
  process.env.AWS_REGION ||= 'us-east-1';
}
const handler = await buildLambda({
  config: process.env.BENCH_CONFIG ?? 'config/example.yaml',
  outdir: join(out, 'handler'),
});
const naive = await buildLambda({ entry: 'scripts/bench/naive-entry.mjs', outdir: join(out, 'naive'), naive: true });
const bundles = { handler, naive };

function initMs(node, file) {
  const script = [
    'const t = performance.now();',
    `await import(${JSON.stringify(file)});`,
    'process.stdout.write(String(performance.now() - t));',
  ].join(' ');
  return Number(
    execFileSync(node, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    }),
  );
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Warm the OS page cache for every bundle and binary before measuring.
for (const rt of runtimes) for (const b of Object.values(bundles)) initMs(rt.path, b.outfile);
const samples = runtimes.map(() => ({ handler: [], naive: [] }));
for (let i = 0; i < runs; i++) {
  runtimes.forEach((rt, r) => {
    samples[r].handler.push(initMs(rt.path, handler.outfile));
    samples[r].naive.push(initMs(rt.path, naive.outfile));
  });
}

const kb = (b) => `${(b / 1024).toFixed(0)} KiB`;
const readAtStart = (bundle) => `(${kb(bundle.initBytes)} read at start-up)`;
const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
console.log(
  `cold start: ${runs} fresh processes per bundle and runtime, alternating, ${process.platform}/${process.arch}`,
);
console.log(
  `  handler bundle ${kb(handler.bytes).padStart(9)} in ${handler.files.length} files ${readAtStart(handler)}`,
);
console.log(`  naive bundle   ${kb(naive.bytes).padStart(9)} in ${naive.files.length} file  ${readAtStart(naive)}`);
console.log(`  size ratio     ${(handler.bytes / naive.bytes).toFixed(2)}`);
const atStart = `validated at the first invocation (${handler.configAtStart}), which module init leaves out`;
console.log(`  configuration  ${handler.configAtStart ? atStart : 'validated and converted by the build'}`);
console.log('  module init, median (range), ms; ratio = median of paired handler/naive ratios:');
const ratios = runtimes.map((rt, r) => {
  const h = median(samples[r].handler);
  const n = median(samples[r].naive);
  const ratio = median(samples[r].handler.map((x, i) => x / samples[r].naive[i]));
  const label = `${rt.version}${r === 0 ? ' (Lambda nodejs22.x)' : ''}`.padEnd(30);
  const handlerMs = `handler ${h.toFixed(1).padStart(6)} (${range(samples[r].handler)})`;
  const naiveMs = `naive ${n.toFixed(1).padStart(6)} (${range(samples[r].naive)})`;
  console.log(`    Node ${label} ${handlerMs}   ${naiveMs}   ratio ${ratio.toFixed(2)}`);
  return ratio;
});
// Issue 24's targets: init at most a quarter of naive's on Node 22, at most 350 KiB read at start-up.
const sizeOk = handler.bytes <= 1_000_000;
const initOk = ratios[0] <= 0.25;
const readOk = handler.initBytes <= 350 * 1024;
const verdict = (ok) => (ok ? 'met' : 'MISSED');
console.log(
  `  targets        size ≤ 1 MB: ${verdict(sizeOk)}   init on Node 22 ≤ 0.25 of naive: ${verdict(initOk)}   ` +
    `≤ 350 KiB read at start-up: ${verdict(readOk)}`,
);
process.exitCode = sizeOk && initOk && readOk ? 0 : 1;
