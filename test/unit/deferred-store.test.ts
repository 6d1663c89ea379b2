import { describe, expect, it } from 'vitest';
import { awsStore } from '../../src/adapters/secrets/aws-store.js';
import { deferredStore } from '../../src/adapters/secrets/deferred-store.js';
import { memoryStore } from '../../src/adapters/secrets/memory-store.js';
import { CURRENT, PENDING } from '../../src/core/labels.js';
import { AWS_STORE_SHAPE } from '../../src/wiring.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** The aws store is loaded on first use (CLI start-up); before that it must look exactly like itself. */

const T1 = 'a'.repeat(32);
const T2 = 'b'.repeat(32);
const retry = { attempts: 1, budgetMs: 1000, minDelayMs: 1 };
const methods = (o: object) => Object.keys(o).sort();

describe('deferredStore', () => {
  it.each([false, true])('has the methods of the Secrets Manager store (batchedSweep %s)', (batchedSweep) => {
    const real = awsStore({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', retry, batchedSweep });
    const load = () => Promise.reject(new Error('not loaded by looking'));
    expect(methods(deferredStore(load, AWS_STORE_SHAPE(batchedSweep)))).toEqual(methods(real));
  });

  it('loads the store on the first call, once, and forwards every call to it', async () => {
    const real = memoryStore();
    let loads = 0;
    const store = deferredStore(
      async () => {
        loads++;
        await Promise.resolve();
        return real;
      },
      { labels: false, listVersionIds: false, sweep: false },
    );
    expect(loads).toBe(0);
    const [none] = await Promise.all([store.read('s'), store.read('s')]);
    expect(none).toBeUndefined();
    expect(loads).toBe(1);
    expect(await store.create('s', T1, 'one')).toBe('stored');
    expect(await store.putPending('s', T2, 'two')).toBe('stored');
    await store.setTags('s', { 'rotator:x': 'y' });
    await store.promote('s', T2);
    const seen = await real.read('s');
    expect(seen?.versions.find((v) => v.versionId === T2)?.stages).toEqual([CURRENT]);
    expect(seen?.versions.some((v) => v.stages.includes(PENDING))).toBe(false);
    expect(seen?.tags).toEqual({ 'rotator:x': 'y' });
    expect(loads).toBe(1);
  });

  it('reports a store that failed to load on every call, without a call being made', async () => {
    const store = deferredStore(() => Promise.reject(new Error('cannot load the SDK')), AWS_STORE_SHAPE(false));
    await expect(store.read('s')).rejects.toThrow('cannot load the SDK');
    await expect(store.labels!('s')).rejects.toThrow('cannot load the SDK');
  });
});
