import { ACCOUNT_SID_SLOT } from '../src/config/fleets.js';
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig, parseYaml } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import type { RotatorConfig } from '../src/config/types.js';
import { MAX_TARGETS_PER_MESSAGE } from '../src/engine/shards.js';

/**
 * What serverless.yml needs from the rotator's configuration, derived with the rotator's own loader
 * (the same ${NAME} substitution and the same validation the Lambda runs at start-up):
 *  - `environment`: every variable the configuration reads, with the value it has where you deploy
 *    from, so the functions start with what the compiled configuration needs;
 *  - `scheduledEnvironment`: the same, plus the shard queue's URL when sharding is on;
 *  - `statements`: IAM for exactly the secrets the configuration names (and, sharding, for sending
 *    to exactly the shard queue).
 * A probe's header value (gate.probes[].headerValueEnv) is a secret: it never goes into the template
 * as text, only as a CloudFormation dynamic reference ({{resolve:secretsmanager:…}}), resolved by
 * CloudFormation at deploy time.
 * Loaded by scripts/serverless-config.cjs (osls runs that as CommonJS).
 */

/** Set by Lambda itself; a function may not set them (and the deploy machine's values are not the function's). */
const LAMBDA_RESERVED = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

const DYNAMIC_REFERENCE = /^\{\{resolve:secretsmanager:[^}]+\}\}$/;

export const ROTATED_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
  'secretsmanager:ListSecretVersionIds',
  'secretsmanager:TagResource',
  'secretsmanager:CreateSecret',
];
export const ADMIN_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:ListSecretVersionIds',
];

/** A deploy problem, told in one message without a stack (osls prints what it is handed). */
export class DeployConfigError extends Error {
  override name = 'DeployConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.stack = `${this.name}: ${message}`;
  }
}

export interface DeployOptions {
  /** The configuration compiled into the bundle. */
  configFile: string;
  /** The environment you deploy from. */
  env: NodeJS.ProcessEnv;
  /** The stack's region: what the functions will see as AWS_REGION. */
  region: string;
  /** A customer-managed KMS key the secrets use. */
  kmsKeyArn?: string;
  /** `--sharding on`: the scheduled function sends target names to the shard queue (serverless.yml). */
  sharding?: Sharding;
}

export interface Sharding {
  targetsPerMessage: number;
}

export interface DeployFacts {
  environment: Record<string, string>;
  scheduledEnvironment: Record<string, unknown>;
  statements: Record<string, unknown>[];
}

/** The shard queue's logical id in serverless.yml. */
export const SHARD_QUEUE = 'RotatorShardQueue';

/**
 * serverless.yml's sharding params, checked: `sharding` on or off (default off), `targets-per-message`
 * and `shard-concurrency` (used by serverless.yml itself; checked here so that a value that would
 * not take effect is refused). Undefined when sharding is off.
 */
export function shardingOptions(params: {
  sharding?: unknown;
  targetsPerMessage?: unknown;
  concurrency?: unknown;
}): Sharding | undefined {
  const raw = params.sharding ?? 'off';
  const switched = typeof raw === 'string' ? raw : JSON.stringify(raw);
  if (switched !== 'on' && switched !== 'off')
    throw new DeployConfigError(`the sharding param must be "on" or "off", not ${JSON.stringify(switched)}`);
  const whole = (name: string, value: unknown, min: number, max: number): number => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(n >= min && n <= max))
      throw new DeployConfigError(
        `the ${name} param must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`,
      );
    return n;
  };
  const targetsPerMessage = whole('targets-per-message', params.targetsPerMessage ?? 20, 1, MAX_TARGETS_PER_MESSAGE);
  // The event source's MaximumConcurrency takes 2 to 1000.
  whole('shard-concurrency', params.concurrency ?? 4, 2, 1000);
  return switched === 'on' ? { targetsPerMessage } : undefined;
}

/** Lambda's instruction set architectures; the bundle is plain JavaScript and runs on both. */
export const ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** serverless.yml's `architecture` param, checked (default x86_64). */
export function architectureOption(value: unknown): Architecture {
  const text = value === undefined ? 'x86_64' : typeof value === 'string' ? value : JSON.stringify(value);
  const found = ARCHITECTURES.find((a) => a === text);
  if (!found)
    throw new DeployConfigError(`the architecture param must be "x86_64" or "arm64", not ${JSON.stringify(text)}`);
  return found;
}

export interface StackParams {
  sharding?: unknown;
  targetsPerMessage?: unknown;
  concurrency?: unknown;
  architecture?: unknown;
}

export interface StackFacts extends DeployFacts {
  sharding: 'on' | 'off';
  architecture: Architecture;
}

/**
 * Everything serverless.yml derives (its custom.deploy), with every problem in one DeployConfigError:
 * the params' and the configuration's together, so that one osls run names them all.
 */
