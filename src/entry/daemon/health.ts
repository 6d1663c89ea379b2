import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../errors.js';

/**
 * GET /healthz (liveness), /readyz (the last runs finished without failures), /metrics (Prometheus).
 * Every request and connection has a timeout; nothing here reads a request body or echoes input.
 */

export interface Check {
  ok: boolean;
  text: string;
}

export interface HealthHandlers {
  healthz(): Check;
  readyz(): Check;
  metrics(): string;
  /** POST /leaks/*: leak reports (./leaks.ts), which read their own bounded body. */
  leaks?(path: string, req: IncomingMessage, res: ServerResponse): void;
}

const TIMEOUT_MS = 5000;
const CHOOSE = 'choose another port or host';

export function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function handle(handlers: HealthHandlers, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (handlers.leaks && path.startsWith('/leaks/')) return handlers.leaks(path, req, res);
  req.resume(); // a body is never read, only drained
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'only GET and HEAD\n');
  }
  try {
    if (path === '/healthz' || path === '/readyz') {
      const check = path === '/healthz' ? handlers.healthz() : handlers.readyz();
      return send(res, check.ok ? 200 : 503, `${check.text}\n`);
    }
    if (path === '/metrics') return send(res, 200, handlers.metrics(), 'text/plain; version=0.0.4; charset=utf-8');
    return send(res, 404, 'not found: /healthz, /readyz, /metrics\n');
  } catch {
    return send(res, 500, 'internal error\n');
  }
}

export async function startHealthServer(
  where: { host: string; port: number },
  handlers: HealthHandlers,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(
    { requestTimeout: TIMEOUT_MS, headersTimeout: TIMEOUT_MS, keepAliveTimeout: TIMEOUT_MS },
    (req, res) => handle(handlers, req, res),
  );
  server.timeout = TIMEOUT_MS;
  server.maxHeadersCount = 50;
  server.maxRequestsPerSocket = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const message = `cannot listen on ${where.host}:${where.port} (${err.code ?? err.message}); ${CHOOSE}`;
      reject(new ConfigError([{ path: 'daemon.health', message }], 'the health endpoint'));
    });
    server.listen(where.port, where.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
