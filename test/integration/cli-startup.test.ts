import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, type CliBuild } from '../../scripts/build-cli.mjs';
import { recordOutput } from '../support/scan.js';
import { World } from '../support/world.js';

/**
 * What the CLI loads on its start-up paths, without timing anything: the shipped bundle (the
 * package's bin) runs in a fresh process with a module hook that reports every file it reads, and
 * esbuild's metafile says which packages and source modules each file holds. `npm run bench:startup`
 * has the times; this keeps a heavy import from creeping back into `--help` or a nothing-due run.
 */

const run = promisify(execFile);
const root = process.cwd();
let world: World;
let dir: string;
let built: CliBuild;
let help: Loaded;
let due: Loaded;

/** Every file the process reads is reported on stderr by a resolve hook (all of the bundle is ESM). */
const hook = `data:text/javascript,${encodeURIComponent(
  `export async function resolve(s, c, next) { const r = await next(s, c); if ` +
    `(r.url.startsWith('file:')) process.stderr.write('LOADED ' + r.url + '\\n'); ` +
    `return r; }`,
)}`;
const registration = `import { register } from 'node:module'; register(${JSON.stringify(hook)});`;
const register = `data:text/javascript,${encodeURIComponent(registration)}`;

interface Loaded {
  code: number;
  stdout: string;
  files: string[];
  /** Packages (`twilio`, `@aws-sdk/core`) and source modules (`src/entry/cli.ts`) in what was read. */
  packages: string[];
  sources: string[];
}

async function cli(args: string[]): Promise<Loaded> {
  const out = await run(process.execPath, ['--import', register, built.outfile, ...args], {
    env: { ...process.env, LOG_FORMAT: 'json' },
  }).then(
    (r) => ({ ...r, code: 0 }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  recordOutput(out.stdout);
  recordOutput(out.stderr);
  const files = out.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => fileURLToPath(l.slice(7)));
  const inputs = files.flatMap((f) => Object.keys(built.metafile.outputs[relative(root, f)]?.inputs ?? {}));
  const packages = new Set<string>();
  const sources = new Set<string>();
  for (const input of inputs) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
    if (pkg) packages.add(pkg);
    else if (input.startsWith('src/')) sources.add(input);
  }
  return { code: out.code, stdout: out.stdout, files, packages: [...packages].sort(), sources: [...sources].sort() };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tkr-cli-startup-'));
  [built, world] = await Promise.all([buildCli({ outdir: join(dir, 'cli') }), World.start('file')]);
  await world.seedAdmin('restricted');
  await world.seedCurrentKey();
  await world.writeConfig();
  // The first run records the key as current; every run after it has nothing to do.
  expect((await world.cli(['rotate'])).code).toBe(0);
  [help, due] = await Promise.all([cli(['--help']), cli(['rotate', '--config', world.configPath])]);
}, 60_000);
afterAll(async () => {
  await world?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('CLI start-up (the bundled bin)', () => {
  it('is the package bin, a script Node runs directly', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['twilio-key-rotator']).toBe('dist/cli/cli.mjs');
    expect((await readFile(built.outfile, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('--help reads the entry and its static chunks only, and no dependency at all', () => {
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: twilio-key-rotator <command>/);
    expect(help.files.filter((f) => !built.initFiles.includes(f))).toEqual([]);
    expect(help.packages).toEqual([]);
    expect(help.sources).not.toContain('src/entry/cli/session.ts');
    expect(help.sources).not.toContain('src/config/load.ts');
  });

  it('a nothing-due run on the file store loads what it uses: no AWS SDK, no axios, no other command', () => {
    expect(due.code).toBe(0);
    expect(due.stdout).toMatch(/^app: done\. Current key SK/);
    expect(due.packages).toEqual(expect.arrayContaining(['twilio', 'winston', 'js-yaml', 'zod', 'node-cron']));
    const heavy = (p: string) => /^@aws-sdk\/|^@smithy\/|^(axios|https-proxy-agent|jsonwebtoken|qs)$/.test(p);
    expect(due.packages.filter(heavy)).toEqual([]);
    const used = ['src/entry/cli/session.ts', 'src/adapters/twilio/slim-client.ts'];
    expect(due.sources).toEqual(expect.arrayContaining(used));
    for (const elsewhere of [
      'src/adapters/secrets/aws-store.ts',
      'src/entry/daemon/daemon.ts',
      'src/engine/audit.ts',
      'src/engine/emergency.ts',
      'src/engine/secret-put.ts',
    ])
      expect(due.sources).not.toContain(elsewhere);
  });
});
