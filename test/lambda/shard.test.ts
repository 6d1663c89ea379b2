import { DeleteMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { SHARD_KIND } from '../../src/engine/shards.js';
import { freshLambda, type Lambda } from '../support/lambda.js';
import { startSqsEmulator, type SqsEmulator } from '../emulators/sqs/index.js';
import { authenticates, labelledKeys } from '../support/assertions.js';
import { SCHEDULED_EVENT } from '../support/lambda-child.js';
import { recordSecrets } from '../support/scan.js';
import { receiveAll, sqsClient, sqsEvent } from '../support/sqs-events.js';
import { AWS_ENV, World, type TargetSpec } from '../support/world.js';

let handler: Lambda['handler'];
let shardHandler: Lambda['shardHandler'];

/**
 * Sharding across invocations: the scheduled handler sends target names through the real
 * @aws-sdk/client-sqs to the SQS emulator; the messages are received from it and handed to the shard
 * worker as the SQS event Lambda's event source builds, against the Twilio and Secrets Manager emulators.
 */

const MARGIN_MS = 20_000; // ROTATOR_SAFETY_MARGIN_MS's default
let sqs: SqsEmulator;
let client: SQSClient;
let world: World;
let queueUrl: string;
let logs: string[];

const context = (remainingMs = 60_000) => ({ getRemainingTimeInMillis: () => remainingMs, awsRequestId: randomUUID() });
const scheduled = () => ({ ...SCHEDULED_EVENT, id: randomUUID() });
const sendCalls = () => sqs.controls.log.filter((e) => e.operation === 'SendMessageBatch');
const names = (n: number): TargetSpec[] => Array.from({ length: n }, (_, i) => ({ name: i === 0 ? 'app' : `app${i}` }));
const log = () => logs.join('');

async function configure(targets: TargetSpec[], extra: Record<string, unknown> = {}, paused: string[] = []) {
  const config = world.configObject(targets, extra) as { targets: { name: string; paused?: boolean }[] };
  for (const t of config.targets) if (paused.includes(t.name)) t.paused = true;
  await writeFile(world.configPath, stringify(config));
  process.env.TWILIO_KEY_ROTATOR_CONFIG = world.configPath;
}

beforeAll(async () => {
  sqs = await startSqsEmulator();
  client = sqsClient(sqs);
});
afterAll(async () => {
  client.destroy();
  await sqs.close();
});
beforeEach(async () => {
  world = await World.start('aws');
  await world.seedAdmin();
  world.resetLogs();
  queueUrl = sqs.createQueueDirect(`shards-${randomUUID()}`, { VisibilityTimeout: '30' });
  Object.assign(process.env, AWS_ENV, { AWS_REGION: 'us-east-1', ROTATOR_SHARD_QUEUE_URL: queueUrl });
  sqs.controls.reset();
  sqs.setClock(Date.now);
  logs = [];
  // The handler logs to stdout, as on Lambda; keep it for assertions and the leak scan.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    logs.push(chunk.toString());
    world.record(chunk.toString());
    return true;
  });
  ({ handler, shardHandler } = await freshLambda());
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const v of ['TWILIO_KEY_ROTATOR_CONFIG', 'ROTATOR_SHARD_QUEUE_URL', 'ROTATOR_SHARD_TARGETS_PER_MESSAGE'])
    delete process.env[v];
  await world.close();
});

