import { createHash, randomUUID } from 'node:crypto';
import { SnsError, invalidParameter, invalidParameterValue, missing } from './errors.js';
import {
  DEDUP_WINDOW_MS,
  type PublishedMessage,
  type SnsMessageAttribute,
  type SnsState,
  type Topic,
} from './state.js';
import { el, listPrefixes, mapEntries, type Params } from './wire.js';

/**
 * The SNS operations the rotator's alerting uses. Constraints and error codes come from the
 * service model shipped in @aws-sdk/client-sns (dist-types/models/models_0.d.ts documentation,
 * dist-es/schemas/schemas_0.js error traits) and the SNS API Reference / Developer Guide pages
 * named next to each rule.
 */

export interface Context {
  operation: string;
  credential?: string;
}

type Operation = { mutating: boolean; run: (state: SnsState, params: Params, ctx: Context) => string };

/** PublishInput.Message: "By default, a message can be at most 256 KiB in size (262,144 bytes)". */
const DEFAULT_MAX_MESSAGE_BYTES = 262_144;
/** CreateTopicInput.Attributes MaximumMessageSize: "Valid values are 1024 to 1048576 (1 MiB)". */
const MAX_MESSAGE_SIZE_RANGE = [1024, 1_048_576] as const;
/** ListTopics: "Each call returns a limited list of topics, up to 100." */
const LIST_PAGE = 100;
/** PublishBatch: "Publishes up to 10 messages". */
const MAX_BATCH = 10;

/** Attribute names CreateTopicInput.Attributes documents (plus FifoTopic, SignatureVersion from GetTopicAttributes). */
const TOPIC_ATTRIBUTES = new Set([
  'DeliveryPolicy',
  'DisplayName',
  'MaximumMessageSize',
  'Policy',
  'TracingConfig',
  'SignatureVersion',
  'KmsMasterKeyId',
  'FifoTopic',
  'ContentBasedDeduplication',
  'ArchivePolicy',
  'FifoThroughputScope',
  ...['HTTP', 'Firehose', 'Lambda', 'Application', 'SQS'].flatMap((p) => [
    `${p}SuccessFeedbackRoleArn`,
    `${p}SuccessFeedbackSampleRate`,
    `${p}FailureFeedbackRoleArn`,
  ]),
]);

function required(params: Params, name: string, member = name[0]!.toLowerCase() + name.slice(1)): string {
  const v = params.get(name);
  if (v === undefined) throw missing(member);
  return v;
}

const bool = (v: string | undefined) => v?.toLowerCase() === 'true';

function validateTopicName(name: string, fifo: boolean): void {
  const base = fifo ? name.slice(0, -'.fifo'.length) : name;
  const ok = name.length >= 1 && name.length <= 256 && /^[A-Za-z0-9_-]+$/.test(base);
  if (fifo && (!name.endsWith('.fifo') || !ok))
    throw invalidParameter(
      'Fifo Topic names must end with .fifo and must be made up of only uppercase and ' +
        'lowercase ASCII letters, numbers, underscores, and hyphens, and must be between ' +
        '1 and 256 characters long.',
    );
  if (!ok) throw invalidParameter('Topic Name');
}

function validateTopicAttributes(attributes: Record<string, string>, fifo: boolean): void {
  for (const [key, value] of Object.entries(attributes)) {
    if (!TOPIC_ATTRIBUTES.has(key)) throw invalidParameter('AttributeName');
    const reason = (why: string) => invalidParameter(`Attributes Reason: ${key}: ${why}`);
    switch (key) {
      case 'FifoTopic':
      case 'ContentBasedDeduplication':
        if (!/^(true|false)$/i.test(value)) throw reason(`${value} is not a valid boolean`);
        if (key === 'ContentBasedDeduplication' && bool(value) && !fifo)
          throw reason('Content-based deduplication can only be set for FIFO topics');
        break;
      case 'MaximumMessageSize': {
        const n = Number(value);
        if (!Number.isInteger(n) || n < MAX_MESSAGE_SIZE_RANGE[0] || n > MAX_MESSAGE_SIZE_RANGE[1])
          throw reason(`must be an integer between ${MAX_MESSAGE_SIZE_RANGE[0]} and ${MAX_MESSAGE_SIZE_RANGE[1]}`);
        break;
      }
      case 'FifoThroughputScope':
        if (!fifo) throw reason('FifoThroughputScope is only valid for FIFO topics');
        if (value !== 'Topic' && value !== 'MessageGroup') throw reason(`${value} is not Topic or MessageGroup`);
        break;
      case 'TracingConfig':
        if (value !== 'PassThrough' && value !== 'Active') throw reason(`${value} is not PassThrough or Active`);
        if (value === 'Active' && fifo) throw reason('Active tracing is only supported on standard topics');
        break;
      case 'DeliveryPolicy':
      case 'Policy':
      case 'ArchivePolicy':
        try {
          JSON.parse(value);
        } catch {
          throw reason('failed to parse JSON');
        }
        break;
      default:
        break;
    }
  }
}

