// IAM statements for serverless.yml, derived from the rotator's own configuration so the Lambda
// role can touch exactly the configured secrets and nothing else.
//   ROTATOR_CONFIG_FILE   config to read (default config/rotator.yaml)
//   ROTATOR_KMS_KEY_ARN   a customer-managed KMS key the secrets use (adds kms:Decrypt/GenerateDataKey)
// ARNs use CloudFormation pseudo-parameters, so packaging needs no AWS call (no ${aws:accountId}).
const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');
const { parse } = require('yaml');

const ROTATED = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
  'secretsmanager:ListSecretVersionIds',
  'secretsmanager:TagResource',
  'secretsmanager:CreateSecret',
];
const ADMIN = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:ListSecretVersionIds'];

/** Secrets Manager appends -XXXXXX to a secret's ARN; a name is matched with that suffix. */
function arnFor(secretId) {
  if (secretId.startsWith('arn:')) return secretId;
  return {
    'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secretId}-??????`,
  };
}

function config() {
  const file = resolve(__dirname, '..', process.env.ROTATOR_CONFIG_FILE ?? 'config/rotator.yaml');
  return parse(readFileSync(file, 'utf8'));
}

module.exports.statements = () => {
  const targets = (config().targets ?? []).filter((t) => t.secret?.store === 'aws');
  if (targets.length === 0) throw new Error('no target uses store "aws": nothing for the Lambda to rotate');
  const admins = [...new Set(targets.filter((t) => t.admin?.store === 'aws').map((t) => t.admin.secretId))];
  const statements = [
    { Effect: 'Allow', Action: ROTATED, Resource: targets.map((t) => arnFor(t.secret.secretId)) },
    ...(admins.length ? [{ Effect: 'Allow', Action: ADMIN, Resource: admins.map(arnFor) }] : []),
  ];
  // Alerts through SNS: Publish on exactly the configured topics.
  const topics = [
    ...new Set(((config().alerts ?? {}).channels ?? []).filter((c) => c.type === 'sns').map((c) => c.topicArn)),
  ];
  if (topics.length) statements.push({ Effect: 'Allow', Action: 'sns:Publish', Resource: topics });
  if (process.env.ROTATOR_KMS_KEY_ARN) {
    statements.push({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: process.env.ROTATOR_KMS_KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' } } },
    });
  }
  return statements;
};
