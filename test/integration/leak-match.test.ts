import { afterEach, describe, expect, it } from 'vitest';
import { tokenFingerprint } from '../../src/credentials/auth-token/shape.js';
import { matchLeak } from '../../src/engine/leak-match.js';
import { World } from '../support/world.js';

/** Matching a leak report to a target by reference, against real stored secrets (file store). */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('leak matching', () => {
  it('finds an Auth Token target by the token or its fingerprint, and nothing by another token', async () => {
    world = await World.start('file');
    const token = await world.seedToken();
    await world.seedAdmin('main');
    const sid = await world.seedCurrentKey();
    await world.writeConfig([{ kind: 'auth-token' }, { name: 'app', secretId: 'twilio/app' }]);
    const config = await world.config();
    const runtime = world.runtime(config);
    const names = async (leak: Parameters<typeof matchLeak>[2]) =>
      (await matchLeak(config, runtime, leak)).matches.map((m) => [m.target.name, m.ref, m.stage, m.retired]);
    const fp = tokenFingerprint(token);
    expect(await names({ tokenFingerprint: fp })).toEqual([['token', fp, 'AWSCURRENT', false]]);
    expect(await names({ credential: token })).toEqual([['token', fp, 'AWSCURRENT', false]]);
    expect(await names({ credential: sid })).toEqual([['app', sid, 'AWSCURRENT', false]]);
    expect(await names({ credential: `${token}x` })).toEqual([]);
    // A key SID never matches a token fingerprint, nor a fingerprint a key.
    expect(await names({ keySid: sid.replace(/.$/, (c) => (c === '0' ? '1' : '0')) })).toEqual([]);
    runtime.close?.();
  });
});
