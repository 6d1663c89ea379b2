import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { keySidsIn } from '../../src/core/secret-values.js';
import { lambdaContext, rotationEvent, startLambdaWorld, stopLambdaWorld, type Lambda } from '../support/lambda.js';
import type { World } from '../support/world.js';

/**
 * Secrets Manager's rotation protocol on an oauth-app secret, through the Lambda handler with the real
 * SDK against the emulators: createSecret makes an app and stores it as AWSPENDING, testSecret proves
 * it with a token and a Bearer read, finishSecret promotes it, and the old app lives on until the
 * scheduled run's consumer gate passes.
 */

const SECRET = 'twilio/oauth';
let world: World;
let handler: Lambda['handler'];
const context = () => lambdaContext();
const event = (Step: string, token: string) => rotationEvent(world, SECRET, Step, token);

beforeEach(async () => void ({ world, handler } = await startLambdaWorld()));
afterEach(() => stopLambdaWorld(world));

async function configure(gate: Record<string, unknown>) {
  await world.seedAdmin('auth-token');
  const config = world.configObject([]);
  config.targets = [
    {
      name: 'oauth',
      kind: 'oauth-app',
      accountSid: world.accountSid,
      policy: { allow: ['/twilio/messaging/messages/list'] },
      friendlyNamePrefix: 'rot-oauth-',
      secret: { store: 'aws', secretId: SECRET },
      admin: { store: 'aws', secretId: 'twilio/admin' },
      gate,
    },
  ];
  await writeFile(world.configPath, stringify(config));
  process.env.TWILIO_KEY_ROTATOR_CONFIG = world.configPath;
}

const clientId = async (stage: string) => {
  const v = (await world.store().read(SECRET))?.versions.find((x) => x.stages.includes(stage));
  return v?.value === undefined ? undefined : (JSON.parse(v.value) as { clientId: string }).clientId;
};

describe('Secrets Manager rotation protocol, OAuth-app secret', () => {
  it('creates, proves and promotes a new app once per token; the old app waits for the gate', async () => {
    await configure({ minOverlapSeconds: 0, maxWaitSeconds: 86_400, manualConfirm: true });
    expect((await world.cli(['rotate'])).code).toBe(0);
    const old = await clientId('AWSCURRENT');
    const token = randomUUID();
    world.sm.beginRotation(SECRET, token);
    for (const step of ['createSecret', 'createSecret', 'setSecret', 'testSecret', 'finishSecret', 'finishSecret'])
      await handler(event(step, token), context());
    const current = await clientId('AWSCURRENT');
    expect(current).not.toBe(old);
    expect(await clientId('AWSPREVIOUS')).toBe(old);
    expect(world.twilio.controls.log.filter((e) => e.operation === 'CreateOAuthApp')).toHaveLength(2);
    expect(world.twilio.listOAuthApps().map((a) => a.sid)).toEqual([old, current]);

    // The scheduled run waits at the gate (a confirm), and only then deletes the old app.
    await handler(event('createSecret', token), context());
    expect(world.twilio.listOAuthApps()).toHaveLength(2);
    expect((await world.cli(['confirm', 'oauth'])).code).toBe(0);
    expect((await world.cli(['rotate'])).code).toBe(0);
    expect(world.twilio.listOAuthApps().map((a) => a.sid)).toEqual([current]);
  });

  it('counts an OAuth client ID written in a value that does not parse as referenced', () => {
    const id = `OQ${'a1'.repeat(16)}`;
    expect(keySidsIn(`{"clientId":"${id}", broken`)).toEqual([id]);
  });
});
