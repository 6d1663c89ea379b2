import {
  CreateTopicCommand,
  GetTopicAttributesCommand,
  ListTopicsCommand,
  paginateListTopics,
  PublishBatchCommand,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
// The SDK's own retry classification (what its retry strategy calls), so "throttling" means what the SDK means.
import { isThrottlingError } from '@smithy/core/retry';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSnsEmulator, SNS_OPERATIONS, type SnsEmulator } from './sns/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let sns: SnsEmulator;
let client: SNSClient;
let n = 0;
const topicName = (suffix = '') => `alerts-${++n}${suffix}`;
const clientFor = (url: string, extra: Partial<ConstructorParameters<typeof SNSClient>[0]> = {}) =>
  new SNSClient({
    region: 'us-east-1',
    endpoint: url,
    credentials: { accessKeyId: 'AKIDSNSTEST', secretAccessKey: 'x' },
    maxAttempts: 1,
    ...extra,
  });
const create = async (name = topicName(), Attributes?: Record<string, string>) =>
  (await client.send(new CreateTopicCommand({ Name: name, ...(Attributes ? { Attributes } : {}) }))).TopicArn!;
const rejects = (promise: Promise<unknown>, name: string, status: number, message?: RegExp) =>
  expect(promise).rejects.toMatchObject({
    name,
    $metadata: { httpStatusCode: status },
    ...(message ? { message: expect.stringMatching(message) as string } : {}),
  });

beforeAll(async () => {
  sns = await startSnsEmulator();
  client = clientFor(sns.url);
});
afterAll(async () => {
  client.destroy();
  await sns.close();
});
beforeEach(() => {
  sns.controls.reset();
  sns.clearDenies();
  sns.setClock(Date.now);
});

