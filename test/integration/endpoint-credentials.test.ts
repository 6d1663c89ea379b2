import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { endpointCredentials } from '../../src/adapters/retry.js';
import type { AwsStoreOptions } from '../../src/adapters/secrets/aws-store.js';
import { createLogger } from '../../src/log.js';
import { createRuntime } from '../../src/wiring.js';
import { AWS_ENV, World } from '../support/world.js';

/**
 * A client pointed at its own endpoint (a VPC endpoint) is handed the environment's keys; a Lambda's
 * are temporary, and AWS refuses them without their session token.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const SESSION = { ...AWS_ENV, AWS_SESSION_TOKEN: 'a-session-token-for-this-test' };

describe('endpointCredentials', () => {
  it('hands over the session token with the keys, and nothing without an endpoint or a key', () => {
    expect(endpointCredentials(SESSION, 'https://vpce.example')).toEqual({
      credentials: {
        accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID,
        secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY,
        sessionToken: SESSION.AWS_SESSION_TOKEN,
      },
    });
    expect(endpointCredentials(AWS_ENV, 'https://vpce.example').credentials).not.toHaveProperty('sessionToken');
    expect(endpointCredentials(SESSION, undefined)).toEqual({});
    expect(endpointCredentials({ AWS_SESSION_TOKEN: 'x' }, 'https://vpce.example')).toEqual({});
  });

  it("gives the Secrets Manager store a Lambda's session token when stores.aws.endpoint is set", async () => {
    world = await World.start('aws');
    await world.writeConfig();
    const config = await world.config();
    const seen: AwsStoreOptions[] = [];
    const runtime = createRuntime(config, {
      logger: createLogger({ stream: new PassThrough(), json: true }),
      env: SESSION,
      awsStore: (options) => {
        seen.push(options);
        return { read: () => Promise.resolve(undefined) } as never;
      },
    });
    runtime.store('aws');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.credentials).toEqual(endpointCredentials(SESSION, config.stores.aws?.endpoint).credentials);
    expect(seen[0]!.credentials?.sessionToken).toBe(SESSION.AWS_SESSION_TOKEN);
  });
});
