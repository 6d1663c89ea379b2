import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
// The SDK's own retry classification (what its retry strategy calls), so "throttling" means what the SDK means.
import { isThrottlingError } from '@smithy/core/retry';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSqsEmulator, SQS_OPERATIONS, type SqsEmulator } from './sqs/index.js';
import { md5OfAttributes } from './sqs/md5.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let sqs: SqsEmulator;
let client: SQSClient;
let n = 0;
let now = Date.now();
const queueName = (suffix = '') => `shard-${++n}${suffix}`;
const clientFor = (url: string, extra: Partial<ConstructorParameters<typeof SQSClient>[0]> = {}) =>
  new SQSClient({
    region: 'us-east-1',
    endpoint: url,
    credentials: { accessKeyId: 'AKIDSQSTEST', secretAccessKey: 'x' },
    maxAttempts: 1,
    ...extra,
  });
const create = async (Attributes?: Record<string, string>, name = queueName()) =>
  (await client.send(new CreateQueueCommand({ QueueName: name, ...(Attributes ? { Attributes } : {}) }))).QueueUrl!;
const rejects = (promise: Promise<unknown>, name: string, status: number, message?: RegExp) =>
  expect(promise).rejects.toMatchObject({
    name,
    $metadata: { httpStatusCode: status },
    ...(message ? { message: expect.stringMatching(message) as string } : {}),
  });
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const receive = (QueueUrl: string, extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}) =>
  client.send(new ReceiveMessageCommand({ QueueUrl, ...extra })).then((r) => r.Messages ?? []);

beforeAll(async () => {
  sqs = await startSqsEmulator();
  client = clientFor(sqs.url);
});
afterAll(async () => {
  client.destroy();
  await sqs.close();
});
beforeEach(() => {
  sqs.controls.reset();
  now = Date.now();
  sqs.setClock(() => now);
});

