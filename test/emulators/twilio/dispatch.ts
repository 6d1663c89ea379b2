import type { IncomingMessage, ServerResponse } from 'node:http';
import { actOutFault, handleControlRoute, type EmulatorControls } from '../common/index.js';
import * as accounts from './accounts.js';
import * as api2010 from './api2010.js';
import { authenticate, authorize, credentialOf } from './auth.js';
import type { Handler, HandlerResult } from './context.js';
import * as iam from './iam.js';
import * as oauth from './oauth.js';
import { matchRoute, type RouteMatch, type TwilioOperation } from './routes.js';
import type { TwilioState } from './state.js';
import * as tokens from './tokens.js';
import { TwilioApiError, parseBody, parseForm, parseJsonBody, requestId } from './wire.js';

/** Operations on an authenticated principal; the token endpoint authenticates its client itself. */
type PrincipalOperation = Exclude<TwilioOperation, 'CreateOAuthToken'>;

function handlers(opts: DispatchOptions): Record<PrincipalOperation, Handler> {
  return {
    CreateKey: iam.createKey,
    ListKeys: iam.listKeys,
    FetchKey: iam.fetchKey,
    UpdateKey: iam.updateKey,
    DeleteKey: iam.deleteKey,
    CreateKey2010: api2010.createKey2010,
    ListKeys2010: api2010.listKeys2010,
    FetchKey2010: api2010.fetchKey2010,
    DeleteKey2010: api2010.deleteKey2010,
    FetchAccount: accounts.fetchAccount,
    ListAccounts: accounts.listAccounts,
    CreateAccount: accounts.createAccount(opts.maxSubaccounts),
    UpdateAccount: accounts.updateAccount,
    CreateSecondaryAuthToken: tokens.createSecondaryAuthToken,
    DeleteSecondaryAuthToken: tokens.deleteSecondaryAuthToken,
    PromoteAuthToken: tokens.promoteAuthToken,
    ListIncomingPhoneNumbers: api2010.listIncomingPhoneNumbers,
    ListMessages: api2010.listMessages,
    CreateOAuthApp: oauth.createApp,
    ListOAuthApps: oauth.listApps,
    FetchOAuthApp: oauth.fetchApp,
    UpdateOAuthApp: oauth.updateApp,
    DeleteOAuthApp: oauth.deleteApp,
  };
}

export interface DispatchOptions {
  state: TwilioState;
  controls: EmulatorControls;
  mutators: Map<string, (body: any) => any>;
  /** In-flight limit for one account (the credential's account); `undefined` means none. */
  concurrencyLimit(accountSid: string): number | undefined;
  maxSubaccounts: () => number;
}

function send(res: ServerResponse, startedMs: number, result: HandlerResult, concurrent: number): void {
  const headers: Record<string, string> = {
    'Twilio-Request-Id': requestId(),
    'Twilio-Request-Duration': ((Date.now() - startedMs) / 1000).toFixed(3),
    'Twilio-Concurrent-Requests': String(concurrent),
  };
  if (result.body === undefined) {
    res.writeHead(result.status, headers).end();
    return;
  }
  headers['Content-Type'] = 'application/json; charset=utf-8';
  res.writeHead(result.status, headers).end(JSON.stringify(result.body));
}

const errorResult = (err: TwilioApiError): HandlerResult => ({ status: err.status, body: err.body });

/**
 * One request, in this order: control routes; routing; the request log and a fault decision
 * (controls.admit); the per-account concurrency limit; authentication and authorization; the
 * operation. Faults and throttling come before anything that changes state, as on the real service.
 */
