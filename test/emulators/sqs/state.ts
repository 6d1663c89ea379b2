import { randomBytes, randomUUID } from 'node:crypto';
import { invalidAddress, queueDoesNotExist } from './errors.js';
import type { SqsAttributeValue } from './md5.js';

export interface SqsMessage {
  messageId: string;
  body: string;
  messageAttributes: Record<string, SqsAttributeValue>;
  /** MessageSystemAttributes sent with the message (AWSTraceHeader). */
  systemAttributes: Record<string, SqsAttributeValue>;
  senderId?: string;
  sentAt: number;
  /** Not receivable before this instant: the delay, then each visibility timeout. */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  lastReceivedAt?: number;
  /** The receipt handle of the most recent receive; older handles no longer act on the message. */
  receipt?: string;
  groupId?: string;
  dedupId?: string;
  sequenceNumber?: string;
}

export interface Queue {
  name: string;
  url: string;
  arn: string;
  fifo: boolean;
  /** Settable attributes, defaults filled in. */
  attributes: Record<string, string>;
  tags: Record<string, string>;
  createdAt: number;
  lastModifiedAt: number;
  messages: SqsMessage[];
  dedup: Map<string, { at: number; messageId: string; sequenceNumber: string }>;
}

export type MessageState = 'delayed' | 'visible' | 'in-flight';

export class SqsState {
  readonly queues = new Map<string, Queue>();
  /** Set once the server listens: queue URLs are `<baseUrl>/<accountId>/<name>`. */
  baseUrl = '';
  private sequence = 10_000_000_000_000_000_000n;

  constructor(
    readonly region: string,
    readonly accountId: string,
    public now: () => number,
  ) {}

  urlFor(name: string): string {
    return `${this.baseUrl}/${this.accountId}/${name}`;
  }

  arnFor(name: string): string {
    return `arn:aws:sqs:${this.region}:${this.accountId}:${name}`;
  }

  nextSequenceNumber(): string {
    this.sequence += BigInt(1 + Math.floor(Math.random() * 1000));
    return this.sequence.toString();
  }

  /** The queue a QueueUrl names: `<scheme>://<host>/<accountId>/<queueName>`, any host. */
  byUrl(queueUrl: string): Queue {
    let path: string;
    try {
      path = new URL(queueUrl).pathname;
    } catch {
      throw invalidAddress(`The address ${queueUrl} is not valid for this endpoint.`);
    }
    const parts = path.split('/').filter(Boolean);
    if (parts.length !== 2) throw invalidAddress(`The address ${queueUrl} is not valid for this endpoint.`);
    const [account, name] = parts as [string, string];
    const queue = account === this.accountId ? this.queues.get(decodeURIComponent(name)) : undefined;
    if (!queue) throw queueDoesNotExist();
    this.expire(queue);
    return queue;
  }

  stateOf(m: SqsMessage, now = this.now()): MessageState {
    if (m.visibleAt <= now) return 'visible';
    return m.receipt === undefined ? 'delayed' : 'in-flight';
  }

  counts(queue: Queue): { visible: number; inFlight: number; delayed: number } {
    this.expire(queue);
    const now = this.now();
    const out = { visible: 0, inFlight: 0, delayed: 0 };
    for (const m of queue.messages) {
      const s = this.stateOf(m, now);
      if (s === 'visible') out.visible++;
      else if (s === 'in-flight') out.inFlight++;
      else out.delayed++;
    }
    return out;
  }

  /** Drops messages older than MessageRetentionPeriod. */
  expire(queue: Queue): void {
    const limit = this.now() - Number(queue.attributes.MessageRetentionPeriod) * 1000;
    if (queue.messages.some((m) => m.sentAt <= limit)) queue.messages = queue.messages.filter((m) => m.sentAt > limit);
  }

  newReceipt(queue: Queue, m: SqsMessage): string {
    return Buffer.from(
      [queue.name, m.messageId, String(m.receiveCount), randomBytes(24).toString('base64url')].join('\n'),
    ).toString('base64');
  }

  /** The message a receipt handle was issued for, or undefined when the handle is not one SQS issued. */
  parseReceipt(queue: Queue, handle: string): { messageId: string } | undefined {
    const parts = Buffer.from(handle, 'base64').toString('utf8').split('\n');
    if (parts.length !== 4 || parts[0] !== queue.name || !/^[0-9a-f-]{36}$/.test(parts[1] ?? '')) return undefined;
    return { messageId: parts[1]! };
  }

  /**
   * Receives up to `max` messages: visible ones, oldest first; on a FIFO queue, in sequence order and
   * never from a message group that has a message in flight (ReceiveRequestAttemptId documentation:
   * "While messages with a particular MessageGroupId are invisible, no more messages belonging to the
   * same MessageGroupId are returned").
   */
  receive(queue: Queue, max: number, visibilityTimeoutSeconds: number): SqsMessage[] {
    this.expire(queue);
    const now = this.now();
    const lockedGroups = new Set(
      queue.fifo ? queue.messages.filter((m) => this.stateOf(m, now) === 'in-flight').map((m) => m.groupId) : [],
    );
    const out: SqsMessage[] = [];
    for (const m of queue.messages) {
      if (out.length >= max) break;
      if (this.stateOf(m, now) !== 'visible') {
        if (queue.fifo && m.groupId !== undefined) lockedGroups.add(m.groupId);
        continue;
      }
      if (queue.fifo && lockedGroups.has(m.groupId)) continue;
      m.receiveCount++;
      m.firstReceivedAt ??= now;
      m.lastReceivedAt = now;
      m.receipt = this.newReceipt(queue, m);
      m.visibleAt = now + visibilityTimeoutSeconds * 1000;
      out.push(m);
    }
    return out;
  }

  newMessageId(): string {
    return randomUUID();
  }
}