function tagsOf(params: Params): { Key: string; Value: string }[] {
  const tags = (listPrefixes(params, 'Tags') ?? []).map((p) => ({
    Key: params.get(`${p}.Key`) ?? '',
    Value: params.get(`${p}.Value`) ?? '',
  }));
  // TagLimitExceededException: "Can't add more than 50 tags to a topic."
  if (tags.length > 50)
    throw new SnsError('TagLimitExceeded', 'Could not complete request: tag quota of per resource exceeded');
  for (const t of tags) {
    if (t.Key.length < 1 || t.Key.length > 128)
      throw invalidParameter('Tags Reason: Tag keys must be 1-128 characters');
    if (t.Value.length > 256) throw invalidParameter('Tags Reason: Tag values must be 0-256 characters');
  }
  return tags;
}

/** The default access policy SNS gives a new topic (owner may do everything). */
function defaultPolicy(topic: Topic, accountId: string): string {
  return JSON.stringify({
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: [
          'SNS:GetTopicAttributes',
          'SNS:SetTopicAttributes',
          'SNS:AddPermission',
          'SNS:RemovePermission',
          'SNS:DeleteTopic',
          'SNS:Subscribe',
          'SNS:ListSubscriptionsByTopic',
          'SNS:Publish',
        ],
        Resource: topic.arn,
        Condition: { StringEquals: { 'AWS:SourceOwner': accountId } },
      },
    ],
  });
}

const EFFECTIVE_DELIVERY_POLICY = JSON.stringify({
  http: {
    defaultHealthyRetryPolicy: {
      minDelayTarget: 20,
      maxDelayTarget: 20,
      numRetries: 3,
      numMaxDelayRetries: 0,
      numNoDelayRetries: 0,
      numMinDelayRetries: 0,
      backoffFunction: 'linear',
    },
    disableSubscriptionOverrides: false,
    defaultRequestPolicy: { headerContentType: 'text/plain; charset=UTF-8' },
  },
});

export function createTopic(
  state: SnsState,
  name: string,
  attributes: Record<string, string> = {},
  tags: { Key: string; Value: string }[] = [],
): Topic {
  const fifo = bool(attributes.FifoTopic);
  validateTopicName(name, fifo);
  if (!fifo && name.endsWith('.fifo')) throw invalidParameter('Topic Name');
  validateTopicAttributes(attributes, fifo);
  const arn = state.arnFor(name);
  const existing = state.topics.get(arn);
  if (existing) {
    // "This action is idempotent": same name returns the same ARN, unless what was asked for differs.
    if (Object.entries(attributes).some(([k, v]) => (existing.attributes[k] ?? '') !== v))
      throw invalidParameter('Attributes Reason: Topic already exists with different attributes');
    const known = new Map(existing.tags.map((t) => [t.Key, t.Value]));
    if (tags.some((t) => known.get(t.Key) !== t.Value))
      throw invalidParameter('Tags Reason: Topic already exists with different tags');
    return existing;
  }
  const topic: Topic = {
    arn,
    name,
    fifo,
    attributes: { ...attributes },
    tags: [...tags],
    createdAt: state.now(),
    messages: [],
    dedup: new Map(),
  };
  state.topics.set(arn, topic);
  return topic;
}

function readMessageAttributes(params: Params, prefix: string): Record<string, SnsMessageAttribute> {
  const out: Record<string, SnsMessageAttribute> = {};
  for (const [name, valuePrefix] of mapEntries(params, `${prefix}MessageAttributes`, 'Name', 'Value') ?? []) {
    const binary = params.get(`${valuePrefix}.BinaryValue`);
    const stringValue = params.get(`${valuePrefix}.StringValue`);
    out[name] = {
      DataType: params.get(`${valuePrefix}.DataType`) ?? '',
      ...(stringValue !== undefined ? { StringValue: stringValue } : {}),
      ...(binary !== undefined ? { BinaryValue: Buffer.from(binary, 'base64') } : {}),
    };
  }
  return out;
}

