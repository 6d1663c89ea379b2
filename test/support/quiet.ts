// Setup file of every project (vitest.config.ts): what a test writes straight to process.stdout or
// process.stderr (the Lambda handler's JSON log and EMF lines, run in-process; winston streams; Node
// warnings) is held, and shown only when that test fails, through console so that vitest prints it
// with the failure (`silent: 'passed-only'` does the same for console output). A passing run prints
// vitest's own lines only. Everything held also goes to the leak scan, as everything printed did.
import { afterAll, afterEach } from 'vitest';
import { recordOutput } from './scan.js';

type Write = typeof process.stdout.write;
let held: string[] = [];

function hold(stream: NodeJS.WriteStream): void {
  const write: Write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
    held.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    const done = rest.find((r) => typeof r === 'function') as ((err?: Error | null) => void) | undefined;
    if (done) queueMicrotask(() => done());
    return true;
  };
  stream.write = write;
}

hold(process.stdout);
hold(process.stderr);

function release(): string {
  const text = held.join('');
  held = [];
  recordOutput(text);
  return text;
}

// A test's output includes what its file's hooks printed since the test before it.
afterEach((ctx) => {
  const text = release();
  if (text && ctx.task.result?.state === 'fail') console.log(`output of "${ctx.task.name}":\n${text}`);
});
afterAll(() => void release());
