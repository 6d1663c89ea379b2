import type { ProbeConfig } from '../../config/types.js';
import type { ProbeResult } from '../../core/ports.js';
import { redact } from '../../redact.js';
import { timeoutSignal } from '../../util/abort.js';
import { describeBytes, KiB, readUpTo } from '../../util/bounded-body.js';
import { parseJson } from '../../util/json.js';

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
  const url = shown(probe.url);
  const fail = (problem: string): ProbeResult => ({ url, ok: false, problem });
  const headers: Record<string, string> = { accept: 'application/json' };
  if (probe.headerName && probe.headerValueEnv) {
    const value = env[probe.headerValueEnv];
    if (!value) return fail(`environment variable ${probe.headerValueEnv} is not set`);
    headers[probe.headerName] = value;
  }
  // The run's deadline or interrupt aborts a probe in flight too; the gate then simply waits.
  const timeout = timeoutSignal(probe.timeoutMs, signal);
  try {
    const res = await fetch(probe.url, { headers, signal: timeout.signal, redirect: 'error' });
    if (!res.ok) return fail(`answered HTTP ${res.status}`);
    const answer = await readUpTo(res.body, PROBE_ANSWER_MAX_BYTES);
    if (!answer.complete)
      return fail(`answered more than ${describeBytes(PROBE_ANSWER_MAX_BYTES)}; the rest was not read`);
    const body = parseJson(answer.bytes.toString('utf8'));
    if (body === undefined) return fail('did not answer JSON');
    // One reference, or a list of them (a consumer that holds both tokens while it switches).
    const value = pick(body, probe.field);
    const reported = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
    if (reported.length === 0) return fail(`has no string (or list of strings) at "${probe.field}"`);
    // Only references are echoed back; anything else might be a secret the consumer put there by mistake.
    const safe = reported.map((r) => (refPattern.test(r) ? r : '(not a credential reference)')).join(', ');
    const ok = reported.includes(expected);
    return { url, reported: safe, ok, ...(ok ? {} : { problem: `reports ${safe}, not ${expected}` }) };
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string } };
    if (e.name === 'TimeoutError') return fail(`no answer within ${probe.timeoutMs} ms`);
    return fail(`unreachable (${redact(e.cause?.code ?? e.name ?? 'error')})`);
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
