import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LeakReportsConfig } from '../../config/leaks.js';
import type { RotatorConfig } from '../../config/types.js';
import { leakAlert } from '../../core/alert.js';
import type { Logger, Runtime } from '../../core/runtime.js';
import { channelsFor, deliver } from '../../engine/alerts.js';
import { errorMessage } from '../../errors.js';
import { redact, registerSecret } from '../../redact.js';
import { createRuntime } from '../../wiring.js';
import { fetchSecretScanningAlert } from './leaks-github.js';
import { matchLeak, type Leak } from '../../engine/leak-match.js';
import { parseGithubEvent, parseSignedReport } from './leaks-parse.js';
import { sleep } from '../../util/abort.js';
import { send } from './health.js';
import { verifyGithub, verifyStandard } from './leaks-verify.js';

/**
 * Leak reports that rotate, on the daemon's HTTP endpoint (POST /leaks/github, POST /leaks/report;
 * README "Leak reports"):
 *
 *   rate ─▶ size (64 KiB) ─▶ signature (before any parsing) ─▶ parse ─▶ [GitHub: fetch the alert's
 *   secret] ─▶ match a configured target by reference ─▶ alert ─▶ rotate --now (in the background)
 *
 * Anything unverifiable, malformed or unmatched is answered, logged in one line and changes nothing.
 * A report can start the emergency path (engine/emergency.ts), never steer it.
 */

const MAX_BODY_BYTES = 64 * 1024;
const RATE_WINDOW_MS = 60_000;
/**
 * The endpoint drops a socket idle for 5 s; a report waits on GitHub (leakReports.github.timeoutSeconds)
 * and on reading the targets' secrets before it is answered, so its socket may stay quiet this long.
 */
const REPORT_SOCKET_TIMEOUT_MS = 30_000;
/** Standard Webhooks ids remembered against replays (within the timestamp tolerance). */
const MAX_REMEMBERED_IDS = 1000;

export interface LeakReceiverDeps {
  config(): RotatorConfig;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  now: () => number;
  /** The daemon's stop: an emergency in progress finishes its step and starts nothing new. */
  stop: AbortSignal;
}

/**
 * A reported credential is kept out of every log line; a SID (GitHub reports an API key's SID as
 * twilio_api_key) names a credential without being one, and must stay readable in the LEAK line.
 */
function registerLeaked(value: string): void {
  if (!/^(SK|AC)[0-9a-fA-F]{32}$/.test(value)) registerSecret(value);
}

