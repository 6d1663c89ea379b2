import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { actOutFault, EmulatorControls, accessKeyOf, handleControlRoute, serve } from '../common/index.js';
import { SqsError, internalFailure, requestThrottled } from './errors.js';
import { OPERATIONS, createQueue } from './operations.js';
import { SqsState, type MessageState } from './state.js';
import type { SqsAttributeValue } from './md5.js';

/**
 * Amazon SQS over its real wire protocol. @aws-sdk/client-sqs (3.1175) is configured with
 * `protocol: AwsJson1_0Protocol` and `awsQueryCompatible: true` (dist-cjs/index.js, runtime config):
 * POST `/` with `Content-Type: application/x-amz-json-1.0`, `X-Amz-Target: AmazonSQS.<Operation>` and
 * `x-amzn-query-mode: true`; errors carry `x-amzn-query-error: <code>;<Sender|Receiver>`, which that SDK
 * reads first to pick the exception. Signatures are not checked; the access key id is what the log records.
 */

export const SQS_OPERATIONS = Object.keys(OPERATIONS);

export type { MessageState } from './state.js';
export type { SqsAttributeValue } from './md5.js';

export interface QueuedMessage {
  messageId: string;
  body: string;
  messageAttributes: Record<string, SqsAttributeValue>;
  state: MessageState;
  receiveCount: number;
  sentAt: number;
  /** When a delayed or in-flight message becomes receivable again. */
  visibleAt: number;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  sequenceNumber?: string;
}

export interface SqsEmulator {
  url: string;
  close(): Promise<void>;
  controls: EmulatorControls;
  region: string;
  accountId: string;
  /** Messages still in the queue (not deleted, not expired), in send order, with their current state. */
  messages(queueUrl: string): QueuedMessage[];
  /** ApproximateNumberOfMessages / …NotVisible / …Delayed, exactly. */
  counts(queueUrl: string): { visible: number; inFlight: number; delayed: number };
  /** Creates (or finds, if identical) a queue without HTTP; returns its URL. */
  createQueueDirect(name: string, attributes?: Record<string, string>): string;
  queueUrls(): string[];
  setClock(fn: () => number): void;
}

/** Room for 1 MiB of message content once JSON- or form-encoded (percent-encoding can triple it). */
const BODY_LIMIT = 8 * 1024 * 1024;

export async function startSqsEmulator(
  opts: { port?: number; region?: string; accountId?: string; now?: () => number } = {},
): Promise<SqsEmulator> {
  const region = opts.region ?? 'us-east-1';
  const accountId = opts.accountId ?? '123456789012';
  const state = new SqsState(region, accountId, opts.now ?? Date.now);
  const controls = new EmulatorControls('sqs');

  const handler = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    if (handleControlRoute(controls, req, res, body)) return;
    const requestId = randomUUID();
    const reply = (status: number, payload: unknown, queryError?: string) => {
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': requestId,
        ...(queryError ? { 'x-amzn-query-error': queryError } : {}),
      });
      res.end(JSON.stringify(payload));
    };
    const replyError = (err: SqsError) =>
      reply(
        err.status,
        { __type: err.type, ...(err.message ? { message: err.message } : {}) },
        err.code ? `${err.code};${err.fault}` : undefined,
      );
    const target = String(req.headers['x-amz-target'] ?? '');
    const name = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
    const op = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
    if (req.method !== 'POST' || !op) {
      replyError(new SqsError('UnknownOperationException', '', `Unknown operation ${target || '(no X-Amz-Target)'}`));
      return;
    }
    const credential = accessKeyOf(req);
    const admission = await controls.admit({
      operation: name,
      method: 'POST',
      path: (req.url ?? '/').split('?')[0] ?? '/',
      ...(credential ? { credential } : {}),
      mutating: op.mutating,
    });
    const fail = (err: SqsError) => {
      admission.entry.status = err.status;
      replyError(err);
    };
    const faulted = await actOutFault(admission, req, {
      serverError: () => fail(internalFailure('We encountered an internal error. Please try again.')),
      // RequestThrottled: awsQueryError RequestThrottled, httpError 403 in the shipped model.
      throttle: () => fail(requestThrottled('Rate exceeded')),
    });
    if (faulted) return;
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      return fail(
        new SqsError('com.amazon.coral.service#SerializationException', '', 'Request body is not valid JSON.'),
      );
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      return fail(
        new SqsError('com.amazon.coral.service#SerializationException', '', 'Request body must be a JSON object.'),
      );
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    try {
      const output = await op.run(state, input as Record<string, unknown>, {
        ...(credential ? { credential } : {}),
        aborted: () => gone,
      });
      admission.entry.status = 200;
      reply(200, output);
    } catch (err) {
      if (err instanceof SqsError) return fail(err);
      throw err;
    }
  };

  const server = await serve(handler, opts.port ?? 0, '127.0.0.1', { maxBodyBytes: BODY_LIMIT });
  state.baseUrl = server.url;
  return {
    url: server.url,
    close: () => server.close(),
    controls,
    region,
    accountId,
    messages(queueUrl) {
      const queue = state.byUrl(queueUrl);
      const now = state.now();
      return queue.messages.map((m) => ({
        messageId: m.messageId,
        body: m.body,
        messageAttributes: Object.fromEntries(Object.entries(m.messageAttributes).map(([k, v]) => [k, { ...v }])),
        state: state.stateOf(m, now),
        receiveCount: m.receiveCount,
        sentAt: m.sentAt,
        visibleAt: m.visibleAt,
        ...(m.groupId !== undefined ? { messageGroupId: m.groupId } : {}),
        ...(m.dedupId !== undefined ? { messageDeduplicationId: m.dedupId } : {}),
        ...(m.sequenceNumber !== undefined ? { sequenceNumber: m.sequenceNumber } : {}),
      }));
    },
    counts(queueUrl) {
      return state.counts(state.byUrl(queueUrl));
    },
    createQueueDirect(name, attributes = {}) {
      return createQueue(state, name, attributes).url;
    },
    queueUrls() {
      return [...state.queues.values()].map((q) => q.url);
    },
    setClock(fn) {
      state.now = fn;
    },
  };
}
