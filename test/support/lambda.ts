import { randomUUID } from 'node:crypto';
import { vi } from 'vitest';
import { AWS_ENV, World } from './world.js';

export type Lambda = typeof import('../../src/entry/lambda.js');

/**
 * The Lambda entry as a new execution environment loads it: nothing kept from an earlier invocation
 * (the configuration and logger it caches for the environment's lifetime). Modules of node_modules
 * are not reloaded; the project's are.
 */
export async function freshLambda(): Promise<Lambda> {
  vi.resetModules();
  return await import('../../src/entry/lambda.js');
}

/** A test's world on Secrets Manager and a fresh Lambda over it (the handler suites' beforeEach). */
export async function startLambdaWorld(): Promise<{ world: World; handler: Lambda['handler'] }> {
  const world = await World.start('aws');
  Object.assign(process.env, AWS_ENV);
  const { handler } = await freshLambda();
  return { world, handler };
}

/** The handler suites' afterEach: the configuration the test pointed the Lambda at is forgotten. */
export async function stopLambdaWorld(world: World): Promise<void> {
  delete process.env.TWILIO_KEY_ROTATOR_CONFIG;
  await world.close();
}

/** The Lambda context, with `remainingMs` left before its timeout. */
export const lambdaContext = (remainingMs = 60_000) => ({
  getRemainingTimeInMillis: () => remainingMs,
  awsRequestId: randomUUID(),
});

/** The EventBridge scheduled event Lambda receives (shape from the EventBridge docs). */
export const scheduledEvent = () => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/twilio-key-rotator-schedule'],
  detail: {},
});

/** One of Secrets Manager's rotation events for `secretId` (by ARN, as Secrets Manager sends it). */
export const rotationEvent = (world: World, secretId: string, Step: string, token: string) => ({
  Step,
  SecretId: world.sm.inspect(secretId)!.arn,
  ClientRequestToken: token,
});