/** Amazon SNS Developer Guide, "Amazon SNS message attributes": name, type and value rules. */
function validateMessageAttributes(attributes: Record<string, SnsMessageAttribute>): void {
  for (const [name, attr] of Object.entries(attributes)) {
    if (
      name.length === 0 ||
      name.length > 256 ||
      !/^[A-Za-z0-9_.-]+$/.test(name) ||
      name.startsWith('.') ||
      name.endsWith('.') ||
      name.includes('..') ||
      /^(aws|amazon)\./i.test(name)
    )
      throw invalidParameterValue(`The message attribute name '${name}' is invalid.`);
    const type = attr.DataType;
    const base = type === 'String.Array' || type.startsWith('String.Array.') ? 'String.Array' : type.split('.')[0];
    if (!type || !['String', 'String.Array', 'Number', 'Binary'].includes(base ?? ''))
      throw invalidParameterValue(
        `The message attribute '${name}' has an invalid message attribute type, the set of ` +
          `supported type prefixes is Binary, Number, String and String.Array.`,
      );
    if (base === 'Binary') {
      if (!attr.BinaryValue || attr.BinaryValue.length === 0)
        throw invalidParameterValue(`The message attribute '${name}' with type 'Binary' must use field 'Binary'.`);
      continue;
    }
    if (attr.StringValue === undefined || attr.StringValue === '')
      throw invalidParameterValue(`The message attribute '${name}' must contain non-empty message attribute value.`);
    if (base === 'Number') {
      const n = Number(attr.StringValue);
      if (!/^-?\d+(\.\d{1,5})?$/.test(attr.StringValue.trim()) || Math.abs(n) > 1e9)
        throw invalidParameterValue(
          `Value ${attr.StringValue} for parameter MessageAttributes is invalid. Reason: '${name}' ` +
            `must be a number between -10^9 and 10^9 with at most 5 digits after the decimal point.`,
        );
    }
    if (base === 'String.Array') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(attr.StringValue);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed) || parsed.some((v) => v !== null && typeof v === 'object'))
        throw invalidParameterValue(
          `The message attribute '${name}' with type 'String.Array' must be a JSON array of strings, ` +
            `numbers, booleans or null.`,
        );
    }
  }
}

function attributeBytes(attributes: Record<string, SnsMessageAttribute>): number {
  let total = 0;
  for (const [name, a] of Object.entries(attributes)) {
    total += Buffer.byteLength(name) + Buffer.byteLength(a.DataType);
    total += a.BinaryValue ? a.BinaryValue.length : Buffer.byteLength(a.StringValue ?? '');
  }
  return total;
}

const maxBytes = (topic: Topic) => Number(topic.attributes.MaximumMessageSize ?? DEFAULT_MAX_MESSAGE_BYTES);

interface Draft {
  message: string;
  subject?: string;
  messageStructure?: string;
  messageAttributes: Record<string, SnsMessageAttribute>;
  messageGroupId?: string;
  messageDeduplicationId?: string;
}

/** Read one Publish (prefix '') or PublishBatch entry (prefix 'PublishBatchRequestEntries.member.N.'). */
function readDraft(params: Params, prefix: string): Draft {
  const message = params.get(`${prefix}Message`);
  if (message === undefined) throw missing('message');
  const optional = (k: string) => params.get(`${prefix}${k}`);
  const subject = optional('Subject');
  const messageStructure = optional('MessageStructure');
  const messageGroupId = optional('MessageGroupId');
  const messageDeduplicationId = optional('MessageDeduplicationId');
  return {
    message,
    messageAttributes: readMessageAttributes(params, prefix),
    ...(subject !== undefined ? { subject } : {}),
    ...(messageStructure !== undefined ? { messageStructure } : {}),
    ...(messageGroupId !== undefined ? { messageGroupId } : {}),
    ...(messageDeduplicationId !== undefined ? { messageDeduplicationId } : {}),
  };
}

