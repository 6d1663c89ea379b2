import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRetryable } from '../../src/adapters/retry.js';
import {
  formEncode,
  NotTwilioAnswerError,
  TWILIO_ANSWER_MAX_BYTES,
  TwilioAnswerTooLargeError,
  TwilioHttpClient,
  withRequestSignal,
} from '../../src/adapters/twilio/http-client.js';
import { startHugeAnswerServer } from '../support/huge-answer.js';
import { selfSignedCertificate } from '../support/twilio-tls.js';

/**
 * The HTTP client twilio-node calls (src/adapters/twilio/http-client.ts), against real sockets on
 * loopback: plain HTTP, HTTPS with a CA file, a CONNECT proxy. The rotation suites exercise it
 * end to end; these pin the parts they cannot reach.
 */

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function listen(server: http.Server | https.Server | net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

function recorder(
  seen: Seen[],
  answer: (req: http.IncomingMessage) => { status: number; body: string } = () => ({
    status: 200,
    body: '{"ok":true}',
  }),
) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const { status, body: out } = answer(req);
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(out);
    });
  };
}

describe('formEncode', () => {
  it('writes forms as twilio-node does: repeated keys for arrays, RFC 3986 escapes, undefined left out', () => {
    expect(
      formEncode({
        FriendlyName: 'a b&c=d',
        KeyType: 'restricted',
        Skip: undefined,
        Empty: null,
        Tags: ['x', 'y'],
        n: 3,
        yes: true,
      }),
    ).toBe('FriendlyName=a%20b%26c%3Dd&KeyType=restricted&Empty=&Tags=x&Tags=y&n=3&yes=true');
    expect(formEncode({ Policy: { allow: ['/twilio/messaging/messages/read'] } })).toBe(
      `Policy=${encodeURIComponent('{"allow":["/twilio/messaging/messages/read"]}')}`,
    );
    expect(formEncode(undefined)).toBe('');
  });
});