describe('the scheduled handler with ROTATOR_SHARD_QUEUE_URL', () => {
  it("sends the scheduled targets' names through SQS instead of rotating; the worker rotates them", async () => {
    await configure(names(5), {}, ['app2']);
    process.env.ROTATOR_SHARD_TARGETS_PER_MESSAGE = '2';
    expect(await handler(scheduled(), context())).toEqual({ sharded: { messages: 2, targets: 4 } });
    expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    expect(sendCalls()).toHaveLength(1); // both messages in one SendMessageBatch

    const messages = await receiveAll(client, queueUrl);
    const bodies = messages.map((m) => JSON.parse(m.Body!) as Record<string, unknown>);
    expect(bodies.map((b) => Object.keys(b).sort())).toEqual(
      Array(2).fill(['kind', 'parts', 'part', 'run', 'targets', 'version'].sort()),
    );
    expect(bodies.map((b) => b.kind)).toEqual([SHARD_KIND, SHARD_KIND]);
    expect(bodies.flatMap((b) => b.targets as string[]).sort()).toEqual(['app', 'app1', 'app3', 'app4']);

    const out = await shardHandler(sqsEvent(messages, queueUrl), context());
    expect(out).toEqual({ batchItemFailures: [] });
    for (const name of ['app', 'app1', 'app3', 'app4']) {
      const { current } = await labelledKeys(world, name === 'app' ? 'twilio/app' : `twilio/${name}`);
      expect(await authenticates(world, current), name).toBe(true);
    }
    expect(world.sm.inspect('twilio/app2')).toBeUndefined(); // paused: never sent
    // Names only: no credential the emulators ever issued (the admin token, every new key) is in a body.
    for (const secret of world.twilio.issuedSecrets())
      for (const m of messages) expect(m.Body!.includes(secret)).toBe(false);
  });

  it('fails loudly naming the targets not sent when SQS refuses them; throttles and 5xx are retried', async () => {
    await configure(names(11));
    process.env.ROTATOR_SHARD_TARGETS_PER_MESSAGE = '1';
    sqs.controls.setFaults({ operations: ['SendMessageBatch'], sequence: ['throttle', 'server-error'] });
    expect(await handler(scheduled(), context())).toEqual({ sharded: { messages: 11, targets: 11 } });
    expect(sendCalls().map((c) => c.status)).toEqual([403, 500, 200, 200]); // 10 + 1 messages
    expect(sqs.messages(queueUrl)).toHaveLength(11);

    sqs.controls.reset();
    // world's retry.attempts is 4: the first batch fails four times, the second is not tried.
    sqs.controls.setFaults({ operations: ['SendMessageBatch'], sequence: Array(4).fill('server-error') });
    await expect(handler(scheduled(), context())).rejects.toThrow(
      new RegExp(
        String.raw`11 of 11 shard messages were not sent to shards-[\w-]+, so 11 targets wait for the next ` +
          String.raw`scheduled run: app, app1, app2, .* app10\. First reason: SQS SendMessageBatch failed: ` +
          String.raw`InternalFailure \(HTTP 500\)`,
      ),
    );
    expect(sendCalls()).toHaveLength(4);
    const line = logs.find((l) => l.includes('message 11/11 not sent'));
    expect(line).toMatch(/"level":"error"/);
    expect(line).toContain('message 11/11 not sent (targets app10): not tried after: SQS SendMessageBatch failed');

    process.env.ROTATOR_SHARD_QUEUE_URL = `${sqs.url}/${sqs.accountId}/no-such-queue`;
    await expect(handler(scheduled(), context())).rejects.toThrow(
      /QueueDoesNotExist.*ROTATOR_SHARD_QUEUE_URL names no queue/,
    );
  });
});

