import RequestClient from 'twilio/lib/base/RequestClient.js';

/**
 * Where Twilio requests go. `undefined` means Twilio itself. A string is one base URL for every
 * product (the emulator routes by path); a record maps a product ("iam", "accounts", "api") to its
 * own base URL, which is how the contract tests put one validating proxy in front of each product.
 */
export type TwilioBaseUrl = string | Readonly<Record<string, string>>;

export interface TwilioHttpOptions {
  baseUrl?: TwilioBaseUrl;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
}

export interface TwilioCredential {
  /** Account SID (AC…) or API key SID (SK…). */
  username: string;
  password: string;
  /** The account the calls act on; required by twilio-node when username is an SK. */
  accountSid: string;
}

/** The product is the first label of the host twilio-node built: iam.dublin.ie1.twilio.com -> iam. */
function productOf(host: string): string {
  return host.split('.')[0] ?? host;
}

/**
 * Rewrites the absolute https://<product>.twilio.com URLs that twilio-node builds, including the
 * next-page URLs it follows verbatim, onto a configured base URL. Region and edge handling has
 * already happened by then, so the product survives in the host name and nothing else needs to know.
 *
 * The SDK's own 429 retry is left off: retries belong to one policy (p-retry) with one time budget.
 */
export class RoutedRequestClient extends RequestClient {
  constructor(private readonly baseUrl: TwilioBaseUrl, timeoutMs?: number) {
    super({ autoRetry: false, ...(timeoutMs ? { timeout: timeoutMs } : {}) });
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const original = new URL(opts.uri);
    // Only Twilio's own hosts are rerouted; an absolute URL the routed server handed back
    // (a next_page_url pointing at a proxy or emulator) is already where it should go.
    if (!/(^|\.)twilio\.com$/.test(original.hostname)) return super.request<TData>(opts);
    const product = productOf(original.hostname);
    const base = typeof this.baseUrl === 'string' ? this.baseUrl : this.baseUrl[product];
    if (!base) {
      return Promise.reject(new Error(`no base URL configured for Twilio product "${product}" (${original.host})`));
    }
    const target = new URL(base.replace(/\/+$/, '') + original.pathname + original.search);
    return super.request<TData>({
      ...opts,
      uri: target.href,
      headers: { ...opts.headers, 'X-Twilio-Original-Host': original.host },
    });
  }
}

export function httpClientFor(http: TwilioHttpOptions): RequestClient {
  return http.baseUrl
    ? new RoutedRequestClient(http.baseUrl, http.timeoutMs)
    : new RequestClient({ autoRetry: false, ...(http.timeoutMs ? { timeout: http.timeoutMs } : {}) });
}