describe('TwilioHttpClient over plain HTTP', () => {
  const seen: Seen[] = [];
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer(
      recorder(seen, (req) =>
        req.url?.startsWith('/slow')
          ? { status: 200, body: '' }
          : { status: req.url?.startsWith('/missing') ? 404 : 201, body: '{"sid":"SK1"}' },
      ),
    );
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(() => server.close());
  afterEach(() => void seen.splice(0));

  it('reroutes a Twilio URL onto the base URL with auth, headers, query and form body', async () => {
    const client = new TwilioHttpClient({ baseUrl: base });
    const res = await client.request({
      method: 'post',
      uri: 'https://iam.twilio.com/v1/Keys?Existing=1',
      username: 'SKuser',
      password: 'pw',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': 'twilio-node/test' },
      params: { PageSize: 50 },
      data: { FriendlyName: 'rotator key', AccountSid: 'AC1' },
    });
    expect(res).toMatchObject({ statusCode: 201, body: '{"sid":"SK1"}' });
    expect(seen).toHaveLength(1);
    const [req] = seen;
    expect(req).toMatchObject({
      method: 'POST',
      url: '/v1/Keys?Existing=1&PageSize=50',
      body: 'FriendlyName=rotator%20key&AccountSid=AC1',
    });
    expect(req!.headers).toMatchObject({
      authorization: `Basic ${Buffer.from('SKuser:pw').toString('base64')}`,
      'x-twilio-original-host': 'iam.twilio.com',
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'twilio-node/test',
      connection: 'keep-alive',
    });
  });

  it('routes by product with a map, and names a product it has no URL for', async () => {
    const client = new TwilioHttpClient({ baseUrl: { iam: base } });
    await expect(
      client.request({ method: 'get', uri: 'https://iam.dublin.ie1.twilio.com/v1/Keys' }),
    ).resolves.toMatchObject({ statusCode: 201 });
    await expect(
      client.request({ method: 'get', uri: 'https://api.twilio.com/2010-04-01/Accounts.json' }),
    ).rejects.toThrow(/no base URL configured for Twilio product "api".*twilio\.baseUrl/);
    expect(seen).toHaveLength(1);
  });

  it('follows a link on the base URL itself (a next page the emulator handed back) as it is', async () => {
    const client = new TwilioHttpClient({ baseUrl: base });
    await client.request({ method: 'get', uri: `${base}/v1/Keys?Page=1&PageToken=abc` });
    expect(seen[0]).toMatchObject({ url: '/v1/Keys?Page=1&PageToken=abc' });
    expect(seen[0]!.headers['x-twilio-original-host']).toBeUndefined();
  });

  it('sends credentials only to Twilio and the base URL: other hosts and plain-HTTP Twilio are refused', async () => {
    const elsewhere = http.createServer(recorder(seen));
    const port = await listen(elsewhere);
    try {
      const creds = { username: 'SKuser', password: 'pw' };
      const client = new TwilioHttpClient({ baseUrl: base });
      await expect(
        client.request({ method: 'get', uri: `http://127.0.0.1:${port}/v1/Keys`, ...creds }),
      ).rejects.toThrow(
        /refusing to send credentials to http:\/\/127\.0\.0\.1:\d+: it is neither a Twilio host nor twilio\.baseUrl/,
      );
      await expect(new TwilioHttpClient().request({ method: 'get', uri: `${base}/v1/Keys`, ...creds })).rejects.toThrow(
        /refusing/,
      );
      await expect(
        new TwilioHttpClient().request({ method: 'get', uri: 'http://iam.twilio.com/v1/Keys', ...creds }),
      ).rejects.toThrow(/over plain HTTP/);
      expect(seen).toEqual([]);
    } finally {
      elsewhere.close();
    }
  });

  it('rejects an answer that is not JSON without quoting it (twilio-node quotes it in its parse error)', async () => {
    const html = http.createServer((_req, res) =>
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>SECRETVALUE</html>'),
    );
    const port = await listen(html);
    try {
      const err = await new TwilioHttpClient({ baseUrl: `http://127.0.0.1:${port}` })
        .request({ method: 'get', uri: 'https://api.twilio.com/2010-04-01/Accounts.json' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotTwilioAnswerError);
      expect((err as Error).message).toBe("answered HTTP 200 with text/html, not Twilio's JSON");
      expect(isRetryable(200, err)).toBe(false);
    } finally {
      html.close();
    }
  });

  it('refuses an answer larger than any of Twilio’s, declared or streamed, reading no further', async () => {
    const huge = await startHugeAnswerServer({ totalBytes: 1024 ** 3 });
    const declared = http.createServer((_req, res) =>
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(3 * 1024 ** 3) }).end(),
    );
    const port = await listen(declared);
    try {
      for (const url of [huge.url, `http://127.0.0.1:${port}`]) {
        const err = await new TwilioHttpClient({ baseUrl: url, timeoutMs: 60_000 })
          .request({ method: 'get', uri: 'https://iam.twilio.com/v1/Keys' })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TwilioAnswerTooLargeError);
        expect(err).toMatchObject({ code: 'ANSWER_TOO_LARGE' });
        expect((err as Error).message).toMatch(/^HTTP 200 from 127\.0\.0\.1:\d+\/v1\/Keys answered more than 8 MiB/);
        expect(isRetryable(200, err)).toBe(false);
      }
      expect(huge.answers).toHaveLength(1);
      expect(huge.answers[0]!.finished).toBe(false);
      expect(huge.answers[0]!.sentBytes).toBeLessThan(TWILIO_ANSWER_MAX_BYTES + 32 * 1024 ** 2);
    } finally {
      declared.closeAllConnections();
      declared.close();
      await huge.close();
    }
  });

  it('abandons a request in flight when the signal of the call aborts', async () => {
    const hang = http.createServer(() => undefined);
    const port = await listen(hang);
    try {
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(new Error('deadline')), 100);
      const err = await withRequestSignal(controller.signal, () =>
        new TwilioHttpClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 10_000 }).request({
          method: 'get',
          uri: 'https://iam.twilio.com/v1/Keys',
        }),
      ).catch((e: unknown) => e);
      expect((err as Error).message).toBe('deadline');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      hang.closeAllConnections();
      hang.close();
    }
  });

  it('hands error statuses back as responses for twilio-node to raise', async () => {
    const res = await new TwilioHttpClient({ baseUrl: base }).request({
      method: 'get',
      uri: 'https://api.twilio.com/missing',
    });
    expect(res.statusCode).toBe(404);
  });

  it('rejects, retryably, an answer cut off mid-body (Node reports it as ECONNRESET "aborted")', async () => {
    const cut = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"sid":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const port = await listen(cut);
    try {
      const err = await new TwilioHttpClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 5_000 })
        .request({ method: 'get', uri: 'https://iam.twilio.com/v1/Keys' })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ECONNRESET' });
      expect(isRetryable(undefined, err)).toBe(true);
    } finally {
      cut.close();
    }
  });

  it('gives up after the timeout with an error the retry rule treats as transient', async () => {
    const hang = http.createServer(() => undefined);
    const port = await listen(hang);
    try {
      const err = await new TwilioHttpClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 150 })
        .request({ method: 'get', uri: 'https://iam.twilio.com/v1/Keys' })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'ETIMEDOUT',
        message: expect.stringMatching(/timed out after 150 ms \(GET 127\.0\.0\.1:\d+\/v1\/Keys\)/),
      });
      expect(isRetryable(undefined, err)).toBe(true);
    } finally {
      hang.closeAllConnections();
      hang.close();
    }
  });
});

