import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { recordOutput } from '../support/scan.js';
import { AWS_ENV, World } from '../support/world.js';

/**
 * Memory over a long run: a real process runs the daemon for hundreds of ticks back to back
 * (./memory-child.ts), rotating a key every half second, against the emulators in this process.
 * What may not grow: the redaction registry (one run's secrets at most) and the heap after a full
 * GC, past V8's warm-up (a heap snapshot diff showed the early growth is JIT code, not objects).
 */

const TICKS = 400;

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('daemon memory', () => {
  it(`stays flat over ${TICKS} ticks that keep rotating`, async () => {
    world = await World.start('file');
    await world.seedAdmin('auth-token');
    await world.writeConfig([{ maxAgeDays: 0.5 / 86400, gate: { minOverlapSeconds: 0, maxWaitSeconds: 3600 } }], {
      daemon: { schedule: '0 0 1 1 *', runOnStart: false },
    });
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'test/daemon/memory-child.ts', world.configPath, String(TICKS)],
      { env: { ...process.env, ...AWS_ENV }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    recordOutput(stdout + stderr);
    expect(code, stderr).toBe(0);
    const { samples } = JSON.parse(stdout) as {
      samples: { tick: number; heapUsed: number; peakSecretForms: number }[];
    };
    const keysCreated = world.twilio.controls.log.filter((r) => r.operation === 'CreateKey').length;

    // The runs kept bringing new secrets; the registry still held only one run's worth at a time.
    expect(keysCreated).toBeGreaterThanOrEqual(5);
    const peaks = samples.map((s) => s.peakSecretForms);
    expect(Math.max(...peaks), `peaks per ${TICKS / samples.length} ticks: ${peaks.join(' ')}`).toBeLessThanOrEqual(60);

    const mb = (n: number) => n / 1e6;
    const warm = samples.find((s) => s.tick >= 100)!;
    const last = samples.at(-1)!;
    const heaps = samples.map((s) => mb(s.heapUsed).toFixed(2)).join(' ');
    // 300 runs: a retained Runtime or result per run would add several MB; JIT code adds a few hundred KB.
    expect(mb(last.heapUsed - warm.heapUsed), `heap MB per sample: ${heaps}`).toBeLessThan(1.5);
  }, 60_000);
});
