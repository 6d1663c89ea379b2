import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Intercepted {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/**
 * A man in the middle on loopback: forwards to `upstream`, unless `intercept` answers first. Stands
 * in for corporate proxies, captive portals and hostile upstreams in the hardening tests.
 */
export async function startProxy(
  upstream: string,
  intercept: (req: Seen) => Intercepted | undefined = () => undefined,
) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const entry = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
    seen.push(entry);
    const answer = intercept(entry);
    if (answer) {
      req.resume();
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body);
      return;
    }
    const target = new URL(entry.path, upstream);
    const out = request(target, { method: entry.method, headers: { ...req.headers, host: target.host } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.writeHead(502).end());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** A server that accepts connections and never answers: the silent endpoint. */
export async function startSilentServer() {
  const server = createServer(() => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
