import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>;

/** Largest request body accepted; both real services reject far smaller ones. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface ServeOptions {
  /**
   * Largest request body accepted (default 1 MiB). Services whose own limit is 1 MiB of message content
   * (SQS, SNS) need more room for the JSON or form encoding around it.
   */
  maxBodyBytes?: number;
}

/**
 * Listens on loopback only. A handler that throws gets a bare 500 rather than a hung socket,
 * so a bug in an emulator shows up as a failing test, never as a timeout.
 */
export async function serve(
  handler: Handler,
  port = 0,
  host = '127.0.0.1',
  options: ServeOptions = {},
): Promise<RunningServer> {
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      handler(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`emulator bug: ${err instanceof Error ? err.message : String(err)}`);
      });
    });
  });
  // Node's default. A client keeps a connection only while the server's Keep-Alive hint, less one
  // second, is above zero: at 1000 ms every request opened a new connection, which real Twilio and
  // AWS endpoints do not make a client do.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
