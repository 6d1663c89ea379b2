import { Readable, Transform } from 'node:stream';

/**
 * Every answer from elsewhere is read up to a number of bytes, never whole: a receiver, a consumer's
 * probe, a proxy in front of Twilio or AWS that answers with gigabytes must cost the rotator at most
 * that many bytes of memory and never change what it decides. Beyond the bound the stream is cancelled
 * (the connection is dropped, so the sender stops), never drained.
 */

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** An answer longer than its bound, refused unread past it. Never quotes the body. */
export class AnswerTooLargeError extends Error {
  override name = 'AnswerTooLargeError';
  readonly code = 'ANSWER_TOO_LARGE';
  constructor(
    readonly what: string,
    readonly maxBytes: number,
  ) {
    super(`${what} answered more than ${describeBytes(maxBytes)}; the rest was not read`);
  }
}

export function describeBytes(n: number): string {
  return n >= MiB && n % MiB === 0 ? `${n / MiB} MiB` : n >= KiB && n % KiB === 0 ? `${n / KiB} KiB` : `${n} bytes`;
}

/**
 * Reads `source` (a fetch body, a Node stream: anything async-iterable of bytes) up to `maxBytes`.
 * `complete` is false when there was more: the source is then cancelled or destroyed (leaving the loop
 * early does that) and only the first `maxBytes` are kept.
 */
export async function readUpTo(
  source: AsyncIterable<Uint8Array> | null | undefined,
  maxBytes: number,
): Promise<{ bytes: Buffer; complete: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (!source) return { bytes: Buffer.alloc(0), complete: true };
  for await (const chunk of source) {
    const room = maxBytes - size;
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buf.byteLength > room) {
      chunks.push(Buffer.from(buf.subarray(0, room)));
      return { bytes: Buffer.concat(chunks, maxBytes), complete: false };
    }
    chunks.push(Buffer.from(buf));
    size += buf.byteLength;
  }
  return { bytes: Buffer.concat(chunks, size), complete: true };
}

/** The text of a fetch answer, at most `maxBytes` of it (a cut multi-byte character becomes U+FFFD). */
export async function textUpTo(res: Response, maxBytes: number): Promise<{ text: string; complete: boolean }> {
  const { bytes, complete } = await readUpTo(res.body, maxBytes);
  return { text: bytes.toString('utf8'), complete };
}

/**
 * The same bound on a Node stream someone else will read (an AWS SDK client collects the body itself):
 * the returned stream passes up to `maxBytes` through, then fails with AnswerTooLargeError and destroys
 * `source`. A declared Content-Length over the bound fails before a byte is read.
 */
export function boundStream(source: Readable, maxBytes: number, what: string, contentLength?: number): Readable {
  let seen = 0;
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.byteLength;
      if (seen > maxBytes) {
        source.destroy();
        return done(new AnswerTooLargeError(what, maxBytes));
      }
      done(null, chunk);
    },
  });
  source.on('error', (err) => bounded.destroy(err));
  if (contentLength !== undefined && contentLength > maxBytes) {
    source.destroy();
    process.nextTick(() => bounded.destroy(new AnswerTooLargeError(what, maxBytes)));
    return bounded;
  }
  return source.pipe(bounded);
}

type Handler = (args: unknown) => Promise<{ response: unknown }>;

/**
 * Puts the bound on every answer an AWS SDK v3 client reads: a middleware at the innermost place of
 * its deserialize step wraps the raw body in `boundStream` before the SDK collects it, so an oversized
 * answer fails with AnswerTooLargeError instead of being buffered whole.
 */
export function boundAnswers<C extends { middlewareStack: unknown }>(client: C, maxBytes: number, what: string): C {
  const stack = client.middlewareStack as { add(middleware: (next: Handler) => Handler, options: object): void };
  stack.add(
    (next: Handler) => async (args: unknown) => {
      const out = await next(args);
      const res = out.response as { headers?: Record<string, string>; body?: unknown } | undefined;
      if (res?.body instanceof Readable) {
        const declared = Number(res.headers?.['content-length'] ?? NaN);
        res.body = boundStream(res.body, maxBytes, what, Number.isFinite(declared) ? declared : undefined);
      }
      return out;
    },
    { step: 'deserialize', priority: 'low', name: 'boundedAnswerMiddleware' },
  );
  return client;
}
