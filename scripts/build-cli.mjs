#!/usr/bin/env node
// Builds what the package ships as code, into dist/cli/ (ESM, minified, source maps):
//   cli.mjs       the `twilio-key-rotator` bin
//   webhooks.mjs  the `twilio-key-rotator/webhooks` export
//   chunks/       what they load, shared between them
// `npm run build` runs it after tsc (whose dist/webhooks.d.ts is the export's types).
//   node scripts/build-cli.mjs [--metafile] [--if-stale]
//
// Why a bundle: Node resolves and reads every file of an unbundled package one by one, and a
// nothing-due run of the unbundled tsc output reads 523 (zod and yaml alone 165, twilio-node's base
// with axios, jsonwebtoken and their dependencies most of the rest). The bundle is built like the
// Lambda's (scripts/build-lambda.mjs leanOptions: the same stubs and redirects) with code splitting,
// so each `await import()` in the CLI's source stays a separate chunk read only by the path that
// needs it: `--help` reads the entry alone; a run adds the configuration, logger, engine and Twilio
// chunks; the AWS SDK, the daemon, audit, `rotate --now` and `secret put` are read only by the
// commands and stores that use them. README "Start-up" has the figures (npm run bench:startup).
//
// Both entries need no node_modules at run time, so the package has no dependencies: installing it
// fetches nothing else (README "Install").
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { bundleOptions, leanOptions, summarize } from './build-lambda.mjs';

const root = join(import.meta.dirname, '..');
export const CLI_BIN = join(root, 'dist', 'cli', 'cli.mjs');

export async function buildCli({ outdir = 'dist/cli', metafile = false } = {}) {
  const dir = resolve(root, outdir);
  // Chunk names carry content hashes: clear the last build's so none is left stale.
  for (const f of ['cli', 'webhooks'].flatMap((e) => [`${e}.mjs`, `${e}.mjs.map`, `${e}.mjs.LEGAL.txt`]))
    rmSync(join(dir, f), { force: true });
  for (const f of ['chunks', 'meta.json']) rmSync(join(dir, f), { recursive: true, force: true });
  const result = await build({
    ...leanOptions(),
    absWorkingDir: root, // metafile paths are relative to it
    entryPoints: { cli: join(root, 'src/entry/cli.ts'), webhooks: join(root, 'src/webhooks.ts') },
    outdir: dir,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    ...bundleOptions('node20'), // package.json "engines"
  });
  if (metafile) writeFileSync(join(dir, 'meta.json'), JSON.stringify(result.metafile));
  return { ...summarize(result.metafile, join(dir, 'cli.mjs')), metafile: result.metafile };
}

/** What the build reads: the sources, the build scripts and their stubs, the installed dependencies. */
const INPUTS = [
  'src',
  'scripts/build-cli.mjs',
  'scripts/build-lambda.mjs',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
];
const STUBS = () => readdirSync(join(root, 'scripts')).filter((f) => f.endsWith('-stub.cjs'));

function newestMtimeMs(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((f) => newestMtimeMs(join(path, f))));
}

/** True when dist/ (the bin, the export and its types) is missing or older than anything it is built from. */
export function isStale() {
  const outputs = [CLI_BIN, join(root, 'dist', 'cli', 'webhooks.mjs'), join(root, 'dist', 'webhooks.d.ts')];
  if (!outputs.every(existsSync)) return true;
  const builtAt = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const inputs = [...INPUTS, ...STUBS().map((f) => `scripts/${f}`)].map((f) => join(root, f)).filter(existsSync);
  return Math.max(...inputs.map(newestMtimeMs)) > builtAt;
}

/**
 * What `npm run build` makes: tsc (the export's types, the unbundled CLI), then the bundles. A type
 * error does not stop it, as it stops `npm run build`: tsc still emits, the bundles need no types,
 * and `npm run typecheck` is the check that reports it.
 */
export async function buildAll({ metafile = false } = {}) {
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  try {
    execFileSync(tsc, ['-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'pipe' });
  } catch {
    // reported by npm run typecheck
  }
  return buildCli({ metafile });
}

/** The shipped bin, built first when missing or stale (vitest's global setup, the fleet benchmark). */
export async function builtCliBin() {
  if (isStale()) await buildAll();
  return CLI_BIN;
}

if (process.argv[1] === import.meta.filename) {
  if (process.argv.includes('--if-stale')) {
    const stale = isStale();
    if (stale) await buildAll();
    console.log(`${relative(process.cwd(), CLI_BIN)}: ${stale ? 'rebuilt' : 'up to date'}`);
  } else {
    const { outfile, files, bytes, initBytes } = await buildCli({ metafile: process.argv.includes('--metafile') });
    const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
    console.log(
      `${relative(process.cwd(), outfile)}: ${files.length} files, ${kib(bytes)} of JavaScript, ` +
        `${kib(initBytes)} read by --help`,
    );
  }
}
