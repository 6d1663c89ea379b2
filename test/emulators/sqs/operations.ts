import { createHash } from 'node:crypto';
import { sleep } from '../common/index.js';
import {
  SqsError,
  batchEntryIdsNotDistinct,
  batchRequestTooLong,
  emptyBatchRequest,
  invalidAttributeName,
  invalidAttributeValue,
  invalidBatchEntryId,
  invalidMessageContents,
  invalidParameterValue,
  messageNotInflight,
  missingParameter,
  queueDoesNotExist,
  queueNameExists,
  receiptHandleIsInvalid,
  tooManyEntries,
  unsupportedOperation,
} from './errors.js';
import { md5OfAttributes, md5OfBody, type SqsAttributeValue } from './md5.js';
import type { Queue, SqsMessage, SqsState } from './state.js';

/**
 * The SQS operations the rotator's work sharding uses. Limits and rules are the ones the service model
 * shipped in @aws-sdk/client-sqs documents (dist-types/models/models_0.d.ts, cited by member name), its
 * error traits (dist-es/schemas/schemas_0.js), and the SQS Developer Guide pages named next to a rule.
 */

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

export interface Context {
  credential?: string;
  /** True once the caller has gone away; a long poll stops waiting. */
  aborted(): boolean;
}

type Operation = { mutating: boolean; run: (state: SqsState, input: Input, ctx: Context) => Output | Promise<Output> };

const MAX_BATCH = 10;
/**
 * SendMessageBatch: "the maximum total payload size (the sum of the individual lengths of all of the batched
 * messages) ... 1 MiB".
 */
const MAX_BATCH_BYTES = 1_048_576;
/** VisibilityTimeout / ChangeMessageVisibility: "Values range: 0 to 43200. Maximum: 12 hours." */
const MAX_VISIBILITY = 43_200;
/** Message attributes: "Each message can have up to 10 attributes" (Developer Guide, message metadata). */
const MAX_MESSAGE_ATTRIBUTES = 10;
/** FIFO deduplication interval: "within a 5-minute minimum deduplication interval". */
const DEDUP_WINDOW_MS = 5 * 60_000;
/** How often a long poll looks for a message that became receivable. */
const POLL_EVERY_MS = 20;

/** CreateQueueRequest.Attributes: defaults and valid ranges. */
const QUEUE_DEFAULTS: Record<string, string> = {
  DelaySeconds: '0',
  MaximumMessageSize: '1048576',
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30',
  SqsManagedSseEnabled: 'true',
};
const FIFO_DEFAULTS: Record<string, string> = {
  FifoQueue: 'true',
  ContentBasedDeduplication: 'false',
  DeduplicationScope: 'queue',
  FifoThroughputLimit: 'perQueue',
};
const INTEGER_RANGES: Record<string, [number, number]> = {
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, 1_048_576],
  MessageRetentionPeriod: [60, 1_209_600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  VisibilityTimeout: [0, MAX_VISIBILITY],
  KmsDataKeyReusePeriodSeconds: [60, 86_400],
};
const SETTABLE = new Set([
  ...Object.keys(INTEGER_RANGES),
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
  'SqsManagedSseEnabled',
  ...Object.keys(FIFO_DEFAULTS),
]);
/** GetQueueAttributesRequest.AttributeNames. */
const READABLE = new Set([
  ...SETTABLE,
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesDelayed',
  'ApproximateNumberOfMessagesNotVisible',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
]);
/** ReceiveMessageRequest.MessageSystemAttributeNames. */
const SYSTEM_ATTRIBUTE_NAMES = [
  'ApproximateFirstReceiveTimestamp',
  'ApproximateReceiveCount',
  'AWSTraceHeader',
  'SenderId',
  'SentTimestamp',
  'SqsManagedSseEnabled',
  'MessageDeduplicationId',
  'MessageGroupId',
  'SequenceNumber',
];

const serialization = (message: string) => new SqsError('com.amazon.coral.service#SerializationException', '', message);

function str(input: Input, name: string, required: true): string;
function str(input: Input, name: string, required?: false): string | undefined;
function str(input: Input, name: string, required = false): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) {
    if (required) throw missingParameter(name);
    return undefined;
  }
  if (typeof v !== 'string') throw serialization(`${name} must be a string`);
  return v;
}

