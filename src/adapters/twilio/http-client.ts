import { AccountLimiter } from './account-limiter.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { registerCredential } from '../../redact.js';
import { AnswerTooLargeError, MiB, readUpTo } from '../../util/bounded-body.js';
import { parseJson } from '../../util/json.js';

/**
 * The signal of the call in flight, which twilio-node cannot pass through its resources: the client picks
 * it up here, so a spent retry budget or deadline destroys the socket instead of letting it finish.
 */
const requestSignal = new AsyncLocalStorage<AbortSignal>();

export function withRequestSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return requestSignal.run(signal, fn);
}

/** An answer that arrived but is not Twilio's JSON (a proxy's HTML page, say). Its body is never quoted. */
export class NotTwilioAnswerError extends Error {
  override name = 'NotTwilioAnswerError';
  readonly code: string = 'NOT_JSON';
  constructor(
    readonly status: number,
    readonly contentType: string,
  ) {
    super(`answered HTTP ${status} with ${contentType || 'no content type'}, not Twilio's JSON`);
  }
}

/** An answer larger than any of Twilio's: refused unread past TWILIO_ANSWER_MAX_BYTES, never quoted. */
export class TwilioAnswerTooLargeError extends NotTwilioAnswerError {
  override name = 'TwilioAnswerTooLargeError';
  override readonly code = 'ANSWER_TOO_LARGE';
  constructor(status: number, contentType: string, what: string) {
    super(status, contentType);
    this.message = new AnswerTooLargeError(what, TWILIO_ANSWER_MAX_BYTES).message;
  }
}

/** A URL the client will not send credentials to. */
export class RefusedUrlError extends Error {
  override name = 'RefusedUrlError';
  readonly code = 'REFUSED_URL';
}

const TWILIO_HOST = /(^|\.)twilio\.com$/;

/**
 * Where Twilio requests go: Twilio itself when undefined, one base URL for every product (the emulator
 * routes by path), or one per product ("iam", "accounts", "api": the contract tests' validating proxies).
 */
export type TwilioBaseUrl = string | Readonly<Record<string, string>>;

export const baseUrlsOf = (baseUrl: TwilioBaseUrl | undefined): string[] =>
  baseUrl === undefined ? [] : typeof baseUrl === 'string' ? [baseUrl] : Object.values(baseUrl);

export interface TwilioHttpOptions {
  baseUrl?: TwilioBaseUrl;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
  /** A run's shared connections and per-account limits; without one, each client has its own. */
  pool?: TwilioHttpPool;
}

export interface TwilioCredential {
  /** Account SID (AC…) or API key SID (SK…). */
  username: string;
  password: string;
  /** The account the calls act on; required by twilio-node when username is an SK. */
  accountSid: string;
}

/** What twilio-node hands its `httpClient` (see twilio/lib/base/BaseTwilio.js `request`). */
type TwilioRequest = RequestClient.RequestOptions<Record<string, unknown>, Record<string, unknown>>;

