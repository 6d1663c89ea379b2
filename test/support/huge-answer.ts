import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A server whose every answer is `totalBytes` long (3 GB by default), generated lazily from one 64 KiB
 * chunk as the reader takes it (backpressure), never held in memory. It counts what each answer could
 * hand to the socket: a reader that cancels after its bound stops the generation there.
 */
export interface HugeAnswerServer {
  url: string;
  /** Per answer, in order: the request line and the bytes written before the reader went away. */
  answers: { request: string; sentBytes: number; finished: boolean }[];
  close(): Promise<void>;
}

export async function startHugeAnswerServer(
  options: { totalBytes?: number; status?: number; contentType?: string } = {},
): Promise<HugeAnswerServer> {
  const totalBytes = options.totalBytes ?? 3 * 1024 ** 3;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const answers: HugeAnswerServer['answers'] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const answer = { request: `${req.method} ${req.url}`, sentBytes: 0, finished: false };
    answers.push(answer);
    res.writeHead(options.status ?? 200, { 'content-type': options.contentType ?? 'application/json' });
    let gone = false;
    res.on('close', () => (gone = true));
    const pump = () => {
      while (!gone && answer.sentBytes < totalBytes) {
        const part = chunk.subarray(0, Math.min(chunk.length, totalBytes - answer.sentBytes));
        answer.sentBytes += part.length;
        if (!res.write(part)) return void res.once('drain', pump);
      }
      if (!gone) {
        answer.finished = true;
        res.end();
      }
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