function int(input: Input, name: string, [min, max]: [number, number]): number | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw serialization(`${name} must be an integer`);
  if (v < min || v > max)
    throw invalidParameterValue(
      `Value ${v} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`,
    );
  return v;
}

function list(input: Input, name: string): unknown[] | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw serialization(`${name} must be a list`);
  return v;
}

function stringMap(input: Input, name: string): Record<string, string> {
  const v = input[name];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw serialization(`${name} must be a map`);
  for (const value of Object.values(v))
    if (typeof value !== 'string') throw serialization(`${name} values must be strings`);
  return { ...(v as Record<string, string>) };
}

/** SendMessageRequest.MessageBody: "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF". */
// eslint-disable-next-line no-control-regex -- tab, LF and CR are the allowed control characters
const INVALID_CHARS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const INVALID_CHARS_MESSAGE =
  'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 ' +
  'to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF';

function queueNameValid(name: string, fifo: boolean): boolean {
  const base = fifo ? name.slice(0, -'.fifo'.length) : name;
  return name.length >= 1 && name.length <= 80 && (!fifo || name.endsWith('.fifo')) && /^[A-Za-z0-9_-]+$/.test(base);
}

function validateQueueAttributes(attributes: Record<string, string>, fifo: boolean): void {
  for (const [key, value] of Object.entries(attributes)) {
    if (!SETTABLE.has(key) || (!fifo && key in FIFO_DEFAULTS && key !== 'FifoQueue'))
      throw invalidAttributeName(`Unknown Attribute ${key}.`);
    const bad = () => invalidAttributeValue(`Invalid value for the parameter ${key}.`);
    const range = INTEGER_RANGES[key];
    if (range) {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < range[0] || n > range[1]) throw bad();
    } else if (['FifoQueue', 'ContentBasedDeduplication', 'SqsManagedSseEnabled'].includes(key)) {
      if (value !== 'true' && value !== 'false') throw bad();
    } else if (key === 'DeduplicationScope' && value !== 'queue' && value !== 'messageGroup') {
      throw bad();
    } else if (key === 'FifoThroughputLimit' && value !== 'perQueue' && value !== 'perMessageGroupId') {
      throw bad();
    } else if (key === 'Policy' || key === 'RedriveAllowPolicy') {
      try {
        JSON.parse(value);
      } catch {
        throw bad();
      }
    }
  }
  if (attributes.FifoThroughputLimit === 'perMessageGroupId' && attributes.DeduplicationScope !== 'messageGroup')
    throw invalidAttributeValue(
      'Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId ' +
        'is allowed only when DeduplicationScope is messageGroup.',
    );
  if (attributes.RedrivePolicy !== undefined)
    throw unsupportedOperation('RedrivePolicy (dead-letter queues) is not implemented by this emulator.');
}

export function createQueue(
  state: SqsState,
  name: string,
  attributes: Record<string, string> = {},
  tags: Record<string, string> = {},
): Queue {
  const fifo = attributes.FifoQueue === 'true';
  if (!queueNameValid(name, fifo) || (!fifo && name.endsWith('.fifo')))
    throw invalidParameterValue(
      fifo
        ? 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or ' +
            'underscores, must end with .fifo suffix and be 1 to 80 in length.'
        : 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
    );
  validateQueueAttributes(attributes, fifo);
  const existing = state.queues.get(name);
  if (existing) {
    // CreateQueue: same name and the same attribute values returns the existing URL; a different value is an error.
    for (const [key, value] of Object.entries(attributes))
      if (existing.attributes[key] !== value)
        throw queueNameExists(`A queue already exists with the same name and a different value for attribute ${key}`);
    return existing;
  }
  const now = state.now();
  const queue: Queue = {
    name,
    url: state.urlFor(name),
    arn: state.arnFor(name),
    fifo,
    attributes: { ...QUEUE_DEFAULTS, ...(fifo ? FIFO_DEFAULTS : {}), ...attributes },
    tags: { ...tags },
    createdAt: now,
    lastModifiedAt: now,
    messages: [],
    dedup: new Map(),
  };
  state.queues.set(name, queue);
  return queue;
}

