import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { recordOutput } from './scan.js';

/**
 * Crash and race tests run the real CLI in real child processes. It is bundled once (vitest's
 * global setup does it; this builds on demand otherwise) so that each child starts in ~0.3 s
 * instead of compiling TypeScript on every start.
 */
export const CLI_BUNDLE = join(process.cwd(), 'node_modules', '.cache', 'twilio-key-rotator', 'cli.mjs');

export async function buildCliBundle(outfile = CLI_BUNDLE): Promise<string> {
  await build({
    entryPoints: [join(process.cwd(), 'src/entry/cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
    // Bundled CommonJS dependencies still call require().
    banner: {
      js: "import { createRequire as __tkrRequire } from 'node:module'; const require = __tkrRequire(import.meta.url);",
    },
  });
  return outfile;
}

export async function cliBundle(): Promise<string> {
  const path = process.env.TKR_CLI_BUNDLE ?? CLI_BUNDLE;
  if (!existsSync(path)) await buildCliBundle(path);
  return path;
}

export interface ChildRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export async function spawnCli(args: string[], env: NodeJS.ProcessEnv): Promise<ChildRun> {
  return spawnNode([await cliBundle(), ...args], env);
}

/** `node <args>` with its output kept for the leak scan. */
export function spawnNode(args: string[], env: NodeJS.ProcessEnv): ChildRun {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => {
      child.on('close', (code, signal) => {
        recordOutput(stdout);
        recordOutput(stderr);
        resolve({ code, signal, stdout, stderr });
      });
    },
  );
  return { child, done };
}