describe('SQS emulator through the real AWS SDK (AWS JSON 1.0, query-compatible)', () => {
  it('creates queues idempotently, finds them by name and reports their attributes', async () => {
    const name = queueName();
    const url = await create({ VisibilityTimeout: '60' }, name);
    expect(url).toBe(`${sqs.url}/123456789012/${name}`);
    expect(await create({ VisibilityTimeout: '60' }, name)).toBe(url);
    expect(await create(undefined, name)).toBe(url);
    expect((await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl).toBe(url);
    expect(
      (await client.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: '123456789012' }))).QueueUrl,
    ).toBe(url);

    const all = (await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })))
      .Attributes;
    expect(all).toMatchObject({
      QueueArn: `arn:aws:sqs:us-east-1:123456789012:${name}`,
      VisibilityTimeout: '60',
      DelaySeconds: '0',
      MaximumMessageSize: '1048576',
      MessageRetentionPeriod: '345600',
      ReceiveMessageWaitTimeSeconds: '0',
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
      ApproximateNumberOfMessagesDelayed: '0',
      CreatedTimestamp: String(Math.floor(now / 1000)),
    });
    expect(all!.FifoQueue).toBeUndefined();
    const some = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn', 'VisibilityTimeout'] }),
    );
    expect(Object.keys(some.Attributes!).sort()).toEqual(['QueueArn', 'VisibilityTimeout']);
    // "if you don't specify values for this parameter, the request returns empty results."
    expect((await client.send(new GetQueueAttributesCommand({ QueueUrl: url }))).Attributes).toBeUndefined();

    const fifo = await create({ FifoQueue: 'true', ContentBasedDeduplication: 'true' }, queueName('.fifo'));
    expect(
      (await client.send(new GetQueueAttributesCommand({ QueueUrl: fifo, AttributeNames: ['All'] }))).Attributes,
    ).toMatchObject({ FifoQueue: 'true', ContentBasedDeduplication: 'true', DeduplicationScope: 'queue' });
  });

  it('answers the documented queue errors with the query-compatible codes', async () => {
    const name = queueName();
    const url = await create({ VisibilityTimeout: '60' }, name);
    await rejects(
      create({ VisibilityTimeout: '61' }, name),
      'QueueNameExists',
      400,
      /different value for attribute VisibilityTimeout/,
    );
    await rejects(create(undefined, 'bad name'), 'InvalidParameterValue', 400, /alphanumeric/);
    await rejects(create(undefined, 'x'.repeat(81)), 'InvalidParameterValue', 400);
    await rejects(create({ FifoQueue: 'true' }), 'InvalidParameterValue', 400, /\.fifo/);
    await rejects(create(undefined, queueName('.fifo')), 'InvalidParameterValue', 400);
    await rejects(create({ Colour: 'blue' }), 'InvalidAttributeName', 400, /Unknown Attribute Colour/);
    await rejects(create({ ContentBasedDeduplication: 'true' }), 'InvalidAttributeName', 400);
    await rejects(create({ VisibilityTimeout: '43201' }), 'InvalidAttributeValue', 400, /VisibilityTimeout/);
    await rejects(create({ DelaySeconds: 'soon' }), 'InvalidAttributeValue', 400);
    await rejects(create({ RedrivePolicy: '{}' }), 'UnsupportedOperation', 400);
    const notFound = await client.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' })).catch((e: unknown) => e);
    expect(notFound).toMatchObject({
      name: 'QueueDoesNotExist',
      message: 'The specified queue does not exist.',
      Code: 'AWS.SimpleQueueService.NonExistentQueue',
      $metadata: { httpStatusCode: 400 },
    });
    await rejects(
      client.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: '999999999999' })),
      'QueueDoesNotExist',
      400,
    );
    await rejects(
      client.send(new SendMessageCommand({ QueueUrl: url.replace(name, 'gone'), MessageBody: 'x' })),
      'QueueDoesNotExist',
      400,
    );
    await rejects(
      client.send(new SendMessageCommand({ QueueUrl: `${sqs.url}/not-a-queue-path`, MessageBody: 'x' })),
      'InvalidAddress',
      404,
    );
    await rejects(
      client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['Colour' as 'All'] })),
      'InvalidAttributeName',
      400,
    );
  });

  it('sends and receives with the MD5s SQS computes (the SDK checks the body MD5)', async () => {
    const url = await create();
    const attributes = {
      attribName1: { DataType: 'String', StringValue: 'attribValue 1' },
      'shard.id': { DataType: 'Number', StringValue: '7' },
      'shard.blob': { DataType: 'Binary', BinaryValue: Buffer.from('Hello binary world!') },
    };
    const sent = await client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'rotate ✓ shard 7', MessageAttributes: attributes }),
    );
    expect(sent.MD5OfMessageBody).toBe(md5('rotate ✓ shard 7'));
    expect(sent.MD5OfMessageAttributes).toBe(md5OfAttributes(attributes));
    const [m] = await receive(url, {
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['shard.*'],
      MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp', 'SenderId'],
    });
    expect(m).toMatchObject({
      MessageId: sent.MessageId,
      Body: 'rotate ✓ shard 7',
      MD5OfBody: md5('rotate ✓ shard 7'),
      Attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(now), SenderId: 'AKIDSQSTEST' },
    });
    expect(Object.keys(m!.MessageAttributes!).sort()).toEqual(['shard.blob', 'shard.id']);
    expect(Buffer.from(m!.MessageAttributes!['shard.blob']!.BinaryValue!).toString()).toBe('Hello binary world!');
    // MD5OfMessageAttributes covers the attributes returned.
    expect(m!.MD5OfMessageAttributes).toBe(
      md5OfAttributes({ 'shard.id': attributes['shard.id'], 'shard.blob': attributes['shard.blob'] }),
    );
    expect(sqs.messages(url)).toMatchObject([{ messageId: sent.MessageId, state: 'in-flight', receiveCount: 1 }]);
  });

  it('computes MD5OfMessageAttributes by the Developer Guide algorithm (published vectors)', () => {
    expect(md5OfAttributes({ attribName1: { DataType: 'String', StringValue: 'attribValue 1' } })).toBe(
      '19e27d4e946b072f3f58da80d94fd778',
    );
    expect(
      md5OfAttributes({
        customNumberTypeAttrib: { DataType: 'Number.float', StringValue: '4563442423554324324264524243.32543234' },
      }),
    ).toBe('9fe1b90bbd9965bdf77bac517c7d2495');
    expect(
      md5OfAttributes({ binaryAttribute: { DataType: 'Binary', BinaryValue: Buffer.from('Hello binary world!') } }),
    ).toBe('31a92b15d92f8db860eda32aceb656c3');
  });

  it('hides a received message for its visibility timeout; undeleted, it comes back with a new handle', async () => {
    const url = await create({ VisibilityTimeout: '30' });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'job' }));
    const [first] = await receive(url, { MessageSystemAttributeNames: ['ApproximateReceiveCount'] });
    expect(sqs.counts(url)).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    expect(await receive(url)).toEqual([]);
    now += 29_999;
    expect(await receive(url)).toEqual([]);
    now += 1;
    const [second] = await receive(url, {
      VisibilityTimeout: 5,
      MessageSystemAttributeNames: ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp'],
    });
    expect(second).toMatchObject({ MessageId: first!.MessageId, Attributes: { ApproximateReceiveCount: '2' } });
    expect(second!.Attributes!.ApproximateFirstReceiveTimestamp).toBe(String(now - 30_000));
    expect(second!.ReceiptHandle).not.toBe(first!.ReceiptHandle);
    // An old receipt handle: "the request will succeed, but the message might not be deleted".
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first!.ReceiptHandle }));
    expect(sqs.messages(url)).toHaveLength(1);
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second!.ReceiptHandle }));
    expect(sqs.messages(url)).toEqual([]);
    // Deleting again is not an error.
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second!.ReceiptHandle }));
    await rejects(
      client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'not-a-handle' })),
      'ReceiptHandleIsInvalid',
      404,
      /not a valid receipt handle/,
    );
  });

  it('lets a message reappear on the wall clock too (no fake time)', async () => {
    sqs.setClock(Date.now);
    const url = await create();
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'job' }));
    expect(await receive(url, { VisibilityTimeout: 1 })).toHaveLength(1);
    expect(await receive(url)).toEqual([]);
    await new Promise((r) => setTimeout(r, 1050));
    expect(await receive(url)).toHaveLength(1);
  });

  it('changes visibility of an in-flight message, within the documented limits', async () => {
    const url = await create();
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'job' }));
    const [m] = await receive(url, { VisibilityTimeout: 10 });
    const change = (ReceiptHandle: string, VisibilityTimeout: number) =>
      client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle, VisibilityTimeout }));
    await change(m!.ReceiptHandle!, 100);
    now += 50_000;
    expect(sqs.counts(url).inFlight).toBe(1);
    await rejects(
      change(m!.ReceiptHandle!, 43_200),
      'InvalidParameterValue',
      400,
      /beyond the limit \[43200 seconds\]/,
    );
    await rejects(change(m!.ReceiptHandle!, 43_201), 'InvalidParameterValue', 400);
    await change(m!.ReceiptHandle!, 0);
    expect(sqs.counts(url)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    await rejects(change(m!.ReceiptHandle!, 10), 'MessageNotInflight', 400);
    const [again] = await receive(url);
    await rejects(change(m!.ReceiptHandle!, 10), 'InvalidParameterValue', 400, /ReceiptHandle is invalid/);
    await rejects(change('garbage', 10), 'ReceiptHandleIsInvalid', 404);
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again!.ReceiptHandle }));
    await rejects(change(again!.ReceiptHandle!, 10), 'InvalidParameterValue', 400, /does not exist/);
  });

  it('delays messages per message or per queue', async () => {
    const url = await create({ DelaySeconds: '5' });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'queue default' }));
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'own delay', DelaySeconds: 0 }));
    expect(sqs.counts(url)).toEqual({ visible: 1, inFlight: 0, delayed: 1 });
    expect((await receive(url, { MaxNumberOfMessages: 10 })).map((m) => m.Body)).toEqual(['own delay']);
    now += 5_000;
    expect((await receive(url, { MaxNumberOfMessages: 10 })).map((m) => m.Body)).toEqual(['queue default']);
    await rejects(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 })),
      'InvalidParameterValue',
      400,
      /DelaySeconds/,
    );
  });

  it('returns at most MaxNumberOfMessages (1-10) and long-polls for at most WaitTimeSeconds', async () => {
    sqs.setClock(Date.now);
    const url = await create();
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `body ${i}` })),
      }),
    );
    expect(await receive(url)).toHaveLength(1);
    expect(await receive(url, { MaxNumberOfMessages: 10 })).toHaveLength(9);
    await rejects(receive(url, { MaxNumberOfMessages: 11 }), 'InvalidParameterValue', 400, /Must be between 1 and 10/);
    await rejects(receive(url, { MaxNumberOfMessages: 0 }), 'InvalidParameterValue', 400);
    await rejects(receive(url, { WaitTimeSeconds: 21 }), 'InvalidParameterValue', 400);
    await rejects(receive(url, { VisibilityTimeout: 43_201 }), 'InvalidParameterValue', 400);

    const empty = await create();
    let t0 = Date.now();
    expect(await receive(empty, { WaitTimeSeconds: 1 })).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    t0 = Date.now();
    expect(await receive(empty)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(500);

    t0 = Date.now();
    const waiting = receive(empty, { WaitTimeSeconds: 10 });
    setTimeout(() => void client.send(new SendMessageCommand({ QueueUrl: empty, MessageBody: 'arrived' })), 150);
    expect((await waiting).map((m) => m.Body)).toEqual(['arrived']);
    expect(Date.now() - t0).toBeLessThan(2_000);

    const patient = await create({ ReceiveMessageWaitTimeSeconds: '1' });
    t0 = Date.now();
    expect(await receive(patient)).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  });

  it('rejects what SendMessage documents as invalid', async () => {
    const url = await create({ MaximumMessageSize: '1024' });
    const send = (input: Partial<ConstructorParameters<typeof SendMessageCommand>[0]>) =>
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', ...input }));
    await rejects(send({ MessageBody: 'bell \u0007' }), 'InvalidMessageContents', 400, /Invalid characters found/);
    await rejects(send({ MessageBody: '' }), 'MissingParameter', 400, /MessageBody/);
    await rejects(send({ MessageBody: 'x'.repeat(1025) }), 'InvalidParameterValue', 400, /shorter than 1024 bytes/);
    await expect(send({ MessageBody: 'x'.repeat(1024) })).resolves.toBeDefined();
    await rejects(
      send({
        MessageBody: 'x'.repeat(1000),
        MessageAttributes: { big: { DataType: 'String', StringValue: 'y'.repeat(30) } },
      }),
      'InvalidParameterValue',
      400,
    );
    await rejects(
      send({
        MessageAttributes: Object.fromEntries(
          Array.from({ length: 11 }, (_, i) => [`a${i}`, { DataType: 'String', StringValue: 'v' }]),
        ),
      }),
      'InvalidParameterValue',
      400,
      /exceeds the allowed maximum \[10\]/,
    );
    await rejects(
      send({ MessageAttributes: { 'AWS.x': { DataType: 'String', StringValue: 'v' } } }),
      'InvalidParameterValue',
      400,
    );
    await rejects(
      send({ MessageAttributes: { a: { DataType: 'Blob', StringValue: 'v' } } }),
      'InvalidParameterValue',
      400,
    );
    await rejects(
      send({ MessageAttributes: { a: { DataType: 'Number', StringValue: 'seven' } } }),
      'InvalidParameterValue',
      400,
    );
    await rejects(
      send({ MessageAttributes: { a: { DataType: 'String', StringValue: '' } } }),
      'InvalidParameterValue',
      400,
    );
    await rejects(send({ MessageDeduplicationId: 'd' }), 'InvalidParameterValue', 400, /not valid for this queue type/);
    await rejects(
      send({ MessageSystemAttributes: { AWSTraceHeader: { DataType: 'Number', StringValue: '1' } } }),
      'InvalidParameterValue',
      400,
    );
    const traced = await send({
      MessageSystemAttributes: {
        AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793' },
      },
    });
    expect(traced.MD5OfMessageSystemAttributes).toMatch(/^[0-9a-f]{32}$/);
    expect(sqs.messages(url)).toHaveLength(2);
  });

  it('reports SendMessageBatch and DeleteMessageBatch results per entry; rejects malformed batches whole', async () => {
    const url = await create({ MaximumMessageSize: '2048' });
    const sent = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'ok-1', MessageBody: 'first', MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } },
          { Id: 'bad_chars', MessageBody: 'nul \u0000' },
          { Id: 'too_long', MessageBody: 'x'.repeat(2049) },
          { Id: 'ok-2', MessageBody: 'second', DelaySeconds: 0 },
        ],
      }),
    );
    expect(sent.Successful?.map((s) => [s.Id, s.MD5OfMessageBody])).toEqual([
      ['ok-1', md5('first')],
      ['ok-2', md5('second')],
    ]);
    expect(sent.Successful?.[0]?.MD5OfMessageAttributes).toBe(
      md5OfAttributes({ k: { DataType: 'String', StringValue: 'v' } }),
    );
    expect(sent.Failed).toEqual([
      {
        Id: 'bad_chars',
        SenderFault: true,
        Code: 'InvalidMessageContents',
        Message: expect.stringMatching(/Invalid characters/),
      },
      {
        Id: 'too_long',
        SenderFault: true,
        Code: 'InvalidParameterValue',
        Message: expect.stringMatching(/shorter than 2048/),
      },
    ]);
    expect(sqs.messages(url).map((m) => m.body)).toEqual(['first', 'second']);

    const got = await receive(url, { MaxNumberOfMessages: 10 });
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', ReceiptHandle: got[0]!.ReceiptHandle },
          { Id: 'b', ReceiptHandle: 'garbage' },
        ],
      }),
    );
    expect(deleted.Successful).toEqual([{ Id: 'a' }]);
    expect(deleted.Failed).toEqual([
      {
        Id: 'b',
        SenderFault: true,
        Code: 'ReceiptHandleIsInvalid',
        Message: expect.stringMatching(/not a valid receipt handle/),
      },
    ]);
    expect(sqs.messages(url).map((m) => m.body)).toEqual(['second']);

    const sendBatch = (Entries: { Id: string; MessageBody: string }[]) =>
      client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries }));
    await rejects(sendBatch([]), 'EmptyBatchRequest', 400);
    await rejects(
      sendBatch(Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' }))),
      'TooManyEntriesInBatchRequest',
      400,
      /You have sent 11/,
    );
    await rejects(
      sendBatch([
        { Id: 'dup', MessageBody: 'a' },
        { Id: 'dup', MessageBody: 'b' },
      ]),
      'BatchEntryIdsNotDistinct',
      400,
    );
    await rejects(sendBatch([{ Id: 'no spaces', MessageBody: 'a' }]), 'InvalidBatchEntryId', 400);
    await rejects(sendBatch([{ Id: 'x'.repeat(81), MessageBody: 'a' }]), 'InvalidBatchEntryId', 400);
    const big = await create();
    await rejects(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: big,
          Entries: [
            { Id: 'a', MessageBody: 'x'.repeat(600_000) },
            { Id: 'b', MessageBody: 'x'.repeat(600_000) },
          ],
        }),
      ),
      'BatchRequestTooLong',
      400,
      /cannot be longer than 1048576 bytes/,
    );
    expect(sqs.messages(big)).toEqual([]);
    await rejects(client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [] })), 'EmptyBatchRequest', 400);
    await rejects(
      client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `d${i}`, ReceiptHandle: 'h' })),
        }),
      ),
      'TooManyEntriesInBatchRequest',
      400,
    );
  });

  it('keeps FIFO order per message group, deduplicates for five minutes, and requires a group id', async () => {
    const url = await create({ FifoQueue: 'true' }, queueName('.fifo'));
    const send = (MessageBody: string, MessageGroupId: string, MessageDeduplicationId: string) =>
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody, MessageGroupId, MessageDeduplicationId }));
    await rejects(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageDeduplicationId: 'd' })),
      'MissingParameter',
      400,
      /MessageGroupId/,
    );
    await rejects(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', MessageGroupId: 'g' })),
      'InvalidParameterValue',
      400,
      /ContentBasedDeduplication/,
    );
    await rejects(
      client.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: 'x',
          MessageGroupId: 'g',
          MessageDeduplicationId: 'd',
          DelaySeconds: 1,
        }),
      ),
      'InvalidParameterValue',
      400,
    );
    const a = await send('a', 'g1', '1');
    const b = await send('b', 'g1', '2');
    await send('c', 'g2', '3');
    expect(BigInt(b.SequenceNumber!)).toBeGreaterThan(BigInt(a.SequenceNumber!));
    const dup = await send('a again', 'g1', '1');
    expect(dup.MessageId).toBe(a.MessageId);
    expect(sqs.messages(url).map((m) => m.body)).toEqual(['a', 'b', 'c']);

    const [first] = await receive(url, { MessageSystemAttributeNames: ['All'] });
    expect(first).toMatchObject({ Body: 'a', Attributes: { MessageGroupId: 'g1', MessageDeduplicationId: '1' } });
    // g1 is locked while 'a' is in flight: the next receive skips to g2.
    expect((await receive(url, { MaxNumberOfMessages: 10 })).map((m) => m.Body)).toEqual(['c']);
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first!.ReceiptHandle }));
    expect((await receive(url, { MaxNumberOfMessages: 10 })).map((m) => m.Body)).toEqual(['b']);

    now += 5 * 60_000;
    expect((await send('a later', 'g1', '1')).MessageId).not.toBe(a.MessageId);
  });

  it("injects faults before any effect; a throttle is the SDK's RequestThrottled and is retried", async () => {
    const url = await create();
    sqs.controls.reset();
    sqs.controls.setFaults({ sequence: ['throttle', 'server-error', 'drop', 'slow'], slowMs: 30 });
    const send = () => client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'job' }));
    const throttled = await send().catch((e: unknown) => e);
    expect(throttled).toMatchObject({
      name: 'RequestThrottled',
      Code: 'RequestThrottled',
      $metadata: { httpStatusCode: 403 },
    });
    expect(isThrottlingError(throttled as Parameters<typeof isThrottlingError>[0])).toBe(true);
    await rejects(send(), 'InternalFailure', 500);
    await expect(send()).rejects.toThrow();
    expect(sqs.messages(url)).toEqual([]);
    await expect(send()).resolves.toBeDefined();
    expect(sqs.messages(url)).toHaveLength(1);
    expect(sqs.controls.log.map((e) => [e.fault, e.status])).toEqual([
      ['throttle', 403],
      ['server-error', 500],
      ['drop', undefined],
      ['slow', 200],
    ]);

    const retrying = clientFor(sqs.url, { maxAttempts: 2 });
    try {
      sqs.controls.reset();
      sqs.controls.setFaults({ sequence: ['throttle'], operations: ['ReceiveMessage'] });
      const got = await retrying.send(new ReceiveMessageCommand({ QueueUrl: url }));
      expect(got.$metadata.attempts).toBe(2);
      expect(got.Messages).toHaveLength(1);
      expect(sqs.controls.log.map((e) => e.fault)).toEqual(['throttle', undefined]);
    } finally {
      retrying.destroy();
    }
  });

  it('logs every operation with its mutating flag and access key id, never the body', async () => {
    const url = await create();
    await client.send(new GetQueueUrlCommand({ QueueName: url.split('/').pop()! }));
    await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'secret-looking-body-42' }));
    await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'b' }] }));
    const [m1, m2] = await receive(url, { MaxNumberOfMessages: 2 });
    await client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: m1!.ReceiptHandle, VisibilityTimeout: 5 }),
    );
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m1!.ReceiptHandle }));
    await client.send(
      new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'x', ReceiptHandle: m2!.ReceiptHandle }] }),
    );
    expect(sqs.controls.log.map((e) => [e.operation, e.mutating, e.credential, e.status])).toEqual([
      ['CreateQueue', true, 'AKIDSQSTEST', 200],
      ['GetQueueUrl', false, 'AKIDSQSTEST', 200],
      ['GetQueueAttributes', false, 'AKIDSQSTEST', 200],
      ['SendMessage', true, 'AKIDSQSTEST', 200],
      ['SendMessageBatch', true, 'AKIDSQSTEST', 200],
      ['ReceiveMessage', true, 'AKIDSQSTEST', 200],
      ['ChangeMessageVisibility', true, 'AKIDSQSTEST', 200],
      ['DeleteMessage', true, 'AKIDSQSTEST', 200],
      ['DeleteMessageBatch', true, 'AKIDSQSTEST', 200],
    ]);
    expect(new Set(sqs.controls.log.map((e) => e.operation))).toEqual(new Set(SQS_OPERATIONS));
    expect(JSON.stringify(sqs.controls.log)).not.toContain('secret-looking-body-42');
    expect(sqs.messages(url)).toEqual([]);
  });

  it('speaks AWS JSON 1.0 on the wire, with x-amzn-query-error on errors', async () => {
    const post = (target: string | undefined, body: string) =>
      fetch(sqs.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.0', ...(target ? { 'x-amz-target': target } : {}) },
        body,
      }).then(async (r) => ({
        status: r.status,
        type: r.headers.get('content-type'),
        queryError: r.headers.get('x-amzn-query-error'),
        body: (await r.json()) as Record<string, unknown>,
      }));
    expect(await post('AmazonSQS.GetQueueUrl', '{"QueueName":"absent"}')).toEqual({
      status: 400,
      type: 'application/x-amz-json-1.0',
      queryError: 'AWS.SimpleQueueService.NonExistentQueue;Sender',
      body: { __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' },
    });
    expect(await post('AmazonSQS.CreateQueue', `{"QueueName":"${queueName()}"}`)).toMatchObject({
      status: 200,
      body: { QueueUrl: expect.stringMatching(/\/123456789012\/shard-\d+$/) },
    });
    expect(await post('AmazonSQS.GetQueueUrl', '{}')).toMatchObject({
      status: 400,
      queryError: 'MissingParameter;Sender',
      body: { message: 'The request must contain the parameter QueueName.' },
    });
    expect(await post('AmazonSQS.GetQueueUrl', '{"QueueName": 7}')).toMatchObject({
      status: 400,
      body: { __type: expect.stringContaining('SerializationException') },
    });
    expect(await post('AmazonSQS.GetQueueUrl', '{nope')).toMatchObject({ status: 400 });
    expect(await post('AmazonSQS.PurgeEverything', '{}')).toMatchObject({
      status: 400,
      body: { __type: 'UnknownOperationException' },
    });
    expect(await post(undefined, '{}')).toMatchObject({ status: 400, body: { __type: 'UnknownOperationException' } });
  });
});
