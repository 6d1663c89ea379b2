import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { startSecretsManagerEmulator, type SecretsManagerEmulator } from './secrets-manager/index.js';

// The latency model (common/controls.ts, latencyIncludesWork), told by what a held answer lets a test
// see, never by a clock: a latency far longer than any test waits, then the request is cancelled.

const LONG_MS = 30_000;
let sm: SecretsManagerEmulator;

beforeEach(async () => {
  sm = await startSecretsManagerEmulator();
  const token = '0'.repeat(32); // the SDK would make one up; a raw request must give it
  const body = JSON.stringify({ Name: 'latency/app', SecretString: '{}', ClientRequestToken: token });
  expect((await call('CreateSecret', body)).status).toBe(200);
});
afterEach(() => sm.close());

function call(operation: string, body: string, signal?: AbortSignal): Promise<Response> {
  const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `secretsmanager.${operation}` };
  return fetch(sm.url, { method: 'POST', headers, body, ...(signal ? { signal } : {}) });
}

/** Sends TagResource with the long latency; `answered` tells whether its answer has come. */
function tagHeld() {
  sm.controls.latencyMs = LONG_MS;
  const abort = new AbortController();
  const body = JSON.stringify({ SecretId: 'latency/app', Tags: [{ Key: 'k', Value: 'v' }] });
  let answered = false;
  const sent = call('TagResource', body, abort.signal).then(
    () => void (answered = true),
    (err: unknown) => err,
  );
  return { abort, sent, answered: () => answered };
}

it('does the work when a request arrives and holds the answer until its latency has passed', async () => {
  const held = tagHeld();
  await vi.waitFor(() => expect(sm.inspect('latency/app')?.tags).toEqual({ k: 'v' }));
  expect(held.answered()).toBe(false);
  expect(sm.controls.log.at(-1)?.status).toBeUndefined(); // beforeResponse has not run either
  held.abort.abort();
  expect(await held.sent).toMatchObject({ name: 'AbortError' });
});

it('with latencyIncludesWork off, does the work only once the latency has passed', async () => {
  sm.controls.latencyIncludesWork = false;
  const held = tagHeld();
  await vi.waitFor(() => expect(sm.controls.log.at(-1)?.operation).toBe('TagResource'));
  // Admitted, so the old model's sleep has begun; a few turns of the event loop change nothing.
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  expect(sm.inspect('latency/app')?.tags).toEqual({});
  held.abort.abort();
  expect(await held.sent).toMatchObject({ name: 'AbortError' });
});

it('answers at once when there is no latency', async () => {
  const body = JSON.stringify({ SecretId: 'latency/app' });
  const answer = await call('DescribeSecret', body);
  expect(answer.status).toBe(200);
  expect(await answer.json()).toMatchObject({ Name: 'latency/app' });
});
