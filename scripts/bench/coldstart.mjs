#!/usr/bin/env node
// npm run bench:coldstart — module-init time and size of the Lambda handler bundle against a naive
// bundle (whole `twilio` + the Secrets Manager client), measured side by side in one run.
//
// Each sample is a fresh `node` process that imports the bundle and reports how long the import
// took (performance.now() around `await import()`), which is the module-init part of a cold start.
// Samples alternate between the two bundles so machine noise hits both alike. Medians are reported.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildLambda } from '../build-lambda.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 21);
const out = join(import.meta.dirname, '..', '..', 'dist', 'bench');
mkdirSync(out, { recursive: true });

const handler = await buildLambda({
  config: process.env.BENCH_CONFIG ?? 'config/example.yaml',
  outdir: join(out, 'handler'),
});
const naive = await buildLambda({ entry: 'scripts/bench/naive-entry.mjs', outdir: join(out, 'naive'), naive: true });

function initMs(file) {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  return Number(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, AWS_REGION: 'us-east-1' },
    }),
  );
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

initMs(handler.outfile);
initMs(naive.outfile); // warm the OS page cache for both before measuring
const samples = { handler: [], naive: [] };
for (let i = 0; i < runs; i++) {
  samples.handler.push(initMs(handler.outfile));
  samples.naive.push(initMs(naive.outfile));
}

// Size is everything the build wrote (chunks included), not only what start-up reads.
const h = { size: handler.bytes, read: handler.initBytes, files: handler.files.length, init: median(samples.handler) };
const n = { size: naive.bytes, read: naive.initBytes, files: naive.files.length, init: median(samples.naive) };
const kb = (b) => `${(b / 1024).toFixed(0)} KiB`;
const range = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
console.log(
  `cold start, ${runs} fresh processes per bundle, alternating, Node ${process.version}, ${process.platform}/${process.arch}`,
);
console.log(
  `  handler bundle  ${kb(h.size).padStart(9)} in ${h.files} files (${kb(h.read)} read at start-up)   module init median ${h.init.toFixed(1)} ms (range ${range(samples.handler)})`,
);
console.log(
  `  naive bundle    ${kb(n.size).padStart(9)} in ${n.files} file  (${kb(n.read)} read at start-up)   module init median ${n.init.toFixed(1)} ms (range ${range(samples.naive)})`,
);
console.log(`  ratios          size ${(h.size / n.size).toFixed(2)}   init ${(h.init / n.init).toFixed(2)}`);
const sizeOk = h.size <= 1_000_000;
const initOk = h.init <= n.init / 3;
console.log(
  `  targets         size ≤ 1 MB: ${sizeOk ? 'met' : 'MISSED'}   init ≤ 1/3 of naive: ${initOk ? 'met' : 'MISSED'}`,
);
process.exitCode = sizeOk && initOk ? 0 : 1;
