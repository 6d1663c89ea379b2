import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { recordOutput } from '../../support/scan.js';
import { EmulatorControls, serve, sleep } from '../common/index.js';

/**
 * Local receivers for the alert channels, each following its service's documentation, never the
 * rotator's code:
 *  - Slack incoming webhooks: 200 "ok"; 400 invalid_payload, 404 no_service for an unknown webhook
 *    URL (api.slack.com changelog 2016-05-17, "Improving error conditions for Incoming Webhooks").
 *  - PagerDuty Events API v2 (PagerDuty/api-schema events-v2 openapiv3.json): POST /v2/enqueue, 202
 *    {status, message, dedup_key}; 400 for an invalid event; routing_key 32 characters, summary at
 *    most 1024, severity critical|error|warning|info, dedup_key required to resolve.
 *  - A webhook endpoint that verifies Standard Webhooks signatures with the `standardwebhooks`
 *    package (its 5-minute timestamp tolerance rejects replays) and processes each webhook-id once.
 * Each has the emulators' controls (request log, scripted faults: 500, 429, dropped connection, slow
 * answer), and hands every body it receives to the leak scan.
 */

export interface Receiver<T> {
  url: string;
  controls: EmulatorControls;
  /** What was accepted, oldest first. */
  received: T[];
  close(): Promise<void>;
}

async function faulted(controls: EmulatorControls, req: IncomingMessage, res: ServerResponse, operation: string) {
  const admission = await controls.admit({
    operation,
    method: req.method ?? 'POST',
    path: (req.url ?? '/').split('?')[0]!.replace(/\/services\/.*/, '/services/…'),
    mutating: true,
  });
  const send = (status: number, body: string, type = 'application/json', headers: Record<string, string> = {}) => {
    admission.entry.status = status;
    res.writeHead(status, { 'content-type': type, ...headers });
    res.end(body);
  };
  switch (admission.fault) {
    case 'drop':
      req.socket.destroy();
      return undefined;
    case 'server-error':
      send(500, JSON.stringify({ status: 'error', message: 'injected' }));
      return undefined;
    case 'throttle':
      send(429, JSON.stringify({ status: 'throttled', message: 'injected' }), 'application/json', {
        'retry-after': '1',
      });
      return undefined;
    case 'slow':
      await sleep(admission.slowMs);
      break;
    default:
      break;
  }
  return send;
}

function json(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** A Slack incoming webhook; its secret path is what the rotator must keep secret. */
export async function startSlackReceiver(): Promise<Receiver<{ text: string }> & { webhookUrl: string }> {
  const controls = new EmulatorControls('slack');
  const received: { text: string }[] = [];
  const hex = (bytes: number) => randomBytes(bytes).toString('hex');
  const path = `/services/T${hex(4).toUpperCase()}/B${hex(4).toUpperCase()}/${hex(12)}`;
  const server = await serve(async (req, res, body) => {
    recordOutput(body.toString('utf8'));
    const send = await faulted(controls, req, res, 'PostMessage');
    if (!send) return;
    if (req.method !== 'POST' || req.url !== path) return send(404, 'no_service', 'text/html');
    const doc = json(body) as { text?: unknown } | undefined;
    if (!req.headers['content-type']?.startsWith('application/json') || typeof doc?.text !== 'string')
      return send(400, 'invalid_payload', 'text/html');
    received.push({ text: doc.text });
    send(200, 'ok', 'text/html');
  });
  return { url: server.url, webhookUrl: `${server.url}${path}`, controls, received, close: () => server.close() };
}

export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key?: string;
  payload?: { summary: string; source: string; severity: string; custom_details?: Record<string, unknown> };
  [k: string]: unknown;
}

/** PagerDuty's Events API v2, with the alerts it would hold: open or resolved, by dedup key. */
export async function startPagerDutyReceiver(): Promise<
  Receiver<PagerDutyEvent> & { routingKey: string; alerts: Map<string, 'triggered' | 'resolved'> }
