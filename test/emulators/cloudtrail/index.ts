import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { actOutFault, EmulatorControls, accessKeyOf, handleControlRoute, serve } from '../common/index.js';
import type { SecretRead, SecretsManagerEmulator } from '../secrets-manager/index.js';
import { secretReadEvent, type StoredEvent } from './events.js';
import { CtError, lookupEvents, type Held } from './lookup.js';

export { RETENTION_MS } from './lookup.js';

/**
 * AWS CloudTrail's event history over its real wire protocol (JSON 1.1: POST /, X-Amz-Target
 * `CloudTrail_20131101.LookupEvents`, which @aws-sdk/client-cloudtrail sends; the fully qualified
 * `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents` of older clients is accepted too).
 * Only LookupEvents is served. It records the Secrets Manager emulator's GetSecretValue calls as
 * management events, visible to LookupEvents only after the delivery delay ("CloudTrail typically
 * delivers logs within an average of about 5 minutes of an API call. This time is not guaranteed"),
 * for 90 days, at most two lookups per second per account and Region ("If this limit is exceeded, a
 * throttling error occurs": ThrottlingException).
 */

export interface CloudTrailEmulatorOptions {
  port?: number;
  now?: () => number;
  /** How long after the call an event becomes visible to LookupEvents. Default 0 (tests choose). */
  deliveryDelayMs?: number;
  /** Access key id → the principal ARN CloudTrail names (an IAM user or an assumed-role session). */
  principals?: Record<string, string>;
  /** LookupEvents calls allowed per window of real time; default 2 per 1000 ms (the documented quota). */
  rateLimit?: { requests: number; perMs: number };
}

export interface CloudTrailEmulator {
  url: string;
  close(): Promise<void>;
  controls: EmulatorControls;
  /** Records every GetSecretValue the Secrets Manager emulator answers from now on; returns a detach. */
  attach(sm: SecretsManagerEmulator): () => void;
  /** Records one read directly (a call made before attaching, or one backdated by a test). */
  record(read: SecretRead): StoredEvent;
  setPrincipal(accessKeyId: string, principalArn: string): void;
  setDeliveryDelay(ms: number): void;
  setClock(fn: () => number): void;
  /** Every recorded event, delivered or not, oldest first. */
  events(): StoredEvent[];
}

const TARGETS = new Set([
  'CloudTrail_20131101.LookupEvents',
  'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents',
]);

export async function startCloudTrailEmulator(opts: CloudTrailEmulatorOptions = {}): Promise<CloudTrailEmulator> {
  let now = opts.now ?? Date.now;
  let deliveryDelayMs = opts.deliveryDelayMs ?? 0;
  const principals = new Map(Object.entries(opts.principals ?? {}));
  const rate = opts.rateLimit ?? { requests: 2, perMs: 1000 };
  const held: Held[] = [];
  const lookups: number[] = [];
  let seq = 0;
  const controls = new EmulatorControls('cloudtrail');

  const record = (read: SecretRead): StoredEvent => {
    const principal =
      (read.accessKeyId && principals.get(read.accessKeyId)) ??
      `arn:aws:iam::${read.accountId}:user/${read.accessKeyId ?? 'anonymous'}`;
    const event = secretReadEvent(read, principal);
    held.push({ seq: ++seq, event });
    return event;
  };

  /** The documented quota, counted in real time: the SDK's calls and retries happen in real time. */
  const overQuota = (): boolean => {
    const t = performance.now();
    while (lookups.length > 0 && t - lookups[0]! >= rate.perMs) lookups.shift();
    if (lookups.length >= rate.requests) return true;
    lookups.push(t);
    return false;
  };

  const handler = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    if (handleControlRoute(controls, req, res, body)) return;
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(payload));
    };
    const target = String(req.headers['x-amz-target'] ?? '');
    if (req.method !== 'POST' || !TARGETS.has(target))
      return reply(400, { __type: 'UnknownOperationException', Message: `Unknown operation ${target || '(none)'}` });
    const credential = accessKeyOf(req);
    const admission = await controls.admit({
      operation: 'LookupEvents',
      method: 'POST',
      path: '/',
      ...(credential ? { credential } : {}),
      mutating: false,
    });
    const send = (status: number, payload: unknown) => {
      admission.entry.status = status;
      reply(status, payload);
    };
    const faulted = await actOutFault(admission, req, {
      serverError: () => send(500, { __type: 'InternalServerError', Message: 'An error occurred on the server side.' }),
      throttle: () => send(400, { __type: 'ThrottlingException', Message: 'Rate exceeded' }),
    });
    if (faulted) return;
    if (overQuota()) return send(400, { __type: 'ThrottlingException', Message: 'Rate exceeded' });
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      return send(400, { __type: 'SerializationException', Message: 'Request body is not valid JSON.' });
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      return send(400, { __type: 'SerializationException', Message: 'Request body must be a JSON object.' });
    try {
      send(200, lookupEvents(held, input as Record<string, unknown>, { nowMs: now(), deliveryDelayMs }));
    } catch (err) {
      if (err instanceof CtError) return send(err.status, { __type: err.type, Message: err.message });
      throw err;
    }
  };

  const server = await serve(handler, opts.port ?? 0);
  return {
    url: server.url,
    close: () => server.close(),
    controls,
    attach: (sm) => sm.onRead((read) => void record(read)),
    record,
    setPrincipal: (accessKeyId, principalArn) => void principals.set(accessKeyId, principalArn),
    setDeliveryDelay: (ms) => void (deliveryDelayMs = ms),
    setClock: (fn) => void (now = fn),
    events: () => held.map((h) => h.event),
  };
}
