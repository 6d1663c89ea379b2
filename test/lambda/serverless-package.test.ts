import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM build script without type declarations
import { buildLambda } from '../../scripts/build-lambda.mjs';
// @ts-expect-error -- plain CommonJS build script without type declarations
import { bundleProblem } from '../../scripts/config-fingerprint.cjs';
import { labelledKeys } from '../support/assertions.js';
import { rotationEvents, SCHEDULED_EVENT } from '../support/lambda-child.js';
import { recordOutput } from '../support/scan.js';
import { scratchFolders } from '../support/scratch.js';
import { startTwilioTls } from '../support/twilio-tls.js';
import { AWS_ENV, World } from '../support/world.js';

const scratch = scratchFolders();

/**
 * `osls package` on this checkout, offline, and the CloudFormation it generates. Structure is
 * checked, not a snapshot: the S3 key and the version's logical id change on every run.
 */
const run = promisify(execFile);

type Template = {
  Resources: Record<string, { Type: string; Properties: any; Condition?: string }>;
  Outputs: Record<string, unknown>;
  Conditions?: unknown;
};

/** `osls package` into a fresh directory: the CloudFormation template and the one zip it wrote. */
async function packageTemplate(
  extraEnv: Record<string, string> = {},
  args: string[] = [],
  cwd = process.cwd(),
): Promise<{ template: Template; zip: string }> {
  const out = await scratch('tkr-sls-');
  await run(
    join(process.cwd(), 'node_modules', '.bin', 'osls'),
    ['package', '--stage', 'ci', '--package', out, ...args],
    {
      cwd,
      env: { ...process.env, HOME: out, ...DEPLOY_ENV, ...extraEnv },
      timeout: 90_000,
    },
  );
  const zips = (await readdir(out)).filter((f) => f.endsWith('.zip'));
  expect(zips).toHaveLength(1);
  return {
    template: JSON.parse(await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template,
    zip: join(out, zips[0]!),
  };
}

/** What `osls package` printed when it failed (undefined if it packaged). */
const packageFailure = (...args: Parameters<typeof packageTemplate>) =>
  packageTemplate(...args).then(
    () => undefined,
    (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
  );

const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const statements = (t: Template): { Action: string | string[]; Resource: unknown }[] =>
  t.Resources.IamRoleLambdaExecution!.Properties.Policies[0].PolicyDocument.Statement;

/** Names in a zip archive, from its central directory. */
function zipEntries(zip: Buffer): string[] {
  const header = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
  const names: string[] = [];
  for (let at = zip.indexOf(header); at >= 0; at = zip.indexOf(header, at + 46)) {
    const nameLength = zip.readUInt16LE(at + 28);
    names.push(zip.toString('utf8', at + 46, at + 46 + nameLength));
  }
  return names;
}

/** A probe token as a deployer hands it over: a reference CloudFormation resolves, never the value. */
const PROBE_TOKEN_REF = '{{resolve:secretsmanager:prod/twilio/probe-token:SecretString:token}}';
let world: World;
/** What the README's deploy section has you set in the shell you deploy from. */
let DEPLOY_ENV: Record<string, string>;
let template: Template;
let built: { outfile: string; files: string[] };
let artifact: string[];
beforeAll(async () => {
  world = await World.start('aws');
  DEPLOY_ENV = {
    TWILIO_KEY_ROTATOR_CONFIG: 'config/example.yaml',
    AWS_REGION: 'us-east-1',
    TWILIO_ACCOUNT_SID: world.accountSid,
    PROBE_TOKEN: PROBE_TOKEN_REF,
  };
  built = (await buildLambda({ config: 'config/example.yaml' })) as typeof built;
  const packaged = await packageTemplate();
  template = packaged.template;
  artifact = zipEntries(await readFile(packaged.zip));
}, 120_000);
afterAll(() => world.close());

describe('serverless.yml packaged with osls', () => {
  it('schedules the reconcile on nodejs22.x with reserved concurrency 1', () => {
    const rules = ofType(template, 'AWS::Events::Rule');
    expect(rules).toHaveLength(1);
    expect(rules[0]![1].Properties.ScheduleExpression).toMatch(/^rate\(/);
    const scheduled = template.Resources.ScheduledLambdaFunction!.Properties;
    expect(scheduled).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'dist/lambda/handler.handler',
      ReservedConcurrentExecutions: 1,
    });
  });

  it('runs every function on x86_64 unless the architecture param says otherwise', () => {
    const functions = ofType(template, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(0);
    for (const [, f] of functions) expect(f.Properties.Architectures).toEqual(['x86_64']);
  });

  it('packages the handler and every chunk it may load, and nothing else from the checkout', () => {
    const expected = built.files.map((f) => relative(process.cwd(), f).split(sep).join('/'));
    expect(expected.some((f) => f.startsWith('dist/lambda/chunks/'))).toBe(true);
    expect(artifact).toEqual(expect.arrayContaining(expected));
    expect(artifact.filter((f) => !f.startsWith('dist/lambda/'))).toEqual([]);
  });

  it('never grants Secrets Manager actions on Resource "*", and names only the configured secrets', () => {
    const sm = statements(template).filter((s) => [s.Action].flat().some((a) => a.startsWith('secretsmanager:')));
    expect(sm.length).toBeGreaterThan(0);
    for (const s of sm) expect(JSON.stringify(s.Resource)).not.toMatch(/"\*"/);
    const resources = JSON.stringify(sm.map((s) => s.Resource));
    expect(resources).toContain('secret:prod/twilio/messaging-??????');
    expect(resources).toContain('secret:prod/twilio/rotator-admin-??????');
    expect(resources).not.toContain('${aws:accountId}');
  });

  it('sends failed scheduled runs to a failure destination and alarms on errors', () => {
    const conf = template.Resources.ScheduledLambdaEvConf!.Properties;
    expect(conf.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': ['RotatorFailureQueue', 'Arn'] });
    const alarms = ofType(template, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .filter((a) => a.Namespace === 'AWS/Lambda');
    expect(alarms.map((a) => [a.MetricName, a.Dimensions[0].Value.Ref])).toEqual(
      expect.arrayContaining([
        ['Errors', 'ScheduledLambdaFunction'],
        ['Errors', 'RotationLambdaFunction'],
      ]),
    );
  });

  it("alarms on the rotator's own EMF metrics across targets, including silence", () => {
    const alarms = ofType(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const onEmf = alarms.filter((a) => a.Namespace === 'TwilioKeyRotator');
    expect(onEmf.map((a) => [a.MetricName, a.ComparisonOperator, a.TreatMissingData]).sort()).toEqual(
      [
        ['AlertDeliveryFailures', 'GreaterThanOrEqualToThreshold', 'notBreaching'],
        ['KeyAgeDays', 'GreaterThanThreshold', 'notBreaching'],
        ['RotationsFailed', 'GreaterThanOrEqualToThreshold', 'notBreaching'],
        ['TargetsChecked', 'LessThanThreshold', 'breaching'],
        ['TargetsStuck', 'GreaterThanOrEqualToThreshold', 'notBreaching'],
      ].sort(),
    );
    // The aggregate series: the EMF lines publish each metric with an empty dimension set too.
    for (const a of onEmf) {
      expect(a.Dimensions).toBeUndefined();
      expect(a.AlarmActions).toEqual([{ Ref: 'RotatorAlarmTopic' }]);
    }
    expect(onEmf.find((a) => a.MetricName === 'KeyAgeDays')!.Threshold).toBe(45);
  });

  it('lets Secrets Manager invoke the rotation function', () => {
    expect(template.Resources.RotationInvokePermission!.Properties).toMatchObject({
      Principal: 'secretsmanager.amazonaws.com',
      Action: 'lambda:InvokeFunction',
    });
  });

  it('is the single-invocation stack unless sharding is on: no worker, no send permission, no shard queue', () => {
    expect(template.Resources.ShardLambdaFunction).toBeUndefined();
    expect(ofType(template, 'AWS::Lambda::EventSourceMapping')).toEqual([]);
    expect(JSON.stringify(statements(template))).not.toContain('RotatorShardQueue');
    expect(template.Conditions).toEqual({ ShardingOn: { 'Fn::Equals': ['off', 'on'] } });
    const shardResources = Object.entries(template.Resources).filter(([id]) => /Shard/.test(id));
    expect(shardResources.map(([id]) => id).sort()).toEqual(
      ['RotatorShardQueue', 'RotatorShardDeadLetterQueue', 'ShardDeadLetterAlarm', 'ShardBacklogAlarm'].sort(),
    );
    for (const [, r] of shardResources) expect(r.Condition).toBe('ShardingOn');
  });
});

/** One more `osls package`, with a customer KMS key, sharding on and arm64 (one run serves all three). */
describe('serverless.yml packaged with a KMS key, --param sharding=on and --param architecture=arm64', () => {
  let on: Template;
  beforeAll(async () => {
    on = (
      await packageTemplate(
        { ROTATOR_KMS_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
        [
          ...['--param', 'sharding=on', '--param', 'shard-concurrency=6', '--param', 'targets-per-message=15'],
          ...['--param', 'architecture=arm64'],
        ],
      )
    ).template;
  }, 90_000);

  it('runs every function, the shard worker included, on arm64', () => {
    const functions = ofType(on, 'AWS::Lambda::Function');
    expect(functions.map(([id]) => id).sort()).toEqual(
      ['RotationLambdaFunction', 'ScheduledLambdaFunction', 'ShardLambdaFunction'].sort(),
    );
    for (const [, f] of functions) expect(f.Properties.Architectures).toEqual(['arm64']);
  });

  it('adds KMS decrypt for a customer key only when one is configured', () => {
    expect(JSON.stringify(statements(template))).not.toContain('kms:');
    const kms = statements(on).find((s) => [s.Action].flat().includes('kms:Decrypt'));
    expect(kms?.Resource).toBe('arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
  });

  it('declares the shard queue with a dead-letter queue and a visibility timeout of six worker timeouts', () => {
    expect(on.Conditions).toEqual({ ShardingOn: { 'Fn::Equals': ['on', 'on'] } });
    const worker = on.Resources.ShardLambdaFunction!.Properties;
    const queue = on.Resources.RotatorShardQueue!.Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * worker.Timeout);
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['RotatorShardDeadLetterQueue', 'Arn'] },
      maxReceiveCount: 5,
    });
    const alarms = ofType(on, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .filter((a) => a.Namespace === 'AWS/SQS');
    expect(alarms.map((a) => [a.MetricName, a.Dimensions[0].Value['Fn::GetAtt'][0]]).sort()).toEqual([
      ['ApproximateAgeOfOldestMessage', 'RotatorShardQueue'],
      ['ApproximateNumberOfMessagesVisible', 'RotatorShardDeadLetterQueue'],
    ]);
  });

  it('runs the worker from the shard queue with partial batch responses, at the concurrency asked for', () => {
    expect(on.Resources.ShardLambdaFunction!.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'dist/lambda/handler.shardHandler',
      ReservedConcurrentExecutions: 6,
    });
    const mappings = ofType(on, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    expect(mappings[0]![1].Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['RotatorShardQueue', 'Arn'] },
      FunctionName: { 'Fn::GetAtt': ['ShardLambdaFunction', 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 6 },
    });
  });

  it('gives the scheduled function the queue URL and lets the role send to that queue only', () => {
    expect(on.Resources.ScheduledLambdaFunction!.Properties.Environment.Variables).toMatchObject({
      ROTATOR_SHARD_QUEUE_URL: { Ref: 'RotatorShardQueue' },
      ROTATOR_SHARD_TARGETS_PER_MESSAGE: '15',
    });
    expect(on.Resources.ShardLambdaFunction!.Properties.Environment.Variables.ROTATOR_SHARD_QUEUE_URL).toBeUndefined();
    const sqs = statements(on).filter((s) => [s.Action].flat().some((a) => a.startsWith('sqs:')));
    const onShardQueue = sqs.filter((s) => JSON.stringify(s.Resource).includes('"RotatorShardQueue"'));
    expect(onShardQueue.map((s) => [s.Action].flat().sort())).toEqual(
      expect.arrayContaining([
        ['sqs:SendMessage'],
        ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
      ]),
    );
    expect(onShardQueue).toHaveLength(2);
    for (const s of sqs) expect(JSON.stringify(s.Resource)).not.toMatch(/"\*"/);
  });
});

/**
 * The documented deploy, end to end short of AWS: config/example.yaml compiled into the bundle,
 * serverless.yml's environment for the functions, and both handlers run in a fresh Node 22 process
 * with exactly that environment plus what Lambda itself provides. Only the network is redirected
 * (the SDK's endpoint variable, a CONNECT proxy and CA file for Twilio's hosts); the configuration
 * is the example's, unchanged.
 */
describe('the documented deploy path starts', () => {
  const functionEnv = (name: string): Record<string, string> =>
    template.Resources[name]!.Properties.Environment.Variables as Record<string, string>;

  /** Runs `events` through the built handler in one fresh process; one RESULT line per event. */
  async function invokeDeployed(env: Record<string, string>, events: unknown[]) {
    const script = `const { handler } = await import(${JSON.stringify(built.outfile)});
for (const event of ${JSON.stringify(events)}) {
  const value = await handler(event, { getRemainingTimeInMillis: () => 120000 }).then(
    (v) => ({ ok: true, v }),
    (e) => ({ ok: false, v: e.message }),
  );
  console.log('RESULT ' + JSON.stringify(value));
}`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env, timeout: 60_000 });
    recordOutput(stdout);
    return stdout
      .split('\n')
      .filter((l) => l.startsWith('RESULT '))
      .map((l) => JSON.parse(l.slice(7)) as { ok: boolean; v: unknown });
  }

  /** What a Lambda execution environment provides, beside the function's own variables. */
  const lambdaProvided = () => ({
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    ...AWS_ENV,
    LAMBDA_TASK_ROOT: process.cwd(),
  });

  it('hands both functions what the configuration reads, the probe token only as a dynamic reference', () => {
    for (const fn of ['ScheduledLambdaFunction', 'RotationLambdaFunction']) {
      expect(functionEnv(fn)).toEqual({
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        TWILIO_ACCOUNT_SID: world.accountSid,
        PROBE_TOKEN: PROBE_TOKEN_REF,
      });
    }
  });

  it('runs the scheduled and the rotation handler from config/example.yaml in a fresh Node 22 process', async () => {
    await world.seedAdmin('auth-token', 'prod/twilio/rotator-admin');
    await world.seedAdmin('auth-token', 'prod/twilio/oauth-admin');
    const tls = await startTwilioTls(world.twilio.url);
    try {
      const env = {
        ...lambdaProvided(),
        // CloudFormation resolves the reference at deploy time; the function sees the value.
        ...functionEnv('ScheduledLambdaFunction'),
        PROBE_TOKEN: randomUUID(),
        AWS_ENDPOINT_URL_SECRETS_MANAGER: world.sm.url,
        ...tls.env,
      };
      const [scheduled] = await invokeDeployed(env, [SCHEDULED_EVENT]);
      expect(scheduled).toEqual({
        ok: true,
        v: {
          targets: [
            { target: 'messaging', kind: 'done' },
            { target: 'notifier', kind: 'done' },
            { target: 'billing-oauth', kind: 'done' },
          ],
        },
      });
      expect(tls.connects.length).toBeGreaterThan(0);
      expect(tls.connects.every((c) => /^(iam|api|oauth)\.twilio\.com:443$/.test(c))).toBe(true);

      // Secrets Manager's four steps on the secret the scheduled run created, in a new process.
      const first = (await labelledKeys(world, 'prod/twilio/messaging')).current!;
      const token = randomUUID();
      world.sm.beginRotation('prod/twilio/messaging', token);
      const steps = await invokeDeployed(
        { ...env, ...functionEnv('RotationLambdaFunction'), PROBE_TOKEN: env.PROBE_TOKEN },
        rotationEvents(world.sm.inspect('prod/twilio/messaging')!.arn, token),
      );
      expect(steps.map((s) => s.ok)).toEqual([true, true, true, true]);
      const after = await labelledKeys(world, 'prod/twilio/messaging');
      expect(world.sm.inspect('prod/twilio/messaging')!.versions.find((v) => v.versionId === token)?.stages).toEqual([
        'AWSCURRENT',
      ]);
      expect(after.previous?.apiKeySid).toBe(first.apiKeySid);
    } finally {
      tls.close();
    }
  });

  it('fails at start-up, naming the variable, without the environment serverless.yml declares', async () => {
    const [out] = await invokeDeployed({ ...lambdaProvided(), AWS_ENDPOINT_URL_SECRETS_MANAGER: world.sm.url }, [
      SCHEDULED_EVENT,
    ]);
    expect(out).toEqual({ ok: false, v: expect.stringMatching(/TWILIO_ACCOUNT_SID is not set/) });
  });

  it('stops osls with a clear message, not a stack trace, when config/rotator.yaml is missing', async () => {
    const err = await packageTemplate({ TWILIO_KEY_ROTATOR_CONFIG: 'config/rotator-missing.yaml' }).then(
      () => undefined,
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    expect(err).toMatch(
      /config\/rotator-missing\.yaml does not exist: copy config\/example\.yaml to config\/rotator\.yaml/,
    );
    expect(err).not.toMatch(/\n\s+at /);
  }, 60_000);
});

/** What stops `osls package`, in words, before anything is packaged. */
describe('serverless.yml refuses to package', () => {
  it('a bundle built from another configuration, saying what to run', async () => {
    const dir = await scratch('tkr-sls-config-');
    const edited = join(dir, 'rotator.yaml');
    const example = await readFile('config/example.yaml', 'utf8');
    await writeFile(
      edited,
      example.replace('secretId: prod/twilio/messaging }', 'secretId: prod/twilio/messaging-v2 }'),
    );
    const err = await packageFailure({ TWILIO_KEY_ROTATOR_CONFIG: edited });
    expect(err).toContain(
      `dist/lambda was built from config/example.yaml, not from ${edited}: ` +
        `the role's policy and the functions' environment come from ${edited}`,
    );
    expect(err).toContain(`Run npm run build:lambda -- --config ${edited} and package again.`);
    expect(err).not.toMatch(/\n\s+at /);
  }, 90_000);

  it('a bundle whose configuration was edited since it was built', async () => {
    const dir = await scratch('tkr-sls-edit-');
    const config = join(dir, 'rotator.yaml');
    const bundle = join(dir, 'lambda');
    await writeFile(config, await readFile('config/example.yaml', 'utf8'));
    await buildLambda({ config, outdir: bundle });
    expect(bundleProblem(process.cwd(), bundle, config)).toBeUndefined();
    // A comment is not configuration: the bundle still holds the same.
    await writeFile(config, `# reviewed\n${await readFile(config, 'utf8')}`);
    expect(bundleProblem(process.cwd(), bundle, config)).toBeUndefined();
    await writeFile(config, (await readFile(config, 'utf8')).replace('maxAgeDays: 30', 'maxAgeDays: 20'));
    expect(bundleProblem(process.cwd(), bundle, config)).toBe(
      `${config} changed since ${bundle} was built: ` +
        `the role's policy and the functions' environment come from ${config}, ` +
        'so the bundle would ask for secrets the role may not touch (AccessDenied on every run). ' +
        `Run npm run build:lambda -- --config ${config} and package again.`,
    );
  }, 60_000);

  it('without a bundle, saying so in words', async () => {
    // A checkout where npm run build:lambda never ran: the same files, no dist/.
    const checkout = await scratch('tkr-sls-checkout-');
    for (const entry of ['node_modules', 'src', 'config', 'package.json', 'tsconfig.json'])
      await symlink(join(process.cwd(), entry), join(checkout, entry));
    await cp('scripts', join(checkout, 'scripts'), { recursive: true });
    await cp('serverless.yml', join(checkout, 'serverless.yml'));
    const err = await packageFailure({}, [], checkout);
    expect(err).toContain(
      'dist/lambda/handler.mjs does not exist: run npm run build:lambda -- --config config/example.yaml first ' +
        '(it compiles config/example.yaml into the bundle)',
    );
    expect(err).not.toContain('No file matches include / exclude patterns');
  }, 90_000);

  it('a configuration with problems, naming each once: every unset variable and every bad param', async () => {
    const err = await packageFailure({ TWILIO_ACCOUNT_SID: '', PROBE_TOKEN: '' }, ['--param', 'architecture=arm65']);
    expect(err?.match(/is invalid:/g)).toHaveLength(1);
    expect(err).toContain('targets.0.accountSid: environment variable TWILIO_ACCOUNT_SID is not set');
    expect(err).toContain('targets.0.gate.probes.0.headerValueEnv: environment variable PROBE_TOKEN is not set');
    expect(err).toContain('the architecture param must be "x86_64" or "arm64", not "arm65"');
    expect(err?.match(/the architecture param/g)).toHaveLength(1);
  }, 90_000);
});