export async function stackFacts(
  options: Omit<DeployOptions, 'sharding'> & { params: StackParams },
): Promise<StackFacts> {
  const problems: string[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof DeployConfigError)) throw err;
      problems.push(err.message);
      return undefined;
    }
  };
  const { params, ...rest } = options;
  let sharding: Sharding | undefined;
  const shardingOk = attempt(() => {
    sharding = shardingOptions(params);
    return true;
  });
  const architecture = attempt(() => architectureOption(params.architecture));
  let facts: DeployFacts | undefined;
  try {
    facts = await deployFacts({ ...rest, ...(sharding ? { sharding } : {}) });
  } catch (err) {
    if (!(err instanceof DeployConfigError)) throw err;
    problems.push(err.message);
  }
  if (problems.length > 0 || !facts || !shardingOk || !architecture) throw new DeployConfigError(problems.join('\n'));
  return { ...facts, sharding: sharding ? 'on' : 'off', architecture };
}

/** Secrets Manager appends -XXXXXX to a secret's ARN; a name is matched with that suffix. */
function arnFor(secretId: string, region: string): unknown {
  if (secretId.startsWith('arn:')) return secretId;
  return { 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:${region}:\${AWS::AccountId}:secret:${secretId}-??????` };
}

export async function deployFacts(options: DeployOptions): Promise<DeployFacts> {
  if (!existsSync(options.configFile))
    throw new DeployConfigError(
      `${options.configFile} does not exist: copy config/example.yaml to config/rotator.yaml and ` +
        `edit it (README "Deploy to AWS"), or point TWILIO_KEY_ROTATOR_CONFIG at your configuration`,
    );
  // The functions run with AWS_REGION set to the stack's region; interpolate as they will.
  const lambdaEnv: NodeJS.ProcessEnv = {
    ...options.env,
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
  };
  const read = new Set<string>();
  const recording = new Proxy(lambdaEnv, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return Reflect.get(target, name) as unknown;
    },
  });
  let config: RotatorConfig;
  try {
    config = await loadConfig(options.configFile, recording);
  } catch (err) {
    const where = 'set the variables in the environment you deploy from';
    const hint = `(${where}: serverless.yml hands the functions what the configuration reads)`;
    // The loader checks a field named by a variable only once that field's target is well-formed, so
    // one unset variable can hide the next: name every one the file reads, in one go.
    const message =
      err instanceof ConfigError ? withEveryUnset(err, options.configFile, lambdaEnv).message : String(err);
    throw new DeployConfigError(`${err instanceof Error ? message : String(err)}\n${hint}`, { cause: err });
  }
  const environment = environmentFor(config, read, options.env);
  const scheduledEnvironment = options.sharding
    ? {
        ...environment,
        ROTATOR_SHARD_QUEUE_URL: { Ref: SHARD_QUEUE },
        ROTATOR_SHARD_TARGETS_PER_MESSAGE: String(options.sharding.targetsPerMessage),
      }
    : environment;
  return { environment, scheduledEnvironment, statements: statementsFor(config, options) };
}

/** The loader's problems plus each variable the file reads that is unset and not among them yet. */
function withEveryUnset(err: ConfigError, configFile: string, env: NodeJS.ProcessEnv): ConfigError {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(configFile, 'utf8'), configFile);
  } catch {
    return err; // a syntax error: the loader's message says so
  }
  const issues = [...err.issues];
  const named = (name: string) => issues.some((i) => i.message.startsWith(`environment variable ${name} is not set`));
  const visit = (value: unknown, path: string[], key: string): void => {
    const at = path.join('.');
    if (typeof value === 'string') {
      const names = [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => [
        m[1]!,
        ` (referenced as ${m[0]})`,
      ]);
      // A field whose name ends in Env names a variable the loader requires (probes' headerValueEnv,
      // the alert channels' secrets).
      if (key.endsWith('Env') && /^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) names.push([value, '']);
      for (const [name, referenced] of names)
        if (!env[name!] && !named(name!))
          issues.push({ path: at, message: `environment variable ${name} is not set${referenced}` });
    } else if (Array.isArray(value)) value.forEach((v, i) => visit(v, [...path, String(i)], ''));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, [...path, k], k);
  };
  visit(doc, [], '');
  return issues.length === err.issues.length ? err : new ConfigError(issues, err.source);
}

function environmentFor(
  config: RotatorConfig,
  read: ReadonlySet<string>,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const secret = new Map<string, string>();
  config.targets.forEach((t, i) =>
    t.gate.probes.forEach((p, j) => {
      if (p.headerValueEnv) secret.set(p.headerValueEnv, `targets.${i}.gate.probes.${j}.headerValueEnv`);
    }),
  );
  config.fleets.forEach((f, i) =>
    f.member(f.parentAccountSid).gate.probes.forEach((p, j) => {
      if (p.headerValueEnv) secret.set(p.headerValueEnv, `fleets.${i}.template.gate.probes.${j}.headerValueEnv`);
    }),
  );
  // Alert channels' secrets (a Slack webhook URL, a PagerDuty routing key, a webhook signing secret).
  config.alerts.channels.forEach((c, i) => {
    const [field, name] =
      c.type === 'slack'
        ? ['webhookUrlEnv', c.webhookUrlEnv]
        : c.type === 'pagerduty'
          ? ['routingKeyEnv', c.routingKeyEnv]
          : c.type === 'webhook'
            ? ['secretEnv', c.secretEnv]
            : [undefined, undefined];
    if (field && name) secret.set(name, `alerts.channels.${i}.${field}`);
  });
  const environment: Record<string, string> = {};
  const problems: string[] = [];
  for (const name of [...read].sort()) {
    const value = env[name];
    // Unset here means the configuration used its ${NAME:-default}; the function will too.
    if (LAMBDA_RESERVED.has(name) || value === undefined || value === '') continue;
    const field = secret.get(name);
    if (field !== undefined && !DYNAMIC_REFERENCE.test(value))
      problems.push(
        `${name} (${field}) is a secret and must not be written into the CloudFormation template: ` +
          `set ${name} to a dynamic reference, e.g. ` +
          `'{{resolve:secretsmanager:prod/twilio/probe-token:SecretString:token}}'`,
      );
    else if (field === undefined && value.includes('{{resolve:'))
      problems.push(
        `${name} is substituted into the configuration, which needs its value when the stack is ` +
          `packaged (the IAM policy names the secrets): set it to the value itself, not a dynamic ` +
          `reference`,
      );
    else environment[name] = value;
  }
  if (problems.length > 0) throw new DeployConfigError(problems.join('\n'));
  return environment;
}

function statementsFor(config: RotatorConfig, options: DeployOptions): Record<string, unknown>[] {
  const region = config.stores.aws?.region ?? options.region;
  const targets = config.targets.filter((t) => t.secret.store === 'aws');
  const fleets = config.fleets.filter((f) => f.secret.store === 'aws');
  if (targets.length === 0 && fleets.length === 0)
    throw new DeployConfigError(
      `${options.configFile}: no target uses store "aws", so the Lambda has nothing to rotate; ` +
        `use secret: { store: aws, secretId: … }`,
    );
  // A fleet's member secrets are named by subaccount SID, unknown until a run lists them: one pattern
  // per fleet, the SID replaced by AC* (IAM's wildcard), still limited to the template's name.
  const rotated = new Set([
    ...targets.map((t) => t.secret.secretId),
    ...fleets.map((f) => f.secret.secretId.split(ACCOUNT_SID_SLOT).join('AC*')),
  ]);
  const admins = [
    ...new Set(
      [...config.targets, ...config.fleets].flatMap(({ admin }) =>
        admin?.store === 'aws' && !rotated.has(admin.secretId) ? [admin.secretId] : [],
      ),
    ),
  ];
  const statements: Record<string, unknown>[] = [
    { Effect: 'Allow', Action: ROTATED_ACTIONS, Resource: [...rotated].map((id) => arnFor(id, region)) },
  ];
  if (admins.length > 0)
    statements.push({ Effect: 'Allow', Action: ADMIN_ACTIONS, Resource: admins.map((id) => arnFor(id, region)) });
  // The batched sweep (stores.aws.sweep: batched) lists secrets: these two actions take no resource ARN.
  if (config.stores.aws?.sweep === 'batched')
    statements.push({
      Effect: 'Allow',
      Action: ['secretsmanager:ListSecrets', 'secretsmanager:BatchGetSecretValue'],
      Resource: '*',
    });
  // CloudTrail evidence in the consumer gate (gate.cloudtrail): LookupEvents supports no resource-level
  // permissions, so it is granted on "*", and only when a target's or a fleet template's gate uses it.
  const trail =
    config.targets.some((t) => t.gate.cloudtrail) ||
    config.fleets.some((f) => f.member(f.parentAccountSid).gate.cloudtrail);
  if (trail) statements.push({ Effect: 'Allow', Action: 'cloudtrail:LookupEvents', Resource: '*' });
  // Alerts through SNS: Publish on exactly the configured topics.
  const topics = [...new Set(config.alerts.channels.flatMap((c) => (c.type === 'sns' ? [c.topicArn] : [])))];
  if (topics.length > 0) statements.push({ Effect: 'Allow', Action: 'sns:Publish', Resource: topics });
  // Sharding: the scheduled function sends to the shard queue (SendMessageBatch is authorised as
  // sqs:SendMessage); the worker's receive permissions come with its sqs event (osls adds them).
  if (options.sharding)
    statements.push({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [SHARD_QUEUE, 'Arn'] } });
  if (options.kmsKeyArn)
    statements.push({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: options.kmsKeyArn,
      Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
    });
  return statements;
}