function readAttributeMap(raw: unknown, member: string): Record<string, SqsAttributeValue> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw serialization(`${member} must be a map`);
  const out: Record<string, SqsAttributeValue> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value !== 'object' || value === null) throw serialization(`${member}.${name} must be a structure`);
    const v = value as Record<string, unknown>;
    const { DataType, StringValue, BinaryValue } = v;
    if (DataType !== undefined && typeof DataType !== 'string') throw serialization('DataType must be a string');
    if (StringValue !== undefined && typeof StringValue !== 'string')
      throw serialization('StringValue must be a string');
    if (BinaryValue !== undefined && typeof BinaryValue !== 'string') throw serialization('BinaryValue must be base64');
    out[name] = {
      DataType: DataType ?? '',
      ...(StringValue !== undefined ? { StringValue } : {}),
      ...(BinaryValue !== undefined ? { BinaryValue: Buffer.from(BinaryValue, 'base64') } : {}),
    };
  }
  return out;
}

/** Developer Guide, "Amazon SQS message attributes": name, type and value rules. */
function validateMessageAttributes(attributes: Record<string, SqsAttributeValue>): void {
  const names = Object.keys(attributes);
  if (names.length > MAX_MESSAGE_ATTRIBUTES)
    throw invalidParameterValue(
      `Number of message attributes [${names.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`,
    );
  for (const name of names) {
    const attr = attributes[name]!;
    if (
      name.length === 0 ||
      name.length > 256 ||
      !/^[A-Za-z0-9_.-]+$/.test(name) ||
      name.startsWith('.') ||
      name.endsWith('.') ||
      name.includes('..') ||
      /^(aws|amazon)\./i.test(name)
    )
      throw invalidParameterValue(`Message (user) attribute name '${name}' is invalid.`);
    if (!attr.DataType)
      throw invalidParameterValue(`The message attribute '${name}' must contain non-empty message attribute type.`);
    if (attr.DataType.length > 256 || INVALID_CHARS.test(attr.DataType))
      throw invalidParameterValue(`The message attribute '${name}' has an invalid message attribute type.`);
    const base = attr.DataType.split('.')[0];
    if (base !== 'String' && base !== 'Number' && base !== 'Binary')
      throw invalidParameterValue(
        `The message attribute '${name}' has an invalid message attribute type, the set of ` +
          `supported type prefixes is Binary, Number, and String.`,
      );
    if (base === 'Binary') {
      if (!attr.BinaryValue || attr.BinaryValue.length === 0)
        throw invalidParameterValue(
          `The message attribute '${name}' with type 'Binary' must use field 'Binary' and contain a non-empty value.`,
        );
      continue;
    }
    if (attr.StringValue === undefined || attr.StringValue === '')
      throw invalidParameterValue(`The message attribute '${name}' must contain non-empty message attribute value.`);
    if (INVALID_CHARS.test(attr.StringValue)) throw invalidMessageContents(INVALID_CHARS_MESSAGE);
    if (base === 'Number' && !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(attr.StringValue))
      throw invalidParameterValue(`Can't cast the value of message (user) attribute '${name}' to a number.`);
  }
}

function attributeBytes(attributes: Record<string, SqsAttributeValue>): number {
  let total = 0;
  for (const [name, a] of Object.entries(attributes)) {
    total += Buffer.byteLength(name) + Buffer.byteLength(a.DataType);
    total += a.BinaryValue ? a.BinaryValue.length : Buffer.byteLength(a.StringValue ?? '');
  }
  return total;
}

interface Draft {
  body: string;
  delaySeconds?: number;
  messageAttributes: Record<string, SqsAttributeValue>;
  systemAttributes: Record<string, SqsAttributeValue>;
  groupId?: string;
  dedupId?: string;
}

