/**
 * Run by memory.test.ts as
 * `node --expose-gc --import tsx test/daemon/memory-child.ts <config> <minTicks> <minRotations> <maxTicks>`:
 * a daemon (the same createDaemon the CLI runs, without the signal handling) against emulators in
 * the parent process, driven tick after tick as fast as runs finish, until it has run `minTicks`
 * ticks and rotated `minRotations` times (keys fall due by the wall clock, so a fast machine runs
 * more ticks per rotation and a busy one fewer; `maxTicks` bounds the loop). Prints one JSON line:
 * the rotations, and samples of the heap after a full GC, of the most secret forms the redaction
 * registry held while each stretch of ticks ran, and of the most it still held between runs.
 */
import { PassThrough } from 'node:stream';
import type { Logger } from '../../src/core/runtime.js';
import { createDaemon } from '../../src/entry/daemon/daemon.js';
import { createLogger } from '../../src/log.js';
import { knownSecretForms } from '../../src/redact.js';
import { recordOutput } from '../support/scan.js';

const [configPath, ...counts] = process.argv.slice(2);
const [minTicks, minRotations, maxTicks] = counts.map(Number);
const every = 25;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !configPath || !minTicks || !minRotations || !maxTicks)
  throw new Error('usage: node --expose-gc --import tsx memory-child.ts <config> <minTicks> <minRotations> <maxTicks>');

// Everything logged goes to the leak scan (a file, not this process's memory); each call notes how
// many secret forms are registered at that moment.
const stream = new PassThrough();
stream.on('data', (c: Buffer) => recordOutput(c.toString()));
const winston = createLogger({ stream, json: true });
let peak = 0;
let left = 0;
let rotations = 0;
const note = () => (peak = Math.max(peak, knownSecretForms()));
const watched = (inner: Logger): Logger => ({
  error: (m, f) => (note(), inner.error(m, f)),
  warn: (m, f) => (note(), inner.warn(m, f)),
  info: (m, f) => (note(), m.startsWith('created key ') && rotations++, inner.info(m, f)),
  child: (fields) => watched(inner.child(fields)),
});

const daemon = await createDaemon({ configPath, env: process.env, logger: watched(winston) });
const samples: { tick: number; heapUsed: number; peakSecretForms: number; leftAfterRuns: number }[] = [];
for (let i = 1; i <= maxTicks && (i <= minTicks || rotations < minRotations); i++) {
  daemon.tick();
  await daemon.idle();
  left = Math.max(left, knownSecretForms()); // what the registry still holds between runs
  if (i % every === 0) {
    gc();
    samples.push({
      tick: i,
      heapUsed: process.memoryUsage().heapUsed,
      peakSecretForms: peak,
      leftAfterRuns: left,
      handles: (process as any)._getActiveHandles().length,
    } as any);
    peak = 0;
    left = 0;
  }
}
await daemon.stop('done');
process.stdout.write(`${JSON.stringify({ rotations, samples })}\n`);