> {
  const controls = new EmulatorControls('pagerduty');
  const received: PagerDutyEvent[] = [];
  const alerts = new Map<string, 'triggered' | 'resolved'>();
  const routingKey = randomBytes(16).toString('hex');
  const server = await serve(async (req, res, body) => {
    // The routing key is the transport's credential, carried in the body by design (like an
    // Authorization header elsewhere); the leak scan gets the event without it.
    const scanned = json(body) as Record<string, unknown> | undefined;
    if (scanned && typeof scanned === 'object') delete scanned.routing_key;
    recordOutput(scanned ? JSON.stringify(scanned) : body.toString('utf8'));
    const send = await faulted(controls, req, res, 'Enqueue');
    if (!send) return;
    if (req.method !== 'POST' || req.url !== '/v2/enqueue') return send(404, JSON.stringify({ status: 'not found' }));
    const e = json(body) as PagerDutyEvent | undefined;
    const errors: string[] = [];
    if (!e || typeof e !== 'object') errors.push('JSON parse error');
    else {
      if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32)
        errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
      if (!['trigger', 'acknowledge', 'resolve'].includes(e.event_action)) errors.push("'event_action' is invalid");
      if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length > 255))
        errors.push("'dedup_key' is invalid (at most 255 characters)");
      if (e.event_action !== 'trigger' && !e.dedup_key) errors.push("'dedup_key' is required for this event_action");
      if (e.event_action === 'trigger') {
        const p = e.payload;
        if (!p || typeof p.summary !== 'string' || p.summary.length === 0 || p.summary.length > 1024)
          errors.push("'payload.summary' is missing or longer than 1024 characters");
        if (!p || typeof p.source !== 'string' || p.source.length === 0) errors.push("'payload.source' is missing");
        if (!p || !['critical', 'error', 'warning', 'info'].includes(p.severity))
          errors.push("'payload.severity' is invalid");
      }
    }
    if (errors.length > 0)
      return send(400, JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors }));
    const key = e!.dedup_key ?? randomBytes(16).toString('hex');
    // Events for another integration key land on another service; this receiver serves one.
    if (e!.routing_key === routingKey) {
      received.push(e!);
      if (e!.event_action === 'trigger') alerts.set(key, 'triggered');
      if (e!.event_action === 'resolve' && alerts.has(key)) alerts.set(key, 'resolved');
    }
    send(202, JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: key }));
  });
  return { url: server.url, controls, received, alerts, routingKey, close: () => server.close() };
}

export interface VerifiedWebhook {
  id: string;
  timestamp: number;
  body: { type: string; timestamp: string; data: Record<string, any> };
}

/** An endpoint that accepts only what `standardwebhooks` verifies, and each webhook-id once. */
export async function startWebhookReceiver(): Promise<
  Receiver<VerifiedWebhook> & {
    secret: string;
    rejected: string[];
    duplicates: string[];
    attempts: { id: string; timestamp: string; signature: string }[];
  }
> {
  const controls = new EmulatorControls('webhook');
  const received: VerifiedWebhook[] = [];
  const rejected: string[] = [];
  const duplicates: string[] = [];
  const attempts: { id: string; timestamp: string; signature: string }[] = [];
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const verifier = new Webhook(secret);
  const server = await serve(async (req, res, body) => {
    recordOutput(body.toString('utf8'));
    const header = (name: string) => String(req.headers[name] ?? '');
    attempts.push({
      id: header('webhook-id'),
      timestamp: header('webhook-timestamp'),
      signature: header('webhook-signature'),
    });
    const send = await faulted(controls, req, res, 'Deliver');
    if (!send) return;
    let doc: VerifiedWebhook['body'];
    try {
      doc = verifier.verify(body.toString('utf8'), {
        'webhook-id': header('webhook-id'),
        'webhook-timestamp': header('webhook-timestamp'),
        'webhook-signature': header('webhook-signature'),
      }) as VerifiedWebhook['body'];
    } catch (err) {
      rejected.push(err instanceof Error ? err.message : String(err));
      return send(401, JSON.stringify({ error: 'invalid signature' }));
    }
    const id = header('webhook-id');
    if (received.some((w) => w.id === id)) {
      duplicates.push(id);
      return send(200, JSON.stringify({ ok: true, duplicate: true }));
    }
    received.push({ id, timestamp: Number(header('webhook-timestamp')), body: doc });
    send(200, JSON.stringify({ ok: true }));
  });
  return {
    url: `${server.url}/hooks/rotator`,
    controls,
    received,
    rejected,
    duplicates,
    attempts,
    secret,
    close: () => server.close(),
  };
}