describe('TwilioHttpClient over HTTPS: TWILIO_CA_BUNDLE and HTTP_PROXY', () => {
  const seen: Seen[] = [];
  const connects: string[] = [];
  const saved = { ca: process.env.TWILIO_CA_BUNDLE, proxy: process.env.HTTP_PROXY };
  let tls: ReturnType<typeof selfSignedCertificate>;
  let server: https.Server;
  let proxy: net.Server;
  let target: string;

  beforeAll(async () => {
    // A throwaway self-signed certificate for localhost, made for this run only.
    tls = selfSignedCertificate('localhost');
    server = https.createServer({ key: tls.key, cert: tls.cert }, recorder(seen));
    target = `https://localhost:${await listen(server)}`;
    // The smallest CONNECT proxy: note the tunnel asked for, then splice the sockets.
    proxy = net.createServer((client) => {
      client.once('data', (head: Buffer) => {
        const [, hostPort] = /^CONNECT (\S+) HTTP/.exec(head.toString()) ?? [];
        connects.push(hostPort ?? '?');
        const [host, port] = (hostPort ?? '').split(':');
        const upstream = net.connect(Number(port), host === 'localhost' ? '127.0.0.1' : host!, () => {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          upstream.pipe(client).pipe(upstream);
        });
        upstream.on('error', () => client.destroy());
      });
    });
    await listen(proxy);
  });
  afterAll(() => {
    server.close();
    proxy.close();
    tls.remove();
  });
  afterEach(() => {
    seen.splice(0);
    connects.splice(0);
    for (const [k, v] of [
      ['TWILIO_CA_BUNDLE', saved.ca],
      ['HTTP_PROXY', saved.proxy],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('trusts only what TWILIO_CA_BUNDLE names', async () => {
    delete process.env.TWILIO_CA_BUNDLE;
    await expect(
      new TwilioHttpClient({ baseUrl: target }).request({ method: 'get', uri: 'https://iam.twilio.com/v1/Keys' }),
    ).rejects.toThrow(/self[- ]signed/i);
    process.env.TWILIO_CA_BUNDLE = tls.certPath;
    await expect(
      new TwilioHttpClient({ baseUrl: target }).request({ method: 'get', uri: 'https://iam.twilio.com/v1/Keys' }),
    ).resolves.toMatchObject({
      statusCode: 200,
    });
  });

  it('tunnels https through HTTP_PROXY', async () => {
    process.env.TWILIO_CA_BUNDLE = tls.certPath;
    process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const res = await new TwilioHttpClient({ baseUrl: target }).request({
      method: 'get',
      uri: 'https://iam.twilio.com/v1/Keys',
      username: 'SKuser',
      password: 'pw',
    });
    expect(res.statusCode).toBe(200);
    expect(connects).toEqual([`localhost:${new URL(target).port}`]);
    expect(seen[0]).toMatchObject({ url: '/v1/Keys' });
  });

  it('says which variable is wrong when the CA file or the proxy URL is unusable', async () => {
    process.env.TWILIO_CA_BUNDLE = join(dirname(tls.certPath), 'missing.pem');
    await expect(
      new TwilioHttpClient({ baseUrl: target }).request({ method: 'get', uri: 'https://iam.twilio.com/v1/Keys' }),
    ).rejects.toThrow(/TWILIO_CA_BUNDLE=.*missing\.pem cannot be read \(ENOENT\)/);
    delete process.env.TWILIO_CA_BUNDLE;
    process.env.HTTP_PROXY = 'not a url';
    await expect(
      new TwilioHttpClient({ baseUrl: target }).request({ method: 'get', uri: 'https://iam.twilio.com/v1/Keys' }),
    ).rejects.toThrow(/HTTP_PROXY is not a URL/);
  });
});
