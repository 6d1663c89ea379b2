import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
// @ts-expect-error -- plain ESM build script without type declarations
import { buildLambda } from '../../scripts/build-lambda.mjs';
import { spawnNode, type ChildRun } from './child.js';
import { AWS_ENV, World, type TargetSpec } from './world.js';

/**
 * The built Lambda bundle, run in child processes against any world. Its bundled configuration takes
 * the emulators' addresses and the account from ${ENV} placeholders, as a deployment takes its own,
 * so one build serves every world of a suite.
 */
export interface LambdaUnderTest {
  bundle: string;
  /** One execution environment: the events in order; exits 1 at the first that throws. */
  spawn(world: World, events: readonly unknown[]): ChildRun;
  close(): Promise<void>;
}

export async function buildLambdaForWorlds(
  targets: TargetSpec[],
  extra: Record<string, unknown> = {},
): Promise<LambdaUnderTest> {
  const dir = await mkdtemp(join(tmpdir(), 'tkr-lambda-'));
  const probe = await World.start('aws');
  const config = probe.configObject(targets, extra) as {
    twilio: Record<string, unknown>;
    stores: unknown;
    targets: Record<string, unknown>[];
  };
  await probe.close();
  config.twilio.baseUrl = '${TKR_TWILIO_URL}';
  config.stores = { aws: { region: 'us-east-1', endpoint: '${TKR_SM_URL}' } };
  for (const t of config.targets) t.accountSid = '${TKR_ACCOUNT_SID}';
  await writeFile(join(dir, 'rotator.yaml'), stringify(config));
  const { outfile: bundle } = (await buildLambda({
    config: join(dir, 'rotator.yaml'),
    outdir: join(dir, 'lambda'),
  })) as { outfile: string };

  return {
    bundle,
    spawn(world, events) {
      const script = `const { handler } = await import(${JSON.stringify(bundle)});
for (const event of ${JSON.stringify(events)}) {
  try { await handler(event, { getRemainingTimeInMillis: () => 300000 }); }
  catch (err) { console.log('FAILED ' + (event.Step ?? 'scheduled') + ': ' + err.message); process.exit(1); }
}
console.log('ALL OK');`;
      const env = {
        ...AWS_ENV,
        TKR_TWILIO_URL: world.twilio.url,
        TKR_SM_URL: world.sm.url,
        TKR_ACCOUNT_SID: world.accountSid,
        LAMBDA_TASK_ROOT: dir,
      };
      return spawnNode(['--input-type=module', '-e', script], env);
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

export const SCHEDULED_EVENT = {
  version: '0',
  id: '00000000-0000-4000-8000-000000000000',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  detail: {},
};

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

/** What Secrets Manager sends for one rotation attempt with `token`. */
export function rotationEvents(secretArn: string, token: string): unknown[] {
  return ROTATION_STEPS.map((Step) => ({ Step, SecretId: secretArn, ClientRequestToken: token }));
}
