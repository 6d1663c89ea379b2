import type { IncomingMessage, ServerResponse } from 'node:http';

/** The small HTTP pieces of leak reports (./leaks.ts): answers, a bounded body, a header. */

export type Answer = { status: number; body: Record<string, unknown> };
export const answer = (status: number, body: Record<string, unknown>): Answer => ({ status, body });

export function send(res: ServerResponse, a: Answer): void {
  const text = `${JSON.stringify(a.body)}\n`;
  res.writeHead(a.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

/** Reads at most `limit` bytes; undefined when the body is larger (the rest is not read). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};
