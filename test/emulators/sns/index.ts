import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { actOutFault, EmulatorControls, accessKeyOf, handleControlRoute, serve } from '../common/index.js';
import { SnsError } from './errors.js';
import { OPERATIONS, createTopic } from './operations.js';
import { SnsState, type DenyRule, type PublishedMessage } from './state.js';
import { errorXml, parseParams, successXml } from './wire.js';

/**
 * Amazon SNS over its real wire protocol. @aws-sdk/client-sns (3.1169) is configured with
 * `protocol: AwsQueryProtocol` (dist-cjs/index.js, runtime config), i.e. awsQuery: a form-encoded POST to `/`
 * with `Action` and `Version=2010-03-31`, answered in XML in the http://sns.amazonaws.com/doc/2010-03-31/
 * namespace. Signatures are not checked; the SigV4 access key id is what the request log records.
 * Beside the test controls, GET /__emulator/published lists every topic's published messages.
 */

export const SNS_OPERATIONS = Object.keys(OPERATIONS);

export type { DenyRule, PublishedMessage, SnsMessageAttribute } from './state.js';

export interface SnsEmulator {
  url: string;
  close(): Promise<void>;
  controls: EmulatorControls;
  region: string;
  accountId: string;
  /** Every message SNS accepted for delivery to the topic, oldest first (FIFO duplicates are not repeated). */
  published(topicArn: string): PublishedMessage[];
  /** Creates (or, idempotently, finds) a topic without HTTP; returns its ARN. */
  createTopicDirect(name: string, attributes?: Record<string, string>): string;
  topicArns(): string[];
  /**
   * Answer matching requests with AuthorizationError (403), as SNS does when IAM or the topic policy
   * denies the caller. Every given field must match; an empty rule denies everything.
   */
  deny(rule: DenyRule): void;
  clearDenies(): void;
  setClock(fn: () => number): void;
}

/** Room for 1 MiB of message content once JSON- or form-encoded (percent-encoding can triple it). */
const BODY_LIMIT = 8 * 1024 * 1024;

export async function startSnsEmulator(
  opts: { port?: number; region?: string; accountId?: string; now?: () => number } = {},
): Promise<SnsEmulator> {
  const region = opts.region ?? 'us-east-1';
  const accountId = opts.accountId ?? '123456789012';
  const state = new SnsState(region, accountId, opts.now ?? Date.now);
  const controls = new EmulatorControls('sns');

  const handler = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    // What was published, for a person trying alerts against the sandbox (tests use published()).
    if (req.method === 'GET' && req.url === '/__emulator/published') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([...state.topics.entries()].map(([topicArn, t]) => ({ topicArn, messages: t.messages }))));
      return;
    }
    if (handleControlRoute(controls, req, res, body)) return;
    const requestId = randomUUID();
    const reply = (status: number, xml: string) => {
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
      res.end(xml);
    };
    const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
    const params = parseParams(req.method === 'POST' ? body.toString('utf8') : '', query);
    const action = params.get('Action');
    const op = action !== undefined && Object.hasOwn(OPERATIONS, action) ? OPERATIONS[action] : undefined;
    if (!action || !op || (req.method !== 'POST' && req.method !== 'GET')) {
      const [code, message] = action
        ? ['InvalidAction', `The action ${action} is not valid for this endpoint.`]
        : ['MissingAction', 'The request must contain the parameter Action.'];
      reply(400, errorXml('Sender', code, message, requestId));
      return;
    }
    const credential = accessKeyOf(req);
    const admission = await controls.admit({
      operation: action,
      method: req.method,
      path,
      ...(credential ? { credential } : {}),
      mutating: op.mutating,
    });
    const send = (status: number, xml: string) => {
      admission.entry.status = status;
      reply(status, xml);
    };
    const fail = (err: SnsError) => send(err.status, errorXml(err.type, err.code, err.message, requestId));
    const faulted = await actOutFault(admission, req, {
      // InternalErrorException: awsQueryError InternalError, 500.
      serverError: () => fail(new SnsError('InternalError', 'Internal Error', 500, 'Receiver')),
      // SNS's request-rate throttling on these actions (AWS Knowledge Center, "ThrottlingException and
      // Rate exceeded errors in Amazon SNS"; SNS API Reference, Common Errors): 400 ThrottlingException.
      throttle: () => fail(new SnsError('ThrottlingException', 'Rate exceeded', 400)),
    });
    if (faulted) return;
    try {
      const resource = params.get('TopicArn') ?? params.get('TargetArn') ?? state.arnFor(params.get('Name') ?? '*');
      const denied = state.denies.some(
        (r) =>
          (r.operation === undefined || r.operation === action) &&
          (r.credential === undefined || r.credential === credential) &&
          (r.topicArn === undefined || r.topicArn === resource),
      );
      if (denied)
        throw new SnsError(
          'AuthorizationError',
          `User: arn:aws:iam::${accountId}:user/${credential ?? 'anonymous'} is not authorized to ` +
            `perform: SNS:${action} on resource: ${resource} because no identity-based policy allows the ` +
            `SNS:${action} action`,
          403,
        );
      send(
        200,
        successXml(
          action,
          op.run(state, params, { operation: action, ...(credential ? { credential } : {}) }),
          requestId,
        ),
      );
    } catch (err) {
      if (err instanceof SnsError) return fail(err);
      throw err;
    }
  };

  const server = await serve(handler, opts.port ?? 0, '127.0.0.1', { maxBodyBytes: BODY_LIMIT });
  return {
    url: server.url,
    close: () => server.close(),
    controls,
    region,
    accountId,
    published(topicArn) {
      return (state.topics.get(topicArn)?.messages ?? []).map((m) => ({
        ...m,
        messageAttributes: Object.fromEntries(Object.entries(m.messageAttributes).map(([k, v]) => [k, { ...v }])),
      }));
    },
    createTopicDirect(name, attributes = {}) {
      return createTopic(state, name, attributes).arn;
    },
    topicArns() {
      return [...state.topics.keys()];
    },
    deny(rule) {
      state.denies.push({ ...rule });
    },
    clearDenies() {
      state.denies.length = 0;
    },
    setClock(fn) {
      state.now = fn;
    },
  };
}