/** Reads and checks one SendMessage request or SendMessageBatch entry against its queue. */
function draftOf(queue: Queue, input: Input): Draft {
  const body = str(input, 'MessageBody');
  // MessageBody: "The minimum size is one character."
  if (body === undefined || body === '') throw missingParameter('MessageBody');
  if (INVALID_CHARS.test(body)) throw invalidMessageContents(INVALID_CHARS_MESSAGE);
  const delaySeconds = int(input, 'DelaySeconds', [0, 900]);
  // DelaySeconds: "When you set FifoQueue, you can't set DelaySeconds per message."
  if (queue.fifo && delaySeconds !== undefined)
    throw invalidParameterValue(
      `Value ${delaySeconds} for parameter DelaySeconds is invalid. Reason: The request include ` +
        `parameter that is not valid for this queue type.`,
    );
  const messageAttributes = readAttributeMap(input.MessageAttributes, 'MessageAttributes');
  validateMessageAttributes(messageAttributes);
  const systemAttributes = readAttributeMap(input.MessageSystemAttributes, 'MessageSystemAttributes');
  for (const [name, attr] of Object.entries(systemAttributes)) {
    // MessageSystemAttributes: "the only supported message system attribute is AWSTraceHeader. Its type must be
    // String".
    if (name !== 'AWSTraceHeader' || attr.DataType !== 'String' || !attr.StringValue)
      throw invalidParameterValue(`Message system attribute name '${name}' is invalid.`);
  }
  const max = Number(queue.attributes.MaximumMessageSize);
  if (Buffer.byteLength(body) + attributeBytes(messageAttributes) > max)
    throw invalidParameterValue(
      `One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes.`,
    );
  const groupId = str(input, 'MessageGroupId');
  const dedupId = str(input, 'MessageDeduplicationId');
  // MessageGroupId / MessageDeduplicationId: "128 characters ... alphanumeric characters and punctuation".
  for (const [member, value] of [
    ['MessageGroupId', groupId],
    ['MessageDeduplicationId', dedupId],
  ] as const) {
    if (value !== undefined && !/^[\x21-\x7e]{1,128}$/.test(value))
      throw invalidParameterValue(
        `Value ${value} for parameter ${member} is invalid. Reason: ${member} can only include ` +
          `alphanumeric and punctuation characters. 1 to 128 in length.`,
      );
  }
  if (queue.fifo) {
    if (groupId === undefined) throw missingParameter('MessageGroupId');
    if (dedupId === undefined && queue.attributes.ContentBasedDeduplication !== 'true')
      throw invalidParameterValue(
        'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
      );
  } else if (dedupId !== undefined) {
    throw invalidParameterValue(
      `Value ${dedupId} for parameter MessageDeduplicationId is invalid. Reason: The request ` +
        `include parameter that is not valid for this queue type.`,
    );
  }
  return {
    body,
    messageAttributes,
    systemAttributes,
    ...(delaySeconds !== undefined ? { delaySeconds } : {}),
    ...(groupId !== undefined ? { groupId } : {}),
    ...(dedupId !== undefined ? { dedupId } : {}),
  };
}

/** Enqueues a checked message; a FIFO duplicate within five minutes is accepted and not enqueued again. */
function enqueue(state: SqsState, queue: Queue, draft: Draft, credential: string | undefined): Output {
  const now = state.now();
  const md5s = {
    MD5OfMessageBody: md5OfBody(draft.body),
    ...(Object.keys(draft.messageAttributes).length
      ? { MD5OfMessageAttributes: md5OfAttributes(draft.messageAttributes) }
      : {}),
    ...(Object.keys(draft.systemAttributes).length
      ? { MD5OfMessageSystemAttributes: md5OfAttributes(draft.systemAttributes) }
      : {}),
  };
  const message: SqsMessage = {
    messageId: state.newMessageId(),
    body: draft.body,
    messageAttributes: draft.messageAttributes,
    systemAttributes: draft.systemAttributes,
    ...(credential ? { senderId: credential } : {}),
    sentAt: now,
    visibleAt: now + (draft.delaySeconds ?? Number(queue.attributes.DelaySeconds)) * 1000,
    receiveCount: 0,
  };
  if (queue.fifo) {
    for (const [key, seen] of queue.dedup) if (now - seen.at >= DEDUP_WINDOW_MS) queue.dedup.delete(key);
    const dedupId = draft.dedupId ?? createHash('sha256').update(draft.body).digest('hex');
    const key = queue.attributes.DeduplicationScope === 'messageGroup' ? `${draft.groupId}\0${dedupId}` : dedupId;
    const seen = queue.dedup.get(key);
    if (seen) return { ...md5s, MessageId: seen.messageId, SequenceNumber: seen.sequenceNumber };
    message.groupId = draft.groupId!;
    message.dedupId = dedupId;
    message.sequenceNumber = state.nextSequenceNumber();
    queue.dedup.set(key, { at: now, messageId: message.messageId, sequenceNumber: message.sequenceNumber });
  } else if (draft.groupId !== undefined) {
    message.groupId = draft.groupId;
  }
  queue.messages.push(message);
  return {
    ...md5s,
    MessageId: message.messageId,
    ...(message.sequenceNumber ? { SequenceNumber: message.sequenceNumber } : {}),
  };
}

