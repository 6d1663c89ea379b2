#!/usr/bin/env node
// Builds the Lambda handler bundle: dist/lambda/handler.mjs (ESM, minified, source map).
//   node scripts/build-lambda.mjs [--metafile]
// The twilio package stays a dependency, but only the parts the rotator uses are reachable from
// src/entry/lambda.ts (see src/adapters/twilio/slim-client.ts), so only those are bundled.
import { build } from 'esbuild';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..');

/** Replaces modules matching `filter` with a stub from scripts/. */
function stub(filter, file) {
  return {
    name: `stub:${file}`,
    setup(b) {
      b.onResolve({ filter }, () => ({ path: join(root, 'scripts', file) }));
    },
  };
}

/** config/rotator.yaml, compiled into the bundle as JSON (the Lambda then needs no YAML parser). */
function bundledConfig(path) {
  const file = resolve(root, path);
  if (!existsSync(file)) throw new Error(`${path} does not exist: copy config/example.yaml to config/rotator.yaml and edit it, or pass --config`);
  return parse(readFileSync(file, 'utf8'));
}

export async function buildLambda({ entry = 'src/entry/lambda.ts', outfile = 'dist/lambda/handler.mjs', metafile = false, config = 'config/rotator.yaml', naive = false } = {}) {
  const result = await build({
    ...(naive ? {} : { define: { __ROTATOR_CONFIG__: JSON.stringify(bundledConfig(config)) } }),
    // The twilio package's form-data path pulls mime-db (130 KB) for file uploads the rotator never makes.
    ...(naive ? {} : { alias: { 'mime-db': join(root, 'scripts', 'mime-db-stub.cjs') } }),
    // twilio-node's request client loads the JWT stack for a feature the rotator never enables.
    ...(naive ? {} : { plugins: [stub(/[\\/]jwt[\\/]validation[\\/]ValidationToken(\.js)?$/, 'validation-token-stub.cjs')] }),
    entryPoints: [join(root, entry)],
    outfile: resolve(root, outfile),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'linked',
    metafile,
    logLevel: 'warning',
    // Bundled CommonJS (twilio, winston) still calls require(); ESM needs one made for it.
    banner: { js: "import { createRequire as __tkrRequire } from 'node:module'; const require = __tkrRequire(import.meta.url);" },
  });
  if (metafile) writeFileSync(resolve(root, `${outfile}.meta.json`), JSON.stringify(result.metafile));
  return { outfile: resolve(root, outfile), bytes: statSync(resolve(root, outfile)).size };
}

if (process.argv[1] === import.meta.filename) {
  const at = process.argv.indexOf('--config');
  const { outfile, bytes } = await buildLambda({ metafile: process.argv.includes('--metafile'), ...(at > 0 ? { config: process.argv[at + 1] } : {}) });
  console.log(`${outfile}: ${(bytes / 1024).toFixed(0)} KiB`);
}
