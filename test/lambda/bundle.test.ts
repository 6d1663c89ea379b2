import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM build script without type declarations
import { buildLambda } from '../../scripts/build-lambda.mjs';
import { recordOutput } from '../support/scan.js';
import { AWS_ENV, World } from '../support/world.js';

const run = promisify(execFile);
let world: World;
let bundle: string;

/** Invokes the built handler in a fresh Node process, as the Lambda runtime would. */
async function invoke(event: unknown): Promise<{ ok: boolean; value: unknown; stdout: string }> {
  const script = `import(${JSON.stringify(bundle)}).then((m) => m.handler(${JSON.stringify(event)}, { getRemainingTimeInMillis: () => 60000 })).then((v) => console.log('RESULT ' + JSON.stringify({ ok: true, value: v })), (e) => console.log('RESULT ' + JSON.stringify({ ok: false, value: e.message })))`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...AWS_ENV, LAMBDA_TASK_ROOT: world.dir } });
  recordOutput(stdout);
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return { ...(JSON.parse(line!.slice(7)) as { ok: boolean; value: unknown }), stdout };
}

beforeAll(async () => {
  world = await World.start('aws');
  await world.seedAdmin();
  await world.writeConfig();
  bundle = (await buildLambda({ config: world.configPath, outfile: join(world.dir, 'handler.mjs') })).outfile as string;
}, 60_000);
afterAll(() => world.close());

describe('the Lambda bundle', () => {
  it('stays under 1 MB', () => {
    expect(statSync(bundle).size).toBeLessThanOrEqual(1_000_000);
  });

  it('runs a scheduled event from its bundled configuration, in a fresh process', async () => {
    const out = await invoke({ version: '0', id: randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} });
    expect(out.value).toEqual({ targets: [{ target: 'app', kind: 'done' }] });
    expect(out.stdout).toMatch(/"step":"create-secret"/);
    expect(world.sm.inspect('twilio/app')?.versions).toHaveLength(1);
  });

  it('runs the four rotation steps, each in its own process', async () => {
    const token = randomUUID();
    world.sm.beginRotation('twilio/app', token);
    const arn = world.sm.inspect('twilio/app')!.arn;
    for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      const out = await invoke({ Step, SecretId: arn, ClientRequestToken: token });
      expect(out.ok, String(out.value)).toBe(true);
    }
    expect(world.sm.inspect('twilio/app')!.versions.find((v) => v.versionId === token)?.stages).toEqual(['AWSCURRENT']);
  });
});
