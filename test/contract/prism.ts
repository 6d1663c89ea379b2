import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * Stoplight Prism as a validating proxy: every request and every response passing through is
 * checked against one of Twilio's OpenAPI files. With --errors a violation turns the response into
 * an error (422 for a bad request, 500 for a bad response) and `sl-violations` lists them.
 */
export interface PrismProxy {
  url: string;
  output: () => string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function startPrism(spec: string, upstream: string): Promise<PrismProxy> {
  const port = await freePort();
  const bin = join(process.cwd(), 'node_modules', '.bin', 'prism');
  const child: ChildProcess = spawn(
    bin,
    ['proxy', '--errors', spec, upstream, '--port', String(port), '--host', '127.0.0.1', '--cors', 'false'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Prism did not start within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Prism is listening')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Prism exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
