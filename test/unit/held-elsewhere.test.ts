import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/adapters/secrets/memory-store.js';
import type { RotatorConfig, TargetConfig } from '../../src/config/types.js';
import type { SecretStore } from '../../src/core/ports.js';
import type { Runtime } from '../../src/core/runtime.js';
import { createRunScope } from '../../src/engine/scope.js';

/** What other targets' secrets on an account hold, looked at once for many callers, never staler than asked. */

const AC = `AC${'1'.repeat(32)}`;
const sid = (n: number) => `SK${n.toString(16).padStart(32, '0')}`;
const token = (n: number) => n.toString(16).padStart(32, '0');

async function world(count: number) {
  const real = memoryStore();
  let reads = 0;
  let gate: Promise<void> | undefined;
  const store: SecretStore = {
    ...real,
    read: async (id, options) => {
      reads++;
      const answer = await real.read(id, options);
      await gate;
      return answer;
    },
  };
  const targets = Array.from({ length: count }, (_, i) => ({
    name: `app-${i}`,
    kind: 'api-key',
    accountSid: AC,
    secret: { store: 'file', secretId: `app-${i}` },
    admin: { store: 'file', secretId: 'admin' },
  })) as unknown as TargetConfig[];
  for (const [i, t] of targets.entries()) {
    const value = JSON.stringify({ accountSid: AC, apiKeySid: sid(i), apiKeySecret: 'x' });
    await real.create(t.secret.secretId, token(i + 1), value);
  }
  const config = { targets, fleets: [] } as unknown as RotatorConfig;
  const runtime = { store: () => store } as unknown as Runtime;
  const scope = createRunScope(config, runtime);
  return {
    real,
    targets,
    scope,
    reads: () => reads,
    hold: () => {
      let release: () => void = () => undefined;
      gate = new Promise<void>((resolve) => (release = resolve));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

describe('keys held elsewhere', () => {
  it("tells each target the keys the account's other secrets hold, never its own", async () => {
    const w = await world(3);
    const held = await w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    expect([...held]).toEqual([
      [sid(1), 'app-1'],
      [sid(2), 'app-2'],
    ]);
  });

  it('serves fresh callers that ask at the same moment with one look, not one per caller', async () => {
    const w = await world(30);
    const release = w.hold();
    const asked = w.targets.map((t) => w.scope.heldElsewhere!(t, { fresh: true }));
    release();
    const answers = await Promise.all(asked);
    // The first caller's look, then one look shared by the 29 that asked while it ran: 60 reads, not 30 × 29.
    expect(w.reads()).toBe(60);
    expect(answers.every((held, i) => held.size === 29 && !held.has(sid(i)))).toBe(true);
  });

  it('shows a fresh caller a write made after a look under way began', async () => {
    const w = await world(3);
    const release = w.hold();
    const early = w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    await w.real.putCurrent('app-2', token(99), JSON.stringify({ accountSid: AC, apiKeySid: sid(99) }));
    const late = w.scope.heldElsewhere!(w.targets[0]!, { fresh: true });
    release();
    await early;
    expect((await late).get(sid(99))).toBe('app-2');
  });
});
