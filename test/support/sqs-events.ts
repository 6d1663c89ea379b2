import { ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { SqsEmulator } from '../emulators/sqs/index.js';
import { AWS_ENV } from './world.js';

/** A real @aws-sdk/client-sqs client on the SQS emulator, for what Lambda's event source does: receive. */
export function sqsClient(sqs: SqsEmulator): SQSClient {
  return new SQSClient({
    region: sqs.region,
    endpoint: sqs.url,
    credentials: { accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: AWS_ENV.AWS_SECRET_ACCESS_KEY },
    maxAttempts: 1,
  });
}

/** Every message the queue will hand out now, with all system attributes (at most 10 receives). */
export async function receiveAll(client: SQSClient, queueUrl: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let i = 0; i < 10; i++) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    out.push(...Messages);
  }
  return out;
}

/**
 * The event Lambda's SQS event source hands the function for `messages` (AWS Lambda Developer Guide,
 * "Using Lambda with Amazon SQS", example standard queue message event).
 */
export function sqsEvent(messages: readonly Message[], queueUrl: string, region = 'us-east-1') {
  const [, account, name] = new URL(queueUrl).pathname.split('/');
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body!,
      attributes: {
        ApproximateReceiveCount: m.Attributes!.ApproximateReceiveCount!,
        SentTimestamp: m.Attributes!.SentTimestamp!,
        SenderId: m.Attributes!.SenderId!,
        ApproximateFirstReceiveTimestamp: m.Attributes!.ApproximateFirstReceiveTimestamp!,
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody!,
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${region}:${account}:${name}`,
      awsRegion: region,
    })),
  };
}
