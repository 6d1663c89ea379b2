import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { freshLambda, type Lambda } from '../support/lambda.js';
import { startReceivers, type Receivers } from '../support/alerting.js';
import { emfLines } from '../support/emf.js';
import { recordOutput } from '../support/scan.js';
import { AWS_ENV, World } from '../support/world.js';

let handler: Lambda['handler'];

/**
 * The scheduled Lambda alerts exactly as the CLI does (the alerts hang off the engine's results),
 * and writes its metrics as embedded-metric-format lines on stdout, its CloudWatch log.
 */

let rx: Receivers;
let world: World;
const scheduled = () => ({ 'detail-type': 'Scheduled Event', source: 'aws.events', id: randomUUID(), detail: {} });

beforeAll(async () => {
  rx = await startReceivers();
  Object.assign(process.env, rx.env, AWS_ENV);
});
afterAll(() => rx.close());
beforeEach(async () => {
  rx.reset();
  world = await World.start('aws');
  ({ handler } = await freshLambda());
});
afterEach(async () => {
  delete process.env.TWILIO_KEY_ROTATOR_CONFIG;
  vi.restoreAllMocks();
  await world.close();
});

describe('scheduled Lambda', () => {
  it('alerts on a failed target, still throws for the Errors alarm, and writes EMF lines to stdout', async () => {
    await world.seedAdmin('standard');
    await world.seedCurrentKey();
    process.env.TWILIO_KEY_ROTATOR_CONFIG = await world.writeConfig([{}], { alerts: rx.config() });
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    await expect(handler(scheduled(), { getRemainingTimeInMillis: () => 60_000 })).rejects.toThrow(
      /rotation needs attention: app: failed at observe/,
    );
    vi.restoreAllMocks();
    recordOutput(written.join(''));
    expect(rx.counts()).toEqual({ slack: 1, pagerduty: 1, webhook: 1, sns: 1 });
    expect(rx.webhook.received[0]!.body).toMatchObject({ type: 'rotator.step_failed', data: { target: 'app' } });
    const [doc] = emfLines(written.join(''));
    expect(doc).toMatchObject({ Target: 'app', TargetsChecked: 1, RotationsFailed: 1, OpenProblems: 1 });
  });
});