/** Checks a batch request's entries (Entries / Id rules shared by every *Batch action). */
function batchEntries(input: Input, entryShape: string): Input[] {
  const entries = list(input, 'Entries');
  if (entries === undefined) throw missingParameter('Entries');
  if (entries.length === 0) throw emptyBatchRequest(`There should be at least one ${entryShape} in the request.`);
  if (entries.length > MAX_BATCH)
    throw tooManyEntries(`Maximum number of entries per request are ${MAX_BATCH}. You have sent ${entries.length}.`);
  const seen = new Set<string>();
  for (const e of entries) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw serialization('Entries must hold structures');
    const id = (e as Input).Id;
    if (id === undefined || id === null) throw missingParameter(`${entryShape}.Id`);
    // *BatchRequestEntry.Id: "up to 80 characters ... alphanumeric characters, hyphens(-), and underscores (_)".
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id))
      throw invalidBatchEntryId(
        'A batch entry id can only contain alphanumeric characters, hyphens and ' +
          'underscores. It can be at most 80 letters long.',
      );
    if (seen.has(id)) throw batchEntryIdsNotDistinct(`Id ${id} repeated.`);
    seen.add(id);
  }
  return entries as Input[];
}

function failure(id: string, err: SqsError): Output {
  return {
    Id: id,
    SenderFault: err.fault === 'Sender',
    Code: err.code,
    ...(err.message ? { Message: err.message } : {}),
  };
}

function messageFor(queue: Queue, state: SqsState, handle: string): SqsMessage | undefined {
  const parsed = state.parseReceipt(queue, handle);
  if (!parsed) throw receiptHandleIsInvalid(`The input receipt handle "${handle}" is not a valid receipt handle.`);
  return queue.messages.find((m) => m.messageId === parsed.messageId);
}

/** DeleteMessage: an old receipt handle "will succeed, but the message might not be deleted" — here it is not. */
function deleteByReceipt(state: SqsState, queue: Queue, handle: string): void {
  const message = messageFor(queue, state, handle);
  if (message && message.receipt === handle) queue.messages.splice(queue.messages.indexOf(message), 1);
}

function changeVisibility(state: SqsState, queue: Queue, handle: string, timeout: number): void {
  const message = messageFor(queue, state, handle);
  if (!message || message.receipt !== handle)
    throw invalidParameterValue(
      `Value ${handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or ` +
        `is not available for visibility timeout change.`,
    );
  const now = state.now();
  if (state.stateOf(message, now) !== 'in-flight') throw messageNotInflight();
  // "If you attempt to set the VisibilityTimeout to a value greater than the maximum time left, Amazon SQS returns
  // an error."
  if (now + timeout * 1000 > message.lastReceivedAt! + MAX_VISIBILITY * 1000)
    throw invalidParameterValue(
      `Value ${timeout} for parameter VisibilityTimeout is invalid. Reason: Total ` +
        `VisibilityTimeout for the message is beyond the limit [${MAX_VISIBILITY} seconds]`,
    );
  message.visibleAt = now + timeout * 1000;
}

function visibilityTimeoutOf(input: Input, name = 'VisibilityTimeout'): number {
  const v = int(input, name, [0, MAX_VISIBILITY]);
  if (v === undefined) throw missingParameter(name);
  return v;
}

/** Names matched by ReceiveMessageRequest.MessageAttributeNames: exact, `All`, `.*`, or a `prefix.*`. */
function wantedAttribute(patterns: string[], name: string): boolean {
  return patterns.some((p) =>
    p === 'All' || p === '.*' ? true : p.endsWith('.*') ? name.startsWith(p.slice(0, -1)) : p === name,
  );
}

