import { invalidParameter, topicNotFound } from './errors.js';

export interface SnsMessageAttribute {
  DataType: string;
  StringValue?: string;
  /** Raw bytes, base64 on the wire. */
  BinaryValue?: Buffer;
}

/** One message SNS accepted for delivery: what an alert subscriber would receive. */
export interface PublishedMessage {
  messageId: string;
  topicArn: string;
  message: string;
  subject?: string;
  messageStructure?: string;
  messageAttributes: Record<string, SnsMessageAttribute>;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  sequenceNumber?: string;
  publishedAt: number;
  via: 'Publish' | 'PublishBatch';
}

export interface Topic {
  arn: string;
  name: string;
  fifo: boolean;
  /** Attributes as given at creation (the ones CreateTopic compares for idempotency). */
  attributes: Record<string, string>;
  tags: { Key: string; Value: string }[];
  createdAt: number;
  messages: PublishedMessage[];
  /** FIFO deduplication ids seen in the last five minutes, with the message they resolved to. */
  dedup: Map<string, { at: number; messageId: string; sequenceNumber: string }>;
}

/** SNS's five-minute deduplication interval for FIFO topics (PublishInput.MessageDeduplicationId). */
export const DEDUP_WINDOW_MS = 5 * 60_000;

export interface DenyRule {
  operation?: string;
  credential?: string;
  topicArn?: string;
}

export class SnsState {
  readonly topics = new Map<string, Topic>();
  readonly denies: DenyRule[] = [];
  private sequence = 10_000_000_000_000_000_000n;

  constructor(
    readonly region: string,
    readonly accountId: string,
    public now: () => number,
  ) {}

  arnFor(name: string): string {
    return `arn:aws:sns:${this.region}:${this.accountId}:${name}`;
  }

  /** FIFO sequence numbers: large, increasing, 20 digits (PublishResponse.SequenceNumber, 128 bits). */
  nextSequenceNumber(): string {
    this.sequence += BigInt(1 + Math.floor(Math.random() * 1000));
    return this.sequence.toString();
  }

  /** A topic by ARN, with the errors SNS gives for a malformed ARN, another region, or no such topic. */
  topic(arn: string, member = 'TopicArn'): Topic {
    if (!arn.startsWith('arn:')) throw invalidParameter(`${member} Reason: ${arn} does not start with arn`);
    const parts = arn.split(':');
    if (parts.length !== 6 || parts[2] !== 'sns')
      throw invalidParameter(`${member} Reason: An ARN must have at least 6 elements, not ${parts.length}`);
    // Publish: "You can publish messages only to topics and endpoints in the same Amazon Web Services Region."
    if (parts[3] !== this.region) throw invalidParameter(`${member}`);
    const topic = this.topics.get(arn);
    if (!topic) throw topicNotFound();
    return topic;
  }
}
