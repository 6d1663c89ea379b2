import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AnswerTooLargeError, boundStream, readUpTo } from '../../src/util/bounded-body.js';

/** A lazily generated source that records how far it was read and whether it was closed early. */
function source(totalBytes: number, chunkBytes = 1000) {
  const seen = { pulled: 0, closed: false };
  async function* gen() {
    try {
      while (seen.pulled < totalBytes) {
        const n = Math.min(chunkBytes, totalBytes - seen.pulled);
        seen.pulled += n;
        await Promise.resolve();
        yield new Uint8Array(n).fill(120);
      }
    } finally {
      seen.closed = seen.pulled < totalBytes;
    }
  }
  return { seen, stream: gen() };
}

describe('readUpTo', () => {
  it('keeps the first bytes of a longer answer and closes the source there', async () => {
    const { seen, stream } = source(10 ** 9);
    const got = await readUpTo(stream, 2500);
    expect(got.complete).toBe(false);
    expect(got.bytes.byteLength).toBe(2500);
    expect(seen.pulled).toBe(3000);
    expect(seen.closed).toBe(true);
  });

  it('reads an answer of exactly the bound, or an absent one, whole', async () => {
    expect((await readUpTo(source(2000).stream, 2000)).complete).toBe(true);
    expect(await readUpTo(null, 10)).toEqual({ bytes: Buffer.alloc(0), complete: true });
  });
});

describe('boundStream', () => {
  const collect = async (r: Readable) => {
    let n = 0;
    for await (const c of r) n += (c as Buffer).byteLength;
    return n;
  };

  it('passes a body within the bound through unchanged', async () => {
    expect(await collect(boundStream(Readable.from([Buffer.alloc(700), Buffer.alloc(300)]), 1000, 'X'))).toBe(1000);
  });

  it('fails past the bound and destroys the source, counted or declared', async () => {
    const counted = Readable.from(source(10 ** 9).stream);
    await expect(collect(boundStream(counted, 5000, 'Secrets Manager'))).rejects.toThrow(
      new AnswerTooLargeError('Secrets Manager', 5000),
    );
    expect(counted.destroyed).toBe(true);
    const declared = Readable.from(source(10).stream);
    await expect(collect(boundStream(declared, 5000, 'SNS', 3 * 1024 ** 3))).rejects.toThrow(
      'SNS answered more than 5000 bytes; the rest was not read',
    );
    expect(declared.destroyed).toBe(true);
  });
});
