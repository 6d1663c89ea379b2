import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authenticates, labelledKeys, unreferencedRotatorKeys } from '../support/assertions.js';
import { spawnCli } from '../support/child.js';
import { AWS_ENV, World } from '../support/world.js';

/**
 * SIGINT/SIGTERM to a running `rotate`: the request in flight is cut (not waited for), nothing
 * more starts, the process exits 130/143, and the next run converges from whatever the cut request
 * left behind, as after a crash.
 */

let world: World;
beforeEach(async () => {
  world = await World.start('aws');
  await world.seedAdmin();
  // Timeouts and retry budget far beyond the held request: only the interrupt can cut it short.
  await world.writeConfig([{}], {
    twilio: { baseUrl: world.twilio.url, timeoutSeconds: 60 },
    stores: { aws: { region: 'us-east-1', endpoint: world.sm.url, timeoutSeconds: 60 } },
    retry: { attempts: 4, budgetSeconds: 60, minDelayMs: 5 },
  });
  world.resetLogs();
});
afterEach(() => world.close());

async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !done(); i++) await sleep(50);
  expect(done(), what).toBe(true);
}

describe('rotate interrupted by a signal', () => {
  it.each([
    ['SIGINT', 130, 'twilio', 'CreateKey'],
    ['SIGTERM', 143, 'sm', 'CreateSecret'],
  ] as const)(
    '%s cuts the request in flight, exits %i, and the next run converges',
    async (signal, exitCode, service, operation) => {
      const emulator = world[service];
      emulator.controls.setFaults({ operations: [operation], sequence: ['slow'], slowMs: 6_000 });
      const run = await spawnCli(['rotate', '--config', world.configPath], AWS_ENV);
      await until(() => emulator.controls.log.some((e) => e.operation === operation), `${operation} was sent`);
      const sentAt = Date.now();
      run.child.kill(signal);
      const out = await run.done;

      expect(out.code, out.stderr).toBe(exitCode);
      expect(Date.now() - sentAt).toBeLessThan(6_000);
      expect(out.stdout).toMatch(
        /^app: interrupted during [\w-]+: interrupted by SIG(INT|TERM); the next run resumes\.$/m,
      );
      const held = emulator.controls.log.find((e) => e.operation === operation)!;
      await until(() => held.abandoned === true, `${operation} was cut while in flight`);
      // Nothing more was sent after the interrupt.
      expect(emulator.controls.log.at(-1)).toBe(held);

      await until(() => held.status !== undefined, 'the cut request finally took effect on the emulator');
      emulator.controls.clearFaults();
      const next = await world.cli(['rotate']);
      expect(next.code, next.stdout + next.stderr).toBe(0);
      const { current } = await labelledKeys(world);
      expect(await authenticates(world, current)).toBe(true);
      expect(await unreferencedRotatorKeys(world, 'rot-app-')).toEqual([]);
    },
    30_000,
  );
});
