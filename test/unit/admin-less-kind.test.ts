import { describe, expect, it } from 'vitest';
import type { RotatorConfig } from '../../src/config/types.js';
import { rotate } from '../../src/engine/commands.js';
import { putSecret } from '../../src/engine/secret-put.js';
import { planShards } from '../../src/engine/shards.js';
import { UsageError } from '../../src/errors.js';
import { CounterService, type CounterTarget } from '../conformance/counter-kind.js';
import '../conformance/kinds.js';
import { AC, DAY, fakeTokenWorld, fakeWorld } from '../support/fakes.js';

/**
 * A kind without an admin credential is first-class (docs/architecture.md): configuring one beside
 * API keys must not break them. The conformance suite's toy counter kind is such a kind; its target
 * type joins TargetConfig (test/conformance/kinds.ts), so these configurations need no cast.
 */
const counter: CounterTarget = {
  kind: 'counter',
  name: 'ctr',
  accountSid: AC,
  secret: { store: 'file', secretId: 'counter/app' },
  maxAgeMs: 30 * DAY,
  gate: { minOverlapMs: 0, maxWaitMs: 7 * DAY, manualConfirm: false, probes: [] },
  paused: false,
};

describe('a configured kind without an admin credential', () => {
  it('leaves API-key targets of the same configuration rotating', async () => {
    const w = await fakeWorld();
    const config: RotatorConfig = { ...w.config, targets: [...w.config.targets, counter] };
    const runtime = { ...w.runtime, ports: { counter: new CounterService(() => w.now()) } };
    const results = await rotate(config, runtime, {});
    expect(results.map((r) => [r.target, r.kind])).toEqual([
      ['app', 'done'],
      ['ctr', 'done'],
    ]);
  });

  it('leaves `secret put` able to say which secrets the configuration names', async () => {
    const w = await fakeWorld();
    const config: RotatorConfig = { ...w.config, targets: [...w.config.targets, counter] };
    const put = putSecret(config, w.runtime, { secretId: 'nope', store: 'file', value: 'x', replace: false });
    await expect(put).rejects.toThrow(UsageError);
    await expect(put).rejects.toThrow('"twilio/app", "twilio/admin", "counter/app"');
  });

  it("leaves the scheduled Lambda's shards planned beside an Auth Token target", async () => {
    const w = await fakeTokenWorld();
    const elsewhere = { ...counter, accountSid: `AC${'b'.repeat(32)}` };
    const config: RotatorConfig = { ...w.config, targets: [...w.config.targets, elsewhere] };
    expect(planShards(config, ['token', 'ctr'], 10).flat().sort()).toEqual(['ctr', 'token']);
  });
});
