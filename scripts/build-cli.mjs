#!/usr/bin/env node
// Builds the CLI bundle, the package's `twilio-key-rotator` bin: dist/cli/cli.mjs plus dist/cli/chunks/
// (ESM, minified, source maps). `npm run build` runs it after tsc.
//   node scripts/build-cli.mjs [--metafile]
//
// Why a bundle: Node resolves and reads every file of an unbundled package one by one, and a
// nothing-due run of the unbundled tsc output reads 523 (zod and yaml alone 165, twilio-node's base
// with axios, jsonwebtoken and their dependencies most of the rest). The bundle is built like the
// Lambda's (scripts/build-lambda.mjs leanOptions: the same stubs and redirects) with code splitting,
// so each `await import()` in the CLI's source stays a separate chunk read only by the path that
// needs it: `--help` reads the entry alone; a run adds the configuration, logger, engine and Twilio
// chunks; the AWS SDK, the daemon, audit, `rotate --now` and `secret put` are read only by the
// commands and stores that use them. The bundle needs no node_modules at run time. README
// "Start-up" has the figures (npm run bench:startup).
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { bundleOptions, leanOptions, summarize } from './build-lambda.mjs';

const root = join(import.meta.dirname, '..');

export async function buildCli({ outdir = 'dist/cli', metafile = false } = {}) {
  const dir = resolve(root, outdir);
  // Chunk names carry content hashes: clear the last build's so none is left stale.
  for (const f of ['cli.mjs', 'cli.mjs.map', 'cli.mjs.LEGAL.txt', 'chunks', 'meta.json'])
    rmSync(join(dir, f), { recursive: true, force: true });
  const result = await build({
    ...leanOptions(),
    absWorkingDir: root, // metafile paths are relative to it
    entryPoints: { cli: join(root, 'src/entry/cli.ts') },
    outdir: dir,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    ...bundleOptions('node20'), // package.json "engines"
  });
  if (metafile) writeFileSync(join(dir, 'meta.json'), JSON.stringify(result.metafile));
  return { ...summarize(result.metafile, join(dir, 'cli.mjs')), metafile: result.metafile };
}

if (process.argv[1] === import.meta.filename) {
  const { outfile, files, bytes, initBytes } = await buildCli({ metafile: process.argv.includes('--metafile') });
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(
    `${relative(process.cwd(), outfile)}: ${files.length} files, ${kib(bytes)} of JavaScript, ${kib(initBytes)} read by --help`,
  );
}