function received(m: SqsMessage, systemNames: Set<string>, attributePatterns: string[]): Output {
  const all = systemNames.has('All');
  const want = (n: string) => all || systemNames.has(n);
  const attributes: Record<string, string> = {};
  if (want('SenderId') && m.senderId) attributes.SenderId = m.senderId;
  if (want('SentTimestamp')) attributes.SentTimestamp = String(m.sentAt);
  if (want('ApproximateReceiveCount')) attributes.ApproximateReceiveCount = String(m.receiveCount);
  if (want('ApproximateFirstReceiveTimestamp')) attributes.ApproximateFirstReceiveTimestamp = String(m.firstReceivedAt);
  if (want('AWSTraceHeader') && m.systemAttributes.AWSTraceHeader?.StringValue)
    attributes.AWSTraceHeader = m.systemAttributes.AWSTraceHeader.StringValue;
  if (want('SqsManagedSseEnabled')) attributes.SqsManagedSseEnabled = 'true';
  if (want('MessageGroupId') && m.groupId !== undefined) attributes.MessageGroupId = m.groupId;
  if (want('MessageDeduplicationId') && m.dedupId !== undefined) attributes.MessageDeduplicationId = m.dedupId;
  if (want('SequenceNumber') && m.sequenceNumber !== undefined) attributes.SequenceNumber = m.sequenceNumber;
  const picked = Object.fromEntries(
    Object.entries(m.messageAttributes).filter(([name]) => wantedAttribute(attributePatterns, name)),
  );
  const wire = Object.fromEntries(
    Object.entries(picked).map(([name, a]) => [
      name,
      {
        DataType: a.DataType,
        ...(a.StringValue !== undefined ? { StringValue: a.StringValue } : {}),
        ...(a.BinaryValue !== undefined ? { BinaryValue: a.BinaryValue.toString('base64') } : {}),
      },
    ]),
  );
  return {
    MessageId: m.messageId,
    ReceiptHandle: m.receipt,
    MD5OfBody: md5OfBody(m.body),
    Body: m.body,
    ...(Object.keys(attributes).length ? { Attributes: attributes } : {}),
    ...(Object.keys(picked).length ? { MD5OfMessageAttributes: md5OfAttributes(picked), MessageAttributes: wire } : {}),
  };
}

