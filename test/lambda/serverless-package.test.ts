import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM build script without type declarations
import { buildLambda } from '../../scripts/build-lambda.mjs';

/**
 * `osls package` on this checkout, offline, and the CloudFormation it generates. Structure is
 * checked, not a snapshot: the S3 key and the version's logical id change on every run.
 */
const run = promisify(execFile);

type Template = { Resources: Record<string, { Type: string; Properties: any }>; Outputs: Record<string, unknown> };

/** `osls package` into a fresh directory: the CloudFormation template and the one zip it wrote. */
async function packageTemplate(extraEnv: Record<string, string> = {}): Promise<{ template: Template; zip: string }> {
  const out = await mkdtemp(join(tmpdir(), 'tkr-sls-'));
  await run(join(process.cwd(), 'node_modules', '.bin', 'osls'), ['package', '--stage', 'ci', '--package', out], {
    env: {
      ...process.env,
      HOME: out,
      ROTATOR_CONFIG_FILE: 'config/example.yaml',
      AWS_REGION: 'us-east-1',
      ...extraEnv,
    },
    timeout: 90_000,
  });
  const zips = (await readdir(out)).filter((f) => f.endsWith('.zip'));
  expect(zips).toHaveLength(1);
  return {
    template: JSON.parse(await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8')) as Template,
    zip: join(out, zips[0]!),
  };
}

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

let template: Template;
let built: { files: string[] };
let artifact: string[];
beforeAll(async () => {
  built = (await buildLambda({ config: 'config/example.yaml' })) as { files: string[] };
  const packaged = await packageTemplate();
  template = packaged.template;
  artifact = zipEntries(await readFile(packaged.zip));
}, 120_000);

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

  it('adds KMS decrypt for a customer key only when one is configured', async () => {
    expect(JSON.stringify(statements(template))).not.toContain('kms:');
    const { template: withKms } = await packageTemplate({
      ROTATOR_KMS_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    });
    const kms = statements(withKms).find((s) => [s.Action].flat().includes('kms:Decrypt'));
    expect(kms?.Resource).toBe('arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
  }, 60_000);
});
