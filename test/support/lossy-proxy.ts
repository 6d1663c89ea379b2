import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A proxy on loopback that loses answers after their effect: it forwards every request to
 * `upstream`, and for a request `lose` picks it reads the whole answer and then destroys the
 * client's connection instead of passing it on. The service has acted; the caller sees a reset.
 * Used by the chaos test (test/chaos) in front of the Twilio and Secrets Manager emulators.
 */
export interface LossyProxy {
  url: string;
  /** Decides, per request, whether its answer is lost; reset between runs. */
  lose: (req: { method: string; path: string; target: string | undefined; mutating: boolean }) => boolean;
  /** Answers lost so far. */
  lost: number;
  close(): Promise<void>;
}

/** Secrets Manager's read operations (X-Amz-Target); every other one, and every non-GET on Twilio, writes. */
const READS = /\.(Get|Describe|List|BatchGet)/;

export async function startLossyProxy(upstream: string): Promise<LossyProxy> {
  const proxy: LossyProxy = {
    url: '',
    lose: () => false,
    lost: 0,
    close: () => Promise.resolve(),
  };
  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const header = req.headers['x-amz-target'];
    const target = Array.isArray(header) ? header[0] : header;
    const mutating = target !== undefined ? !READS.test(target) : method !== 'GET';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const dest = new URL(path, upstream);
      const out = request(dest, { method, headers: { ...req.headers, host: dest.host } }, (up) => {
        const body: Buffer[] = [];
        up.on('data', (c: Buffer) => body.push(c));
        up.on('end', () => {
          if (proxy.lose({ method, path, target, mutating })) {
            proxy.lost++;
            req.socket.destroy();
            return;
          }
          res.writeHead(up.statusCode ?? 502, up.headers).end(Buffer.concat(body));
        });
        up.on('error', () => req.socket.destroy());
      });
      out.on('error', () => req.socket.destroy());
      out.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return proxy;
}