describe('the shard worker', () => {
  it('reports in batchItemFailures the message it ran out of time for, and only that one', async () => {
    // One target at a time, in configuration order; per-request timeouts and the retry budget far
    // beyond the held request, so only the invocation's deadline can cut it.
    await configure(names(2), {
      concurrency: { targets: 1 },
      twilio: { baseUrl: world.twilio.url, timeoutSeconds: 60 },
      retry: { attempts: 4, budgetSeconds: 60, minDelayMs: 5 },
    });
    process.env.ROTATOR_SHARD_TARGETS_PER_MESSAGE = '1';
    await handler(scheduled(), context());
    const messages = await receiveAll(client, queueUrl);
    const event = sqsEvent(messages, queueUrl);
    const of = (name: string) =>
      event.Records.find((r) => (JSON.parse(r.body) as { targets: string[] }).targets[0] === name)!.messageId;
    // app's key is created at once; app1's creation is held far past the deadline, which cuts it.
    world.twilio.controls.setFaults({ operations: ['CreateKey'], sequence: ['ok', 'slow'], slowMs: 10_000 });
    const out = await shardHandler(event, context(MARGIN_MS + 4_000));
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: of('app1') }] });
    expect(await authenticates(world, (await labelledKeys(world, 'twilio/app')).current)).toBe(true);
    expect(log()).toMatch(/out of time for 1 message\(s\), which SQS delivers again/);
  });

  it('is delivered again what it did not start, and finishes it on the next delivery', async () => {
    await configure(names(2));
    await handler(scheduled(), context());
    const first = await receiveAll(client, queueUrl);
    // Inside the safety margin nothing starts: the message comes back.
    expect(await shardHandler(sqsEvent(first, queueUrl), context(MARGIN_MS - 1))).toEqual({
      batchItemFailures: [{ itemIdentifier: first[0]!.MessageId }],
    });
    expect(world.mutatingCalls()).toEqual({ twilio: 0, sm: 0 });
    // As the event source does: the failed message stays; after its visibility timeout SQS hands it out again.
    sqs.setClock(() => Date.now() + 31_000);
    const again = await receiveAll(client, queueUrl);
    expect(again.map((m) => [m.MessageId, m.Attributes?.ApproximateReceiveCount])).toEqual([
      [first[0]!.MessageId, '2'],
    ]);
    // `handler` takes an SQS event as the worker does: it never sends the fleet to the queue again.
    const sent = sqs.messages(queueUrl).length;
    expect(await handler(sqsEvent(again, queueUrl), context())).toEqual({ batchItemFailures: [] });
    expect(sqs.messages(queueUrl)).toHaveLength(sent);
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: again[0]!.ReceiptHandle }));
    for (const secretId of ['twilio/app', 'twilio/app1'])
      expect(await authenticates(world, (await labelledKeys(world, secretId)).current)).toBe(true);
  });

  it('drops bodies that are not shard messages and names no target has, logging no content', async () => {
    await configure(names(2));
    const planted = `SK${'f'.repeat(32)}:${randomUUID()}${randomUUID()}`;
    recordSecrets([planted]); // the run-wide leak scan looks for it in everything printed
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'a', MessageBody: `{"apiKeySecret":"${planted}"` },
          { Id: 'b', MessageBody: JSON.stringify({ kind: 'other', secret: planted }) },
          { Id: 'c', MessageBody: JSON.stringify({ kind: SHARD_KIND, version: 1, targets: ['app', 'retired'] }) },
        ],
      }),
    );
    const messages = await receiveAll(client, queueUrl);
    expect(await shardHandler(sqsEvent(messages, queueUrl), context())).toEqual({ batchItemFailures: [] });
    expect(await authenticates(world, (await labelledKeys(world, 'twilio/app')).current)).toBe(true);
    expect(world.sm.inspect('twilio/app1')).toBeUndefined(); // not named
    const bytes = Buffer.byteLength(`{"apiKeySecret":"${planted}"`);
    expect(log()).toContain(`dropped a message that is not a shard message (the body is not JSON; ${bytes} bytes)`);
    expect(log()).toContain(
      'dropped a message that is not a shard message (kind is not \\"twilio-key-rotator/shard\\"; ',
    );
    expect(log()).toContain('dropped 1 name no configured target has: retired (the configuration changed');
    expect(log()).not.toContain(planted.slice(0, 20));
  });

  it('refuses anything but an SQS event at its own entry', async () => {
    await configure(names(1));
    await expect(shardHandler(scheduled(), context())).rejects.toThrow(/takes the events of an SQS event source/);
    expect(sendCalls()).toHaveLength(0);
  });
});
