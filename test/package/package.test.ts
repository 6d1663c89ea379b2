import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin } from '../support/child.js';
import { recordOutput } from '../support/scan.js';
import { World } from '../support/world.js';

/**
 * Each step runs npm or a fresh node, seconds apiece on a busy machine: the timeouts are generous.
 *
 * The npm package as a user gets it: `npm pack` of this repository (dist/ as vitest's global setup
 * built it, the same as `npm run build`), installed into an empty folder with the network off, then
 * the bin run through `npx` and the webhooks export imported there. No node_modules of this
 * repository is reachable from that folder.
 */

const exec = promisify(execFile);
const root = process.cwd();
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  files: string[];
  bin: Record<string, string>;
};
let dir: string;
let app: string;
let packed: string[];
let world: World | undefined;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command in `cwd`, its output kept for the leak scan; a non-zero exit is returned, not thrown. */
async function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const out = await exec(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 16 << 20 }).then(
    (r) => ({ ...r, code: 0 }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  recordOutput(out.stdout);
  recordOutput(out.stderr);
  return { code: out.code, stdout: out.stdout, stderr: out.stderr };
}

/** The files `npm pack` would put in a package with this repository's package.json, in `cwd`. */
async function packList(cwd: string): Promise<string[]> {
  const r = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], cwd);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path).sort();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tkr-package-'));
  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root);
  expect(pack.code, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  packed = info!.files.map((f) => f.path).sort();

  app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'probe', version: '1.0.0', private: true }));
  const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, info!.filename)], app);
  expect(install.code, install.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await world?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds the bin, the webhooks export, the docs, the example configuration and the licence', () => {
    for (const f of ['LICENSE', 'README.md', 'package.json', 'config/example.yaml', 'dist/webhooks.d.ts'])
      expect(packed).toContain(f);
    for (const f of ['dist/cli/cli.mjs', 'dist/cli/webhooks.mjs']) expect(packed).toContain(f);
    const shipped =
      /^(LICENSE|README\.md|package\.json|config\/example\.yaml|dist\/webhooks\.d\.ts|dist\/cli\/.+|docs\/.+)$/;
    expect(packed.filter((f) => !shipped.test(f))).toEqual([]);
  });

  it('never holds a user configuration, a Lambda build, sources or state, whatever the folder holds', async () => {
    // Every such file present in a scratch copy, so the `files` rules are tested, not this clone's state.
    const scratch = join(dir, 'scratch');
    const present = [
      'config/example.yaml',
      'config/rotator.yaml',
      'config/sandbox.yaml',
      'dist/lambda/handler.mjs',
      'dist/lambda/chunks/a.mjs',
      'dist/cli/cli.mjs',
      'dist/entry/cli.js',
      'dist/webhooks.js',
      'dist/webhooks.d.ts',
      'src/entry/cli.ts',
      'test/x.test.ts',
      '.state/secrets.json',
      'docs/architecture.md',
      'README.md',
      'LICENSE',
    ];
    for (const f of present) {
      await mkdir(dirname(join(scratch, f)), { recursive: true });
      await writeFile(join(scratch, f), 'x');
    }
    await writeFile(join(scratch, 'package.json'), JSON.stringify({ ...pkg, scripts: {} }));
    expect(await packList(scratch)).toEqual(
      [
        'LICENSE',
        'README.md',
        'config/example.yaml',
        'dist/cli/cli.mjs',
        'dist/webhooks.d.ts',
        'docs/architecture.md',
        'package.json',
      ].sort(),
    );
  }, 60_000);

  it('is what the crash, race and daemon suites run: the bin, as npm run build makes it', async () => {
    expect(await cliBin()).toBe(resolve(root, pkg.bin[pkg.name]!));
  });

  it('installs alone: no dependency, no install script', async () => {
    const installed = (await readdir(join(app, 'node_modules'))).filter((f) => !f.startsWith('.'));
    expect(installed).toEqual([pkg.name]);
    const manifest = JSON.parse(await readFile(join(app, 'node_modules', pkg.name, 'package.json'), 'utf8')) as {
      dependencies?: object;
      scripts?: Record<string, string>;
    };
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(Object.keys(manifest.scripts ?? {}).filter((s) => /install|prepare/.test(s))).toEqual([]);
  });

  it('npx twilio-key-rotator --version and --help', async () => {
    const version = await run('npx', ['--offline', 'twilio-key-rotator', '--version'], app);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);
    const help = await run('npx', ['--offline', 'twilio-key-rotator', '--help'], app);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: twilio-key-rotator <command>/);
  }, 120_000);

  it('npx twilio-key-rotator status against the emulators', async () => {
    world = await World.start('file');
    await world.seedAdmin('restricted');
    const sid = await world.seedCurrentKey();
    await world.writeConfig();
    const status = await run('npx', ['--offline', 'twilio-key-rotator', 'status', '--config', world.configPath], app);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('app');
    expect(status.stdout).toContain(sid);
  }, 120_000);

  it('the webhooks export validates a signature with no other package installed', async () => {
    const token = 'f'.repeat(32);
    const url = 'https://example.com/sms';
    const params = { Body: 'hi', From: '+15550100' };
    const signature = getExpectedTwilioSignature(token, url, params);
    const script = [
      "import { validateTwilioWebhook } from 'twilio-key-rotator/webhooks';",
      `const tokens = { current: ${JSON.stringify(token)} };`,
      `const request = { url: ${JSON.stringify(url)}, params: ${JSON.stringify(params)} };`,
      `const good = validateTwilioWebhook(tokens, { ...request, signature: ${JSON.stringify(signature)} });`,
      "const bad = validateTwilioWebhook(tokens, { ...request, signature: 'AAAA' });",
      'console.log(JSON.stringify({ good: good.valid, bad: bad.valid }));',
    ].join('\n');
    const r = await run(process.execPath, ['--input-type=module', '-e', script], app);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ good: true, bad: false });
  }, 60_000);
});