/** Everything PublishInput documents about one message, checked against its topic. */
function validateDraft(draft: Draft, topic: Topic): void {
  // PublishInput.Subject: "UTF-8 text with no line breaks or control characters, and less than 100 characters long."
  if (draft.subject !== undefined) {
    // eslint-disable-next-line no-control-regex -- control characters are what the rule forbids
    if (draft.subject === '' || draft.subject.length >= 100 || /[\u0000-\u001f\u007f]/.test(draft.subject))
      throw invalidParameter('Subject');
  }
  if (draft.message === '') throw invalidParameter('Empty message');
  validateMessageAttributes(draft.messageAttributes);
  // PublishInput.Message: SNS "validates the combined size of the message body and message attributes".
  if (Buffer.byteLength(draft.message) + attributeBytes(draft.messageAttributes) > maxBytes(topic))
    throw invalidParameter('Message too long');
  if (draft.messageStructure !== undefined) {
    // PublishInput.MessageStructure: "Valid value: json"; a JSON object with a top-level string "default".
    if (draft.messageStructure !== 'json') throw invalidParameter('MessageStructure');
    let body: unknown;
    try {
      body = JSON.parse(draft.message);
    } catch {
      throw invalidParameter('Message Structure - JSON message body failed to parse');
    }
    if (typeof body !== 'object' || body === null || typeof (body as Record<string, unknown>).default !== 'string')
      throw invalidParameter('Message Structure - No default entry in JSON message body');
  }
  // MessageGroupId / MessageDeduplicationId: "up to 128 alphanumeric characters (a-z, A-Z, 0-9) and punctuation".
  for (const [member, value] of [
    ['MessageGroupId', draft.messageGroupId],
    ['MessageDeduplicationId', draft.messageDeduplicationId],
  ] as const) {
    if (value !== undefined && !/^[\x21-\x7e]{1,128}$/.test(value))
      throw invalidParameter(
        `${member} Reason: ${member} can only include alphanumeric and punctuation characters. 1 to 128 in length.`,
      );
  }
  if (topic.fifo) {
    if (draft.messageGroupId === undefined)
      throw invalidParameter('The MessageGroupId parameter is required for FIFO topics');
    if (draft.messageDeduplicationId === undefined && !bool(topic.attributes.ContentBasedDeduplication))
      throw invalidParameter(
        'The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
      );
  } else if (draft.messageDeduplicationId !== undefined) {
    throw invalidParameter(
      'MessageDeduplicationId Reason: The request includes MessageDeduplicationId ' +
        'parameter that is not valid for this topic type',
    );
  }
}

/** Records an accepted message; a FIFO duplicate inside the five-minute window is accepted but not delivered. */
function accept(
  state: SnsState,
  topic: Topic,
  draft: Draft,
  via: PublishedMessage['via'],
): { messageId: string; sequenceNumber?: string } {
  const now = state.now();
  if (topic.fifo) {
    for (const [key, seen] of topic.dedup) if (now - seen.at >= DEDUP_WINDOW_MS) topic.dedup.delete(key);
    const dedupId = draft.messageDeduplicationId ?? createHash('sha256').update(draft.message).digest('hex');
    const key =
      topic.attributes.FifoThroughputScope === 'MessageGroup' ? `${draft.messageGroupId}\0${dedupId}` : dedupId;
    const seen = topic.dedup.get(key);
    if (seen) return { messageId: seen.messageId, sequenceNumber: seen.sequenceNumber };
    const messageId = randomUUID();
    const sequenceNumber = state.nextSequenceNumber();
    topic.dedup.set(key, { at: now, messageId, sequenceNumber });
    topic.messages.push({
      messageId,
      topicArn: topic.arn,
      ...draft,
      messageDeduplicationId: dedupId,
      sequenceNumber,
      publishedAt: now,
      via,
    });
    return { messageId, sequenceNumber };
  }
  const messageId = randomUUID();
  topic.messages.push({ messageId, topicArn: topic.arn, ...draft, publishedAt: now, via });
  return { messageId };
}