describe('SNS emulator through the real AWS SDK (awsQuery)', () => {
  it('creates topics idempotently and describes them', async () => {
    const name = topicName();
    const arn = await create(name, { DisplayName: 'Rotator' });
    expect(arn).toBe(`arn:aws:sns:us-east-1:123456789012:${name}`);
    expect(await create(name, { DisplayName: 'Rotator' })).toBe(arn);
    expect(await create(name)).toBe(arn);
    const { Attributes } = await client.send(new GetTopicAttributesCommand({ TopicArn: arn }));
    expect(Attributes).toMatchObject({
      TopicArn: arn,
      Owner: '123456789012',
      DisplayName: 'Rotator',
      SubscriptionsConfirmed: '0',
    });
    expect(JSON.parse(Attributes!.Policy!)).toMatchObject({ Statement: [{ Resource: arn }] });
    expect(Attributes!.FifoTopic).toBeUndefined();

    const fifo = await create(topicName('.fifo'), { FifoTopic: 'true', ContentBasedDeduplication: 'true' });
    expect((await client.send(new GetTopicAttributesCommand({ TopicArn: fifo }))).Attributes).toMatchObject({
      FifoTopic: 'true',
      ContentBasedDeduplication: 'true',
    });
  });

  it('answers CreateTopic and GetTopicAttributes errors as SNS documents them', async () => {
    const name = topicName();
    await create(name, { DisplayName: 'one' });
    await rejects(create(name, { DisplayName: 'two' }), 'InvalidParameterException', 400, /different attributes/);
    await rejects(create('bad name!'), 'InvalidParameterException', 400, /^Invalid parameter: Topic Name$/);
    await rejects(create('x'.repeat(257)), 'InvalidParameterException', 400);
    await rejects(create(topicName(), { FifoTopic: 'true' }), 'InvalidParameterException', 400, /must end with \.fifo/);
    await rejects(create(topicName('.fifo')), 'InvalidParameterException', 400, /Topic Name/);
    await rejects(create(topicName(), { NoSuchAttribute: 'x' }), 'InvalidParameterException', 400, /AttributeName/);
    await rejects(create(topicName(), { MaximumMessageSize: '100' }), 'InvalidParameterException', 400);
    await rejects(
      client.send(
        new CreateTopicCommand({
          Name: topicName(),
          Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
        }),
      ),
      'TagLimitExceededException',
      400,
    );
    await rejects(
      client.send(new GetTopicAttributesCommand({ TopicArn: sns.createTopicDirect('x').replace(':x', ':absent') })),
      'NotFoundException',
      404,
      /^Topic does not exist$/,
    );
    await rejects(
      client.send(new GetTopicAttributesCommand({ TopicArn: 'not-an-arn' })),
      'InvalidParameterException',
      400,
      /does not start with arn/,
    );
  });

  it('lists topics 100 to a page with NextToken, and rejects a token it did not issue', async () => {
    const own = await startSnsEmulator();
    const c = clientFor(own.url);
    try {
      const arns = Array.from({ length: 230 }, (_, i) => own.createTopicDirect(`t-${i}`));
      const first = await c.send(new ListTopicsCommand({}));
      expect(first.Topics).toHaveLength(100);
      expect(first.NextToken).toBeDefined();
      const seen: string[] = [];
      for await (const page of paginateListTopics({ client: c }, {}))
        seen.push(...page.Topics!.map((t) => t.TopicArn!));
      expect(seen).toEqual(arns);
      await rejects(c.send(new ListTopicsCommand({ NextToken: 'bogus' })), 'InvalidParameterException', 400);
      expect(own.controls.log.filter((e) => e.operation === 'ListTopics')).toHaveLength(5);
    } finally {
      c.destroy();
      await own.close();
    }
  });

  it('publishes by TopicArn or TargetArn and keeps every accepted message for assertions', async () => {
    const arn = await create();
    const one = await client.send(
      new PublishCommand({
        TopicArn: arn,
        Subject: 'Rotation failed',
        Message: 'key SK123 could not be rotated',
        MessageAttributes: {
          severity: { DataType: 'String', StringValue: 'high' },
          attempt: { DataType: 'Number', StringValue: '3' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 2]) },
          tags: { DataType: 'String.Array', StringValue: '["a", 1, true, null]' },
        },
      }),
    );
    expect(one.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(one.SequenceNumber).toBeUndefined();
    const two = await client.send(
      new PublishCommand({
        TargetArn: arn,
        MessageStructure: 'json',
        Message: JSON.stringify({ default: 'plain', email: 'longer text' }),
      }),
    );
    const published = sns.published(arn);
    expect(published.map((m) => m.messageId)).toEqual([one.MessageId, two.MessageId]);
    expect(published[0]).toMatchObject({
      subject: 'Rotation failed',
      message: 'key SK123 could not be rotated',
      via: 'Publish',
      messageAttributes: {
        severity: { DataType: 'String', StringValue: 'high' },
        attempt: { DataType: 'Number', StringValue: '3' },
        tags: { DataType: 'String.Array' },
      },
    });
    expect([...published[0]!.messageAttributes.blob!.BinaryValue!]).toEqual([0, 1, 2]);
    expect(published[1]).toMatchObject({ messageStructure: 'json' });
    expect(sns.published('arn:aws:sns:us-east-1:123456789012:never')).toEqual([]);
  });

  it('rejects what Publish documents as invalid', async () => {
    const arn = await create();
    const publish = (input: Partial<ConstructorParameters<typeof PublishCommand>[0]>) =>
      client.send(new PublishCommand({ TopicArn: arn, Message: 'm', ...input }));
    await rejects(publish({ Message: '' }), 'InvalidParameterException', 400, /^Invalid parameter: Empty message$/);
    await rejects(publish({ Message: 'x'.repeat(262_145) }), 'InvalidParameterException', 400, /Message too long/);
    await expect(publish({ Message: 'x'.repeat(262_144) })).resolves.toMatchObject({ MessageId: expect.any(String) });
    // Attributes count towards the 256 KiB.
    await rejects(
      publish({ Message: 'x'.repeat(262_140), MessageAttributes: { a: { DataType: 'String', StringValue: 'v' } } }),
      'InvalidParameterException',
      400,
      /Message too long/,
    );
    await rejects(publish({ Subject: 's'.repeat(100) }), 'InvalidParameterException', 400, /Subject/);
    await expect(publish({ Subject: 's'.repeat(99) })).resolves.toBeDefined();
    await rejects(publish({ Subject: 'line\nbreak' }), 'InvalidParameterException', 400, /Subject/);
    await rejects(publish({ Subject: '' }), 'InvalidParameterException', 400, /Subject/);
    await rejects(publish({ MessageStructure: 'json', Message: '{"email":"x"}' }), 'InvalidParameterException', 400);
    await rejects(publish({ MessageStructure: 'json', Message: 'not json' }), 'InvalidParameterException', 400);
    await rejects(publish({ MessageStructure: 'xml' }), 'InvalidParameterException', 400, /MessageStructure/);
    await rejects(
      publish({ MessageAttributes: { 'AWS.reserved': { DataType: 'String', StringValue: 'x' } } }),
      'InvalidParameterValueException',
      400,
    );
    await rejects(
      publish({ MessageAttributes: { n: { DataType: 'Number', StringValue: 'ten' } } }),
      'InvalidParameterValueException',
      400,
    );
    await rejects(
      publish({ MessageAttributes: { t: { DataType: 'Blob', StringValue: 'x' } } }),
      'InvalidParameterValueException',
      400,
    );
    await rejects(
      publish({ MessageAttributes: { e: { DataType: 'String', StringValue: '' } } }),
      'InvalidParameterValueException',
      400,
    );
    await rejects(
      publish({ MessageDeduplicationId: 'd' }),
      'InvalidParameterException',
      400,
      /not valid for this topic type/,
    );
    await rejects(
      client.send(new PublishCommand({ Message: 'm' })),
      'InvalidParameterException',
      400,
      /no value for required parameter/,
    );
    await rejects(
      client.send(new PublishCommand({ TopicArn: arn, TargetArn: arn, Message: 'm' })),
      'InvalidParameterException',
      400,
    );
    await rejects(
      client.send(new PublishCommand({ TopicArn: `${arn}-gone`, Message: 'm' })),
      'NotFoundException',
      404,
      /Topic does not exist/,
    );
    await rejects(
      client.send(new PublishCommand({ TopicArn: arn.replace('us-east-1', 'eu-west-1'), Message: 'm' })),
      'InvalidParameterException',
      400,
    );
    await rejects(
      client.send(new PublishCommand({ TopicArn: 'fake_topic', Message: 'm' })),
      'InvalidParameterException',
      400,
      /does not start with arn/,
    );
    // Only the two valid publishes were kept.
    expect(sns.published(arn)).toHaveLength(2);
  });

  it('honours a topic MaximumMessageSize', async () => {
    const arn = await create(topicName(), { MaximumMessageSize: '1024' });
    await rejects(
      client.send(new PublishCommand({ TopicArn: arn, Message: 'x'.repeat(1025) })),
      'InvalidParameterException',
      400,
      /Message too long/,
    );
    await expect(client.send(new PublishCommand({ TopicArn: arn, Message: 'x'.repeat(1024) }))).resolves.toBeDefined();
    // Up to 1 MiB once the topic allows it (the form-encoded request is then larger than 1 MiB).
    const large = await create(topicName(), { MaximumMessageSize: '1048576' });
    await expect(
      client.send(new PublishCommand({ TopicArn: large, Message: 'é'.repeat(524_288) })),
    ).resolves.toBeDefined();
    await rejects(
      client.send(new PublishCommand({ TopicArn: large, Message: 'x'.repeat(1_048_577) })),
      'InvalidParameterException',
      400,
      /Message too long/,
    );
  });

  it('validates FIFO publishing: group id, deduplication id, five-minute deduplication, sequence numbers', async () => {
    let now = Date.now();
    sns.setClock(() => now);
    const arn = await create(topicName('.fifo'), { FifoTopic: 'true' });
    await rejects(
      client.send(new PublishCommand({ TopicArn: arn, Message: 'm', MessageDeduplicationId: 'd1' })),
      'InvalidParameterException',
      400,
      /MessageGroupId parameter is required/,
    );
    await rejects(
      client.send(new PublishCommand({ TopicArn: arn, Message: 'm', MessageGroupId: 'g' })),
      'InvalidParameterException',
      400,
      /ContentBasedDeduplication enabled or MessageDeduplicationId/,
    );
    const send = (dedup: string, message = 'm') =>
      client.send(
        new PublishCommand({ TopicArn: arn, Message: message, MessageGroupId: 'g', MessageDeduplicationId: dedup }),
      );
    const a = await send('d1');
    const b = await send('d2');
    expect(BigInt(b.SequenceNumber!)).toBeGreaterThan(BigInt(a.SequenceNumber!));
    expect(a.SequenceNumber).toMatch(/^\d{20}$/);
    const again = await send('d1', 'different body, same id');
    expect(again.MessageId).toBe(a.MessageId);
    expect(sns.published(arn).map((m) => m.messageDeduplicationId)).toEqual(['d1', 'd2']);
    now += 5 * 60_000;
    const later = await send('d1');
    expect(later.MessageId).not.toBe(a.MessageId);
    expect(sns.published(arn)).toHaveLength(3);

    const cbd = await create(topicName('.fifo'), { FifoTopic: 'true', ContentBasedDeduplication: 'true' });
    await client.send(new PublishCommand({ TopicArn: cbd, Message: 'same', MessageGroupId: 'g' }));
    await client.send(new PublishCommand({ TopicArn: cbd, Message: 'same', MessageGroupId: 'g' }));
    await client.send(new PublishCommand({ TopicArn: cbd, Message: 'other', MessageGroupId: 'g' }));
    expect(sns.published(cbd).map((m) => m.message)).toEqual(['same', 'other']);
  });

  it('publishes batches, reporting each entry, and rejects malformed batches whole', async () => {
    const arn = await create();
    const out = await client.send(
      new PublishBatchCommand({
        TopicArn: arn,
        PublishBatchRequestEntries: [
          { Id: 'ok-1', Message: 'first', Subject: 'S' },
          { Id: 'bad', Message: '' },
          { Id: 'ok_2', Message: 'second', MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } } },
        ],
      }),
    );
    expect(out.Successful?.map((s) => s.Id)).toEqual(['ok-1', 'ok_2']);
    expect(out.Failed).toEqual([
      { Id: 'bad', Code: 'InvalidParameter', Message: 'Invalid parameter: Empty message', SenderFault: true },
    ]);
    expect(sns.published(arn).map((m) => [m.message, m.via])).toEqual([
      ['first', 'PublishBatch'],
      ['second', 'PublishBatch'],
    ]);
    const allGood = await client.send(
      new PublishBatchCommand({ TopicArn: arn, PublishBatchRequestEntries: [{ Id: 'a', Message: 'x' }] }),
    );
    expect(allGood.Failed).toEqual([]);

    const batch = (entries: { Id: string; Message: string }[], topic = arn) =>
      client.send(new PublishBatchCommand({ TopicArn: topic, PublishBatchRequestEntries: entries }));
    await rejects(batch([]), 'EmptyBatchRequestException', 400);
    await rejects(
      batch(Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, Message: 'x' }))),
      'TooManyEntriesInBatchRequestException',
      400,
    );
    await rejects(
      batch([
        { Id: 'same', Message: 'a' },
        { Id: 'same', Message: 'b' },
      ]),
      'BatchEntryIdsNotDistinctException',
      400,
    );
    await rejects(batch([{ Id: 'has space', Message: 'a' }]), 'InvalidBatchEntryIdException', 400);
    await rejects(
      batch([
        { Id: 'a', Message: 'x'.repeat(200_000) },
        { Id: 'b', Message: 'x'.repeat(100_000) },
      ]),
      'BatchRequestTooLongException',
      400,
    );
    await rejects(batch([{ Id: 'a', Message: 'x' }], `${arn}-gone`), 'NotFoundException', 404);
    expect(sns.published(arn)).toHaveLength(3);

    const fifo = await create(topicName('.fifo'), { FifoTopic: 'true' });
    const fifoOut = await client.send(
      new PublishBatchCommand({
        TopicArn: fifo,
        PublishBatchRequestEntries: [
          { Id: 'a', Message: 'x', MessageGroupId: 'g', MessageDeduplicationId: '1' },
          { Id: 'b', Message: 'y', MessageGroupId: 'g' },
        ],
      }),
    );
    expect(fifoOut.Successful).toEqual([
      { Id: 'a', MessageId: expect.any(String), SequenceNumber: expect.stringMatching(/^\d+$/) },
    ]);
    expect(fifoOut.Failed?.[0]).toMatchObject({ Id: 'b', Code: 'InvalidParameter', SenderFault: true });
  });

  it('answers AuthorizationError (403) for what a deny rule covers, and nothing else', async () => {
    const arn = await create();
    const other = await create();
    sns.deny({ operation: 'Publish', topicArn: arn });
    await rejects(
      client.send(new PublishCommand({ TopicArn: arn, Message: 'm' })),
      'AuthorizationErrorException',
      403,
      /is not authorized to perform: SNS:Publish on resource: arn:aws:sns:us-east-1:123456789012:alerts-/,
    );
    await expect(client.send(new PublishCommand({ TopicArn: other, Message: 'm' }))).resolves.toBeDefined();
    await expect(client.send(new GetTopicAttributesCommand({ TopicArn: arn }))).resolves.toBeDefined();
    sns.deny({ credential: 'AKIDSNSTEST' });
    await rejects(client.send(new ListTopicsCommand({})), 'AuthorizationErrorException', 403);
    expect(sns.published(arn)).toHaveLength(0);
  });

  it('injects faults before any effect; a throttle is a throttling error to the SDK and is retried', async () => {
    const arn = await create();
    sns.controls.reset();
    sns.controls.setFaults({ sequence: ['throttle', 'server-error', 'drop', 'slow'], slowMs: 30 });
    const publish = () => client.send(new PublishCommand({ TopicArn: arn, Message: 'm' }));
    const throttled = await publish().catch((e: unknown) => e);
    expect(throttled).toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 },
    });
    expect(isThrottlingError(throttled as Parameters<typeof isThrottlingError>[0])).toBe(true);
    await rejects(publish(), 'InternalErrorException', 500);
    await expect(publish()).rejects.toThrow();
    expect(sns.published(arn)).toHaveLength(0);
    await expect(publish()).resolves.toBeDefined();
    expect(sns.published(arn)).toHaveLength(1);
    expect(sns.controls.log.map((e) => [e.fault, e.status])).toEqual([
      ['throttle', 400],
      ['server-error', 500],
      ['drop', undefined],
      ['slow', 200],
    ]);

    const retrying = clientFor(sns.url, { maxAttempts: 2 });
    try {
      sns.controls.reset();
      sns.controls.setFaults({ sequence: ['throttle'] });
      const ok = await retrying.send(new PublishCommand({ TopicArn: arn, Message: 'retried' }));
      expect(ok.$metadata.attempts).toBe(2);
      expect(sns.controls.log.map((e) => e.fault)).toEqual(['throttle', undefined]);
    } finally {
      retrying.destroy();
    }

    sns.controls.reset();
    sns.controls.latencyMs = 60;
    const t0 = Date.now();
    await client.send(new ListTopicsCommand({}));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
  });

  it('logs every operation with its mutating flag and access key id, never the message', async () => {
    const arn = await create();
    await client.send(new GetTopicAttributesCommand({ TopicArn: arn }));
    await client.send(new ListTopicsCommand({}));
    await client.send(new PublishCommand({ TopicArn: arn, Message: 'secret-looking-body-42' }));
    await client.send(
      new PublishBatchCommand({ TopicArn: arn, PublishBatchRequestEntries: [{ Id: 'a', Message: 'b' }] }),
    );
    expect(sns.controls.log.map((e) => [e.operation, e.mutating, e.credential, e.status])).toEqual([
      ['CreateTopic', true, 'AKIDSNSTEST', 200],
      ['GetTopicAttributes', false, 'AKIDSNSTEST', 200],
      ['ListTopics', false, 'AKIDSNSTEST', 200],
      ['Publish', true, 'AKIDSNSTEST', 200],
      ['PublishBatch', true, 'AKIDSNSTEST', 200],
    ]);
    expect(new Set(sns.controls.log.map((e) => e.operation))).toEqual(new Set(SNS_OPERATIONS));
    expect(JSON.stringify(sns.controls.log)).not.toContain('secret-looking-body-42');
  });

  it('speaks awsQuery on the wire: form in, namespaced XML out, XML errors for unknown actions', async () => {
    const post = (body: string) =>
      fetch(sns.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }).then(
        async (r) => ({ status: r.status, type: r.headers.get('content-type'), text: await r.text() }),
      );
    const created = await post(`Action=CreateTopic&Version=2010-03-31&Name=${topicName()}`);
    expect(created.status).toBe(200);
    expect(created.type).toBe('text/xml');
    expect(created.text).toMatch(
      new RegExp(
        String.raw`<CreateTopicResponse ` +
          String.raw`xmlns="http:\/\/sns\.amazonaws\.com\/doc\/2010-03-31\/"><CreateTopicResult>` +
          String.raw`<TopicArn>arn:aws:sns:us-east-1:123456789012:alerts-\d+<\/TopicArn><\/CreateTopicResult>` +
          String.raw`<ResponseMetadata><RequestId>[0-9a-f-]{36}<\/RequestId><\/ResponseMetadata>` +
          String.raw`<\/CreateTopicResponse>$`,
      ),
    );
    const missing = await post(
      'Action=GetTopicAttributes&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Anope',
    );
    expect(missing.status).toBe(404);
    expect(missing.text).toContain(
      '<Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error>',
    );
    const unknown = await post('Action=DeleteEverything&Version=2010-03-31');
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('<Code>InvalidAction</Code>');
    expect((await post('Version=2010-03-31')).text).toContain('<Code>MissingAction</Code>');
    const viaGet = await fetch(`${sns.url}/?Action=ListTopics&Version=2010-03-31`);
    expect(viaGet.status).toBe(200);
    expect(await viaGet.text()).toContain('<ListTopicsResult><Topics>');
    const noMessage = await post(
      `Action=Publish&Version=2010-03-31&TopicArn=${encodeURIComponent(sns.createTopicDirect('wire'))}`,
    );
    expect(noMessage.text).toContain('<Code>ValidationError</Code>');
  });
});