export function createLeakReceiver(deps: LeakReceiverDeps) {
  const { logger } = deps;
  const log = logger.child({ step: 'leak-report' });
  const arrivals: number[] = [];
  /** Refusals for the rate since the last one logged: a flood writes one line a minute, not one a request. */
  let refusedQuietly = 0;
  let rateLoggedAt = -Infinity;
  const seenIds = new Map<string, number>();
  const rotating = new Set<string>();
  let emergencies: Promise<void> = Promise.resolve();

  async function withRuntime<T>(config: RotatorConfig, work: (r: Runtime) => Promise<T>, signal?: AbortSignal) {
    const runtime = createRuntime(config, { logger, env: deps.env, now: deps.now, ...(signal ? { signal } : {}) });
    try {
      return await work(runtime);
    } finally {
      runtime.close?.();
    }
  }

  const ignore = (status: number, why: string, fields: Record<string, unknown> = {}): Answer => {
    log.warn(`leak report ignored, nothing changed: ${why}`, fields);
    return answer(status, { status: 'ignored', reason: why });
  };

  /** The refusal of a report over leakReports.perMinute, logged once a minute with how many went unlogged since. */
  const overRate = (cfg: LeakReportsConfig): Answer | undefined => {
    const t = performance.now();
    while (arrivals.length > 0 && t - arrivals[0]! >= RATE_WINDOW_MS) arrivals.shift();
    if (arrivals.length < cfg.perMinute) {
      arrivals.push(t);
      return undefined;
    }
    const why = `more than leakReports.perMinute (${cfg.perMinute}) reports in a minute`;
    if (t - rateLoggedAt < RATE_WINDOW_MS) {
      refusedQuietly++;
      return answer(429, { status: 'ignored', reason: why });
    }
    rateLoggedAt = t;
    const more = refusedQuietly > 0 ? ` (${refusedQuietly} more refused since the last such line)` : '';
    refusedQuietly = 0;
    return ignore(429, `${why}${more}`);
  };

  async function fromGithub(cfg: NonNullable<LeakReportsConfig['github']>, req: IncomingMessage, body: Buffer) {
    const delivery = header(req, 'x-github-delivery') ?? 'unknown';
    const secret = deps.env[cfg.webhookSecretEnv];
    if (!secret) return ignore(503, `${cfg.webhookSecretEnv} is not set; the GitHub report cannot be verified`);
    if (!verifyGithub(secret, body, header(req, 'x-hub-signature-256')))
      return ignore(401, 'X-Hub-Signature-256 does not verify with leakReports.github.webhookSecretEnv', { delivery });
    const event = parseGithubEvent(header(req, 'x-github-event'), body);
    if (event.kind === 'ping') return answer(200, { status: 'pong' });
    if (event.kind === 'ignored') return ignore(event.status, event.why, { delivery });
    const token = deps.env[cfg.tokenEnv];
    if (!token) return ignore(503, `${cfg.tokenEnv} is not set; the alert's secret cannot be fetched`, { delivery });
    let alert;
    try {
      alert = await fetchSecretScanningAlert({ apiUrl: cfg.apiUrl, token, timeoutMs: cfg.timeoutMs }, event, deps.stop);
    } catch (err) {
      // 502 lets GitHub's "Redeliver" try again once the cause is fixed.
      return ignore(502, `the alert could not be fetched from GitHub: ${redact(errorMessage(err))}`, { delivery });
    }
    registerLeaked(alert.secret);
    if (alert.state !== 'open') return ignore(200, `GitHub's alert is ${alert.state}, not open`, { delivery });
    return act(
      { credential: alert.secret },
      { source: `GitHub secret scanning (${alert.secretType})`, where: alert.where },
    );
  }

  async function fromSigned(cfg: NonNullable<LeakReportsConfig['signed']>, req: IncomingMessage, body: Buffer) {
    const secret = deps.env[cfg.secretEnv];
    if (!secret) return ignore(503, `${cfg.secretEnv} is not set; the report cannot be verified`);
    const headers = {
      id: header(req, 'webhook-id'),
      timestamp: header(req, 'webhook-timestamp'),
      signature: header(req, 'webhook-signature'),
    };
    const nowMs = deps.now();
    const verdict = verifyStandard(secret, headers, body, { nowMs, toleranceMs: cfg.toleranceMs });
    if (!verdict.ok) return ignore(401, verdict.why);
    for (const [id, until] of seenIds) if (until < nowMs || seenIds.size > MAX_REMEMBERED_IDS) seenIds.delete(id);
    if (seenIds.has(verdict.id)) return answer(200, { status: 'duplicate', id: verdict.id });
    seenIds.set(verdict.id, nowMs + 2 * cfg.toleranceMs);
    const report = parseSignedReport(body);
    if (report.kind === 'invalid') return ignore(400, report.why, { id: verdict.id });
    if ('credential' in report.leak) registerLeaked(report.leak.credential);
    // Not handled for good: the sender's retry with the same webhook-id must be looked at again.
    const handled = await act(report.leak, { source: report.source, where: report.where }).catch((err: unknown) => {
      seenIds.delete(verdict.id);
      throw err;
    });
    if (handled.status >= 500) seenIds.delete(verdict.id);
    return handled;
  }

  /** Finds the one target the leak is about and starts its emergency rotation. */
  async function act(leak: Leak, found: { source: string; where: string }): Promise<Answer> {
    const config = deps.config();
    const cfg = config.leakReports!;
    const matched = await withRuntime(config, (runtime) => matchLeak(config, runtime, leak), deps.stop);
    const live = matched.matches.filter((m) => !m.retired);
    const names = [...new Set(live.map((m) => m.target.name))];
    const unreadable = matched.unreadable.length ? `; unreadable: ${matched.unreadable.join(', ')}` : '';
    if (names.length === 0 && matched.matches.length > 0) {
      const refs = matched.matches.map((m) => `${m.ref} of ${m.target.name}`).join(', ');
      return ignore(200, `the reported credential (${refs}) was already retired by the rotator`);
    }
    if (names.length === 0 && matched.unreadable.length > 0) {
      // The credential may be in a secret that could not be read: not "unmatched", and not ignored.
      const why = `the report (${found.source}) matches no readable target, and some could not be read${unreadable}`;
      log.error(`leak report not handled: ${why}; fix the store access, then redeliver or run rotate --now`);
      return answer(503, { status: 'retry', reason: 'some targets could not be read' });
    }
    if (names.length === 0)
      return ignore(200, `the report (${found.source}) matches no configured target's credential`);
    if (names.length > 1) {
      log.error(`leak report matches several targets (${names.join(', ')}); rotate each with rotate --now`);
      return answer(409, { status: 'ambiguous', targets: names });
    }
    const name = names[0]!;
    const match = live.find((m) => m.target.name === name)!;
    if (rotating.has(name)) return answer(200, { status: 'already-rotating', target: name, ref: match.ref });
    rotating.add(name);
    const where = redact(found.where);
    const leaked = `LEAK of ${match.ref} (${match.stage}) of target ${name} reported by ${found.source} at ${where}`;
    log.error(leaked, { target: name, ref: match.ref, alert: 'leak-reported' });
    // The alert and the rotation run after the answer: the reporter is not kept waiting on either.
    emergencies = emergencies
      .then(() => announce(config, match, { ...found, where }))
      .catch((err: unknown) => log.error(`leak alert failed: ${redact(errorMessage(err))}`, { target: name }))
      .then(() => emergency(config, cfg, name));
    return answer(202, { status: 'rotating', target: name, ref: match.ref });
  }

  async function announce(
    config: RotatorConfig,
    match: { target: RotatorConfig['targets'][number]; ref: string },
    found: { source: string; where: string },
  ): Promise<void> {
    const subject = { target: match.target.name, credential: match.target.kind, account: match.target.accountSid };
    const alert = leakAlert(subject, { ref: match.ref, ...found }, randomUUID().replace(/-/g, ''), deps.now());
    const budget = AbortSignal.timeout(config.alerts.budgetMs);
    const to = log.child({ target: subject.target });
    await withRuntime(config, (r) => deliver(alert, channelsFor(match.target, r.alertChannels ?? []), budget, to));
  }

  async function emergency(config: RotatorConfig, cfg: LeakReportsConfig, name: string): Promise<void> {
    try {
      const { rotateNow } = await import('../../engine/emergency.js');
      const options = { overlapMs: cfg.overlapMs, stop: deps.stop, sleep };
      await withRuntime(config, (runtime) => rotateNow(config, runtime, name, options));
    } catch (err) {
      const failed = `emergency rotation of ${name} failed: ${redact(errorMessage(err))}; run rotate --now ${name}`;
      log.error(failed, { target: name });
    } finally {
      rotating.delete(name);
    }
  }

  return {
    handle(path: string, req: IncomingMessage, res: ServerResponse): void {
      const cfg = deps.config().leakReports;
      const route = path === '/leaks/github' ? cfg?.github : path === '/leaks/report' ? cfg?.signed : undefined;
      const reply = (a: Answer) => send(res, a.status, `${JSON.stringify(a.body)}\n`, 'application/json');
      const refuse = (a: Answer) => {
        req.resume(); // a refusal before the body is read drains it unread
        reply(a);
      };
      if (!cfg || !route) return refuse(answer(404, { status: 'not-found' }));
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        return refuse(answer(405, { status: 'method-not-allowed' }));
      }
      const limited = overRate(cfg);
      if (limited) return refuse(limited);
      const tooLarge = () => ignore(413, `body larger than ${MAX_BODY_BYTES} bytes`);
      if (Number(header(req, 'content-length') ?? 0) > MAX_BODY_BYTES) return refuse(tooLarge());
      req.socket.setTimeout(REPORT_SOCKET_TIMEOUT_MS);
      void readBody(req, MAX_BODY_BYTES)
        .then(async (body) => {
          if (!body) return tooLarge();
          return path === '/leaks/github' ? fromGithub(cfg.github!, req, body) : fromSigned(cfg.signed!, req, body);
        })
        .catch((err: unknown) => {
          log.error(`leak report not handled: ${redact(errorMessage(err))}; redeliver it or run rotate --now`);
          return answer(500, { status: 'retry', reason: 'the report could not be handled' });
        })
        .then(reply);
    },
    /** Resolves once no emergency rotation started by a report is running. */
    idle: () => emergencies,
  };
}

type Answer = { status: number; body: Record<string, unknown> };
const answer = (status: number, body: Record<string, unknown>): Answer => ({ status, body });

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Reads at most `limit` bytes; undefined when the body is larger (the rest is drained unread). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
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
