import { spawn, type ChildProcess } from 'node:child_process';
import { recordOutput } from './scan.js';

/**
 * Crash, race and daemon tests run the real CLI in real child processes: the package's bin,
 * dist/cli/cli.mjs, as `npm run build` makes it and users run it. vitest's global setup builds it
 * when it is missing or older than its sources (scripts/build-cli.mjs builtCliBin) and names it in
 * TKR_CLI_BIN; run outside vitest, this does the same on demand.
 */
export async function cliBin(): Promise<string> {
  if (process.env.TKR_CLI_BIN) return process.env.TKR_CLI_BIN;
  const { builtCliBin } = await import('../../scripts/build-cli.mjs');
  return builtCliBin();
}

export interface ChildRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export async function spawnCli(args: string[], env: NodeJS.ProcessEnv): Promise<ChildRun> {
  return spawnNode([await cliBin(), ...args], env);
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