export const OPERATIONS: Record<string, Operation> = {
  CreateTopic: {
    mutating: true,
    run(state, params) {
      const name = required(params, 'Name');
      const attributes = Object.fromEntries(
        (mapEntries(params, 'Attributes') ?? []).map(([k, v]) => [k, params.get(v) ?? '']),
      );
      return el('TopicArn', createTopic(state, name, attributes, tagsOf(params)).arn);
    },
  },

  GetTopicAttributes: {
    mutating: false,
    run(state, params) {
      const topic = state.topic(required(params, 'TopicArn'));
      const attributes: Record<string, string> = {
        Owner: state.accountId,
        Policy: defaultPolicy(topic, state.accountId),
        TopicArn: topic.arn,
        DisplayName: '',
        SubscriptionsConfirmed: '0',
        SubscriptionsPending: '0',
        SubscriptionsDeleted: '0',
        EffectiveDeliveryPolicy: EFFECTIVE_DELIVERY_POLICY,
        ...(topic.fifo ? { FifoTopic: 'true', ContentBasedDeduplication: 'false' } : {}),
        ...topic.attributes,
      };
      return el(
        'Attributes',
        Object.entries(attributes).map(([k, v]) => el('entry', [el('key', k), el('value', v)])),
      );
    },
  },

  ListTopics: {
    mutating: false,
    run(state, params) {
      const all = [...state.topics.values()];
      const token = params.get('NextToken');
      let start = 0;
      if (token !== undefined) {
        start = Number.parseInt(Buffer.from(token, 'base64url').toString('utf8'), 10);
        if (!Number.isInteger(start) || start < 1 || start > all.length) throw invalidParameter('NextToken');
      }
      const page = all.slice(start, start + LIST_PAGE);
      const next =
        start + LIST_PAGE < all.length ? Buffer.from(String(start + LIST_PAGE)).toString('base64url') : undefined;
      return (
        el(
          'Topics',
          page.map((t) => el('member', [el('TopicArn', t.arn)])),
        ) + el('NextToken', next)
      );
    },
  },

  Publish: {
    mutating: true,
    run(state, params) {
      const topicArn = params.get('TopicArn');
      const targetArn = params.get('TargetArn');
      const phoneNumber = params.get('PhoneNumber');
      const draft = readDraft(params, '');
      if ([topicArn, targetArn, phoneNumber].filter((v) => v !== undefined).length > 1)
        throw invalidParameter(
          'TopicArn or TargetArn Reason: Only one of TopicArn, TargetArn or PhoneNumber may be set',
        );
      if (phoneNumber !== undefined)
        throw invalidParameter(
          `PhoneNumber Reason: ${phoneNumber} is not valid to publish to (this emulator sends no SMS)`,
        );
      const arn = topicArn ?? targetArn;
      if (arn === undefined) throw invalidParameter('TopicArn or TargetArn Reason: no value for required parameter');
      if (targetArn?.includes(':endpoint/'))
        throw invalidParameter('TargetArn Reason: No endpoint found for the target arn specified');
      const topic = state.topic(arn, topicArn !== undefined ? 'TopicArn' : 'TargetArn');
      validateDraft(draft, topic);
      const { messageId, sequenceNumber } = accept(state, topic, draft, 'Publish');
      return el('MessageId', messageId) + el('SequenceNumber', sequenceNumber);
    },
  },

  PublishBatch: {
    mutating: true,
    run(state, params) {
      const topicArn = required(params, 'TopicArn');
      const prefixes = listPrefixes(params, 'PublishBatchRequestEntries');
      if (prefixes === undefined) throw missing('publishBatchRequestEntries');
      if (prefixes.length === 0)
        throw new SnsError('EmptyBatchRequest', "The batch request doesn't contain any entries.");
      if (prefixes.length > MAX_BATCH)
        throw new SnsError('TooManyEntriesInBatchRequest', 'The batch request contains more entries than permissible.');
      const topic = state.topic(topicArn);
      const ids = prefixes.map((p) => params.get(`${p}.Id`) ?? '');
      // PublishBatchRequestEntry.Id: "can contain up to 80 characters ... alphanumeric characters, hyphens (-), and
      // underscores (_)".
      if (ids.some((id) => !/^[A-Za-z0-9_-]{1,80}$/.test(id)))
        throw new SnsError(
          'InvalidBatchEntryId',
          "The Id of a batch entry in a batch request doesn't abide by the specification.",
        );
      if (new Set(ids).size !== ids.length)
        throw new SnsError('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.');
      const drafts = prefixes.map((p) => readDraft(params, `${p}.`));
      const total = drafts.reduce(
        (sum, d) => sum + Buffer.byteLength(d.message) + attributeBytes(d.messageAttributes),
        0,
      );
      if (total > maxBytes(topic))
        throw new SnsError(
          'BatchRequestTooLong',
          'The length of all the messages put together is more than the limit.',
        );
      const successful: string[] = [];
      const failed: string[] = [];
      drafts.forEach((draft, i) => {
        const id = ids[i]!;
        try {
          validateDraft(draft, topic);
          const { messageId, sequenceNumber } = accept(state, topic, draft, 'PublishBatch');
          successful.push(
            el('member', [el('Id', id), el('MessageId', messageId), el('SequenceNumber', sequenceNumber)]),
          );
        } catch (err) {
          if (!(err instanceof SnsError)) throw err;
          failed.push(
            el('member', [el('Id', id), el('Code', err.code), el('Message', err.message), el('SenderFault', 'true')]),
          );
        }
      });
      return el('Successful', successful) + el('Failed', failed);
    },
  },
};