export function createDispatcher(opts: DispatchOptions) {
  const inFlight = new Map<string, number>();
  const table = handlers(opts);

  return async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const startedMs = Date.now();
    if (handleControlRoute(opts.controls, req, res, body)) return;
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const qIndex = rawUrl.indexOf('?');
    const path = qIndex < 0 ? rawUrl : rawUrl.slice(0, qIndex);
    const route = matchRoute(method, path);
    if (route.kind === 'not-found')
      return send(
        res,
        startedMs,
        errorResult(new TwilioApiError(404, 20404, `The requested resource ${path} was not found`)),
        0,
      );
    if (route.kind === 'method-not-allowed')
      return send(
        res,
        startedMs,
        errorResult(new TwilioApiError(405, 20004, `Method ${method} not allowed on ${path}`)),
        0,
      );

    // Twilio counts concurrency per account, so a key's (or an OAuth app's) requests count against its
    // account. A parent acting on a subaccount's resources counts against the parent, whose credential
    // it is (UNCONFIRMED).
    const credential = credentialOf(opts.state, req.headers.authorization);
    const account = credential.accountSid;
    const slot = account ?? '';
    inFlight.set(slot, (inFlight.get(slot) ?? 0) + 1);
    // Taken before any await: UpdateAccount's optimistic lock compares it with the account when applied.
    const pathAccountSid = route.params.account;
    const arrivalVersion = pathAccountSid === undefined ? undefined : opts.state.accounts.get(pathAccountSid)?.version;
    try {
      const admission = await opts.controls.admit({
        operation: route.operation,
        method,
        path,
        ...(credential.loggable ? { credential: credential.loggable } : {}),
        mutating: route.mutating,
      });
      res.on('close', () => {
        if (!res.writableFinished) admission.entry.abandoned = true;
      });
      const concurrent = inFlight.get(slot) ?? 1;
      const reply = (result: HandlerResult) => {
        admission.entry.status = result.status;
        send(res, startedMs, result, concurrent);
      };
      const throttled = () => reply(errorResult(new TwilioApiError(429, 20429, 'Too Many Requests')));
      const serverError = () => reply(errorResult(new TwilioApiError(500, 20500, 'Internal Server Error')));
      if (await actOutFault(admission, req, { serverError, throttle: throttled })) return;
      const limit = account === undefined ? undefined : opts.concurrencyLimit(account);
      if (limit !== undefined && concurrent > limit) return throttled();
      reply(run(opts, table, route, req, path, qIndex < 0 ? '' : rawUrl.slice(qIndex + 1), body, arrivalVersion));
    } finally {
      inFlight.set(slot, (inFlight.get(slot) ?? 1) - 1);
    }
  };
}

type OperationRoute = Extract<RouteMatch, { kind: 'op' }>;

function run(
  opts: DispatchOptions,
  table: Record<PrincipalOperation, Handler>,
  route: OperationRoute,
  req: IncomingMessage,
  path: string,
  queryText: string,
  body: Buffer,
  arrivalVersion: number | undefined,
): HandlerResult {
  const { operation, params } = route;
  try {
    const query = parseForm(queryText, 'query string');
    if (operation === 'CreateOAuthToken')
      return withMutator(opts, operation, oauth.createToken(opts.state, parseBody(req.headers['content-type'], body)));
    const principal = authenticate(opts.state, req.headers.authorization);
    authorize(principal, route.need);
    const json = route.body === 'json' ? parseJsonBody(req.headers['content-type'], body) : {};
    const form = route.body === 'json' ? new Map<string, string>() : parseBody(req.headers['content-type'], body);
    const forwarded = req.headers['x-forwarded-host'];
    const host = (Array.isArray(forwarded) ? forwarded[0] : forwarded) ?? req.headers.host ?? '127.0.0.1';
    // A client that reroutes Twilio's hosts here says which one it meant: absolute links then point
    // at that host, as Twilio's own do (https://iam.twilio.com/v1/Keys?...), and the client reroutes
    // them like any other URL. A raw request gets links back to the emulator itself.
    const meant = req.headers['x-twilio-original-host'];
    const twilioHost = typeof meant === 'string' && /^[a-z0-9.-]+\.twilio\.com$/.test(meant) ? meant : undefined;
    const result = table[operation]({
      state: opts.state,
      principal,
      params,
      query,
      form,
      json,
      path,
      origin: twilioHost ? `https://${twilioHost}` : `http://${host}`,

      ...(arrivalVersion === undefined ? {} : { arrivalVersion }),
    });
    return withMutator(opts, operation, result);
  } catch (err) {
    if (err instanceof TwilioApiError) return errorResult(err);
    throw err;
  }
}

function withMutator(opts: DispatchOptions, operation: TwilioOperation, result: HandlerResult): HandlerResult {
  const mutate = opts.mutators.get(operation);
  if (mutate && result.body !== undefined && result.status < 300)
    return { ...result, body: mutate(structuredClone(result.body)) };
  return result;
}