export interface TwilioHttpResponse {
  statusCode: number;
  /** Raw text; twilio-node parses JSON bodies itself. */
  body: string;
  headers: http.IncomingHttpHeaders;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/**
 * Twilio's largest answers are list pages (a thousand keys or subaccounts: well under 2 MiB). Beyond
 * this an answer is not Twilio's: it is refused, the connection dropped, and the rest never read.
 */
export const TWILIO_ANSWER_MAX_BYTES = 8 * MiB;

/**
 * x-www-form-urlencoded as twilio-node's own client writes it (qs, arrayFormat "repeat"):
 * arrays repeat the key, undefined is left out, null is an empty value. twilio-node has already
 * turned objects into JSON text (serialize.object); one that slips through is sent as JSON too.
 */
export function formEncode(fields: Readonly<Record<string, unknown>> | undefined): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields ?? {})) {
    for (const v of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (v === undefined) continue;
      const text =
        v === null
          ? ''
          : typeof v === 'string'
            ? v
            : typeof v === 'number' || typeof v === 'boolean'
              ? String(v)
              : JSON.stringify(v);
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(text)}`);
    }
  }
  return parts.join('&');
}

/**
 * twilio-node's `httpClient` on node:http(s), which only moves bytes: its default wraps axios, ~30 ms of
 * Lambda start-up (README "Cold start"). With `baseUrl`, twilio-node's URLs (next pages included) are
 * rewritten onto it after region and edge handling. Keep-alive, TWILIO_CA_BUNDLE and HTTP_PROXY as
 * twilio-node's; no 429 auto-retry (adapters/retry.ts is the one policy), never a redirect followed.
 */
export class TwilioHttpClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  private https: Promise<HttpsTransport> | undefined;

  constructor(private readonly options: TwilioHttpOptions = {}) {}

  /** Closes the kept-alive connections; a request after this opens new ones. */
  close(): void {
    this.httpAgent.destroy();
    void this.https?.then((t) => t.agent.destroy()).catch(() => undefined);
  }

  async request(opts: TwilioRequest): Promise<TwilioHttpResponse> {
    const original = new URL(opts.uri);
    const target = this.route(original);
    const signal = requestSignal.getStore();
    signal?.throwIfAborted();
    const query = formEncode(opts.params);
    if (query) target.search += (target.search ? '&' : '?') + query;

    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k] = v;
    headers.Connection ??= 'keep-alive';
    if (opts.username && opts.password) {
      // An upstream that echoes the request would show this header: its form is redacted too.
      registerCredential(opts.username, opts.password);
      headers.Authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    } else if (opts.authStrategy) headers.Authorization = await opts.authStrategy.getAuthString();
    if (target.host !== original.host) headers['X-Twilio-Original-Host'] = original.host;

    let body: string | undefined;
    if (opts.data !== undefined && opts.data !== null) {
      body = headers['Content-Type'] === 'application/json' ? JSON.stringify(opts.data) : formEncode(opts.data);
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }

    const secure = target.protocol === 'https:';
    const transport = secure ? await (this.https ??= httpsTransport()) : { agent: this.httpAgent };
    const timeoutMs = opts.timeout ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const method = opts.method.toUpperCase();
    const where = `${target.host}${target.pathname}`;
    return new Promise<TwilioHttpResponse>((resolve, reject) => {
      const req = (secure ? https : http).request(target, { method, headers, ...transport }, (res) => {
        const status = res.statusCode ?? 0;
        const contentType = res.headers['content-type'] ?? '';
        const tooLarge = () => {
          req.destroy();
          reject(new TwilioAnswerTooLargeError(status, contentType, `HTTP ${status} from ${where}`));
        };
        if (Number(res.headers['content-length'] ?? NaN) > TWILIO_ANSWER_MAX_BYTES) return tooLarge();
        readUpTo(res, TWILIO_ANSWER_MAX_BYTES).then(({ bytes, complete }) => {
          if (!complete) return tooLarge();
          const text = bytes.toString('utf8');
          // twilio-node parses every body as JSON and its parse error would quote the body.
          if (text.length > 0 && parseJson(text) === undefined)
            return reject(new NotTwilioAnswerError(status, contentType));
          resolve({ statusCode: status, body: text, headers: res.headers });
        }, reject);
      });
      const timer = setTimeout(() => {
        const timedOut = new Error(`Twilio request timed out after ${timeoutMs} ms (${method} ${where})`);
        req.destroy(Object.assign(timedOut, { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * Where a request may go: Twilio's hosts over HTTPS (onto the base URL when one is configured), or a
   * base URL's own origin (a next page handed back). Anything else is refused before a byte is sent.
   */
  private route(original: URL): URL {
    const { baseUrl } = this.options;
    if (TWILIO_HOST.test(original.hostname)) {
      if (original.protocol !== 'https:')
        throw new RefusedUrlError(`refusing to send credentials to ${original.origin} over plain HTTP`);
      if (!baseUrl) return original;
      // The product is the first label of the host twilio-node built: iam.dublin.ie1.twilio.com -> iam.
      const product = original.hostname.split('.')[0] ?? original.hostname;
      const base = typeof baseUrl === 'string' ? baseUrl : baseUrl[product];
      if (!base)
        throw new Error(
          `no base URL configured for Twilio product "${product}" (${original.host}): add it to twilio.baseUrl`,
        );
      return new URL(base.replace(/\/+$/, '') + original.pathname + original.search);
    }
    if (baseUrlsOf(baseUrl).some((b) => new URL(b).origin === original.origin)) return original;
    throw new RefusedUrlError(
      `refusing to send credentials to ${original.origin}: it is neither a Twilio host nor twilio.baseUrl`,
    );
  }
}

interface HttpsTransport {
  agent: http.Agent;
  /** Passed per request: a proxy agent hands request options, not its own, to the TLS handshake. */
  ca?: Buffer;
}

/**
 * How https targets are reached. The proxy agent is loaded only when a proxy is configured, so a
 * rotator without one never pays for it.
 */
async function httpsTransport(): Promise<HttpsTransport> {
  const ca = process.env.TWILIO_CA_BUNDLE ? readCaBundle(process.env.TWILIO_CA_BUNDLE) : undefined;
  const proxy = process.env.HTTP_PROXY;
  const agent = proxy
    ? ((await import('https-proxy-agent')).default(urlParts(proxy)) as unknown as http.Agent)
    : new https.Agent({ keepAlive: true, maxSockets: 20 });
  return { agent, ...(ca ? { ca } : {}) };
}

function readCaBundle(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`TWILIO_CA_BUNDLE=${path} cannot be read (${code}): point it at a PEM file, or unset it`, {
      cause: err,
    });
  }
}

function urlParts(proxy: string) {
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    throw new Error('HTTP_PROXY is not a URL: set it to http://host:port, or unset it');
  }
  return {
    protocol: url.protocol,
    host: url.hostname,
    port: url.port || (url.protocol === 'https:' ? 443 : 80),
    ...(url.username ? { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` } : {}),
  };
}

/**
 * One run's way to Twilio: one HTTP client (one keep-alive pool for every target), and one
 * AccountLimiter per account, so the run's requests to an account stay under `perAccount` in flight
 * whichever targets and credentials make them, and back off together on 429.
 */
export class TwilioHttpPool {
  private readonly client: TwilioHttpClient;
  private readonly limiters = new Map<string, AccountLimiter>();

  constructor(
    options: Omit<TwilioHttpOptions, 'pool'>,
    private readonly perAccount: number,
  ) {
    this.client = new TwilioHttpClient(options);
  }

  close(): void {
    this.client.close();
  }

  clientFor(accountSid: string): RequestClient {
    const key = accountSid.toUpperCase();
    let limiter = this.limiters.get(key);
    if (!limiter) this.limiters.set(key, (limiter = new AccountLimiter(this.perAccount)));
    const request = (opts: TwilioRequest) =>
      limiter.run(
        () => this.client.request(opts),
        (res) => res.statusCode,
        requestSignal.getStore(),
      );
    return { request } as unknown as RequestClient;
  }
}

/** The client handed to twilio-node. Typed as its RequestClient, whose `request` this implements. */
export function httpClientFor(http: TwilioHttpOptions, accountSid?: string): RequestClient {
  if (http.pool && accountSid) return http.pool.clientFor(accountSid);
  return new TwilioHttpClient(http) as unknown as RequestClient;
}