export const OPERATIONS: Record<string, Operation> = {
  CreateQueue: {
    mutating: true,
    run(state, input) {
      const name = str(input, 'QueueName', true);
      const tags = stringMap(input, 'tags');
      return { QueueUrl: createQueue(state, name, stringMap(input, 'Attributes'), tags).url };
    },
  },

  GetQueueUrl: {
    mutating: false,
    run(state, input) {
      const name = str(input, 'QueueName', true);
      const owner = str(input, 'QueueOwnerAWSAccountId');
      const queue = owner === undefined || owner === state.accountId ? state.queues.get(name) : undefined;
      if (!queue) throw queueDoesNotExist();
      return { QueueUrl: queue.url };
    },
  },

  GetQueueAttributes: {
    mutating: false,
    run(state, input) {
      const queue = state.byUrl(str(input, 'QueueUrl', true));
      const names = (list(input, 'AttributeNames') ?? []).map((n) => {
        if (typeof n !== 'string') throw serialization('AttributeNames must hold strings');
        if (n !== 'All' && !READABLE.has(n)) throw invalidAttributeName(`Unknown Attribute ${n}.`);
        return n;
      });
      if (names.length === 0) return {};
      const counts = state.counts(queue);
      const all: Record<string, string> = {
        QueueArn: queue.arn,
        ApproximateNumberOfMessages: String(counts.visible),
        ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
        ApproximateNumberOfMessagesDelayed: String(counts.delayed),
        CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
        LastModifiedTimestamp: String(Math.floor(queue.lastModifiedAt / 1000)),
        ...queue.attributes,
      };
      const picked = names.includes('All')
        ? all
        : Object.fromEntries(names.filter((n) => all[n] !== undefined).map((n) => [n, all[n]!]));
      return { Attributes: picked };
    },
  },

  SendMessage: {
    mutating: true,
    run(state, input, ctx) {
      const queue = state.byUrl(str(input, 'QueueUrl', true));
      return enqueue(state, queue, draftOf(queue, input), ctx.credential);
    },
  },

  SendMessageBatch: {
    mutating: true,
    run(state, input, ctx) {
      const queue = state.byUrl(str(input, 'QueueUrl', true));
      const entries = batchEntries(input, 'SendMessageBatchRequestEntry');
      let total = 0;
      for (const e of entries) {
        const body = typeof e.MessageBody === 'string' ? e.MessageBody : '';
        total += Buffer.byteLength(body) + attributeBytes(readAttributeMap(e.MessageAttributes, 'MessageAttributes'));
      }
      if (total > MAX_BATCH_BYTES)
        throw batchRequestTooLong(
          `Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes. You have sent ${total} bytes.`,
        );
      const Successful: Output[] = [];
      const Failed: Output[] = [];
      for (const e of entries) {
        const id = e.Id as string;
        try {
          Successful.push({ Id: id, ...enqueue(state, queue, draftOf(queue, e), ctx.credential) });
        } catch (err) {
          if (!(err instanceof SqsError)) throw err;
          Failed.push(failure(id, err));
        }
      }
      return { Successful, Failed };
    },
  },

  ReceiveMessage: {
    mutating: true,
    async run(state, input, ctx) {
      const queue = state.byUrl(str(input, 'QueueUrl', true));
      const max = int(input, 'MaxNumberOfMessages', [1, 10]) ?? 1;
      const visibility =
        int(input, 'VisibilityTimeout', [0, MAX_VISIBILITY]) ?? Number(queue.attributes.VisibilityTimeout);
      const waitSeconds =
        int(input, 'WaitTimeSeconds', [0, 20]) ?? Number(queue.attributes.ReceiveMessageWaitTimeSeconds);
      const systemNames = new Set<string>();
      for (const key of ['AttributeNames', 'MessageSystemAttributeNames']) {
        for (const n of list(input, key) ?? []) {
          if (typeof n !== 'string') throw serialization(`${key} must hold strings`);
          if (n !== 'All' && !SYSTEM_ATTRIBUTE_NAMES.includes(n) && !READABLE.has(n))
            throw invalidAttributeName(`Unknown Attribute ${n}.`);
          systemNames.add(n);
        }
      }
      const attributePatterns = (list(input, 'MessageAttributeNames') ?? []).map((n) => {
        if (typeof n !== 'string') throw serialization('MessageAttributeNames must hold strings');
        return n;
      });
      str(input, 'ReceiveRequestAttemptId');
      // Long polling (WaitTimeSeconds, at most 20): answer as soon as a message is receivable, else when the wait ends.
      const deadline = Date.now() + waitSeconds * 1000;
      for (;;) {
        const got = state.receive(queue, max, visibility);
        if (got.length > 0) return { Messages: got.map((m) => received(m, systemNames, attributePatterns)) };
        if (Date.now() >= deadline || ctx.aborted()) return {};
        await sleep(Math.min(POLL_EVERY_MS, Math.max(1, deadline - Date.now())));
      }
    },
  },

  DeleteMessage: {
    mutating: true,
    run(state, input) {
      const queue = state.byUrl(str(input, 'QueueUrl', true));
      deleteByReceipt(state, queue, str(input, 'ReceiptHandle', true));
      return {};
    },
  },

  DeleteMessageBatch: {
    mutating: true,
    run(state, input) {
      const queue = state.byUrl(str(input, 'QueueUrl', true));
      const Successful: Output[] = [];
      const Failed: Output[] = [];
      for (const e of batchEntries(input, 'DeleteMessageBatchRequestEntry')) {
        const id = e.Id as string;
        try {
          deleteByReceipt(state, queue, str(e, 'ReceiptHandle', true));
          Successful.push({ Id: id });
        } catch (err) {
          if (!(err instanceof SqsError)) throw err;
          Failed.push(failure(id, err));
        }
      }
      return { Successful, Failed };
    },
  },

  ChangeMessageVisibility: {
    mutating: true,
    run(state, input) {
      const queue = state.byUrl(str(input, 'QueueUrl', true));
      const handle = str(input, 'ReceiptHandle', true);
      changeVisibility(state, queue, handle, visibilityTimeoutOf(input));
      return {};
    },
  },
};
