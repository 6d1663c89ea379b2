import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

describe('shipped configuration files', () => {
  it('config/example.yaml is valid', async () => {
    const config = await loadConfig('config/example.yaml', {
      TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
      PROBE_TOKEN: 'x',
    });
    expect(config.targets.map((t) => t.name)).toEqual(['messaging', 'notifier', 'billing-oauth']);
  });

  it('config/sandbox.yaml is valid', async () => {
    const config = await loadConfig('config/sandbox.yaml', { TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}` });
    expect(config.targets[0]?.gate.minOverlapMs).toBe(3000);
  });
});
