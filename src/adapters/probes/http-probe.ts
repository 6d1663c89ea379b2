import type { ProbeConfig } from '../../config/types.js';
import type { ProbeResult } from '../../core/ports.js';
import { redact } from '../../redact.js';
import { timeoutSignal } from '../../util/abort.js';
import { describeBytes, KiB, readUpTo } from '../../util/bounded-body.js';

/** A consumer's answer names a credential or two: more than this is not read, and the probe fails. */
export const PROBE_ANSWER_MAX_BYTES = 64 * KiB;

function pick(value: unknown, path: string): unknown {
  let at = value;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** How a probe is named in output: origin and path only, so a token in its query string is never printed. */
function shown(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/**
 * Asks one consumer which key it uses. The consumer answers JSON in which `field` holds the key SID.
 * Any failure is a "not yet", never an error: the gate simply keeps the old key alive.
 */
export async function runProbe(
  probe: ProbeConfig,
  expected: string,
  refPattern: RegExp,
  env: NodeJS.ProcessEnv = process.env,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (probe.headerName && probe.headerValueEnv) {
    const value = env[probe.headerValueEnv];
    if (!value)
      return { url: shown(probe.url), ok: false, problem: `environment variable ${probe.headerValueEnv} is not set` };
    headers[probe.headerName] = value;
  }
  // The run's deadline or interrupt aborts a probe in flight too; the gate then simply waits.
  const timeout = timeoutSignal(probe.timeoutMs, signal);
  try {
    const res = await fetch(probe.url, { headers, signal: timeout.signal, redirect: 'error' });
    if (!res.ok) return { url: shown(probe.url), ok: false, problem: `answered HTTP ${res.status}` };
    const answer = await readUpTo(res.body, PROBE_ANSWER_MAX_BYTES);
    if (!answer.complete)
      return {
        url: shown(probe.url),
        ok: false,
        problem: `answered more than ${describeBytes(PROBE_ANSWER_MAX_BYTES)}; the rest was not read`,
      };
    let body: unknown;
    try {
      body = JSON.parse(answer.bytes.toString('utf8'));
    } catch {
      return { url: shown(probe.url), ok: false, problem: 'did not answer JSON' };
    }
    // One reference, or a list of them (a consumer that holds both tokens while it switches).
    const value = pick(body, probe.field);
    const reported =
      typeof value === 'string'
        ? [value]
        : Array.isArray(value)
          ? value.filter((v): v is string => typeof v === 'string')
          : [];
    if (reported.length === 0)
      return { url: shown(probe.url), ok: false, problem: `has no string (or list of strings) at "${probe.field}"` };
    // Only references are echoed back; anything else might be a secret the consumer put there by mistake.
    const safe = reported.map((r) => (refPattern.test(r) ? r : '(not a credential reference)')).join(', ');
    const ok = reported.includes(expected);
    return {
      url: shown(probe.url),
      reported: safe,
      ok,
      ...(ok ? {} : { problem: `reports ${safe}, not ${expected}` }),
    };
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string } };
    return {
      url: shown(probe.url),
      ok: false,
      problem:
        e.name === 'TimeoutError'
          ? `no answer within ${probe.timeoutMs} ms`
          : `unreachable (${redact(e.cause?.code ?? e.name ?? 'error')})`,
    };
  } finally {
    timeout.release();
  }
}

export async function runProbes(
  probes: readonly ProbeConfig[],
  expected: string,
  refPattern: RegExp,
  env?: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<ProbeResult[]> {
  return Promise.all(probes.map((p) => runProbe(p, expected, refPattern, env, signal)));
}
