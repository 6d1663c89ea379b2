import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorControls, FaultPlan } from './controls.js';

export const CONTROL_PREFIX = '/__emulator/';

/**
 * The test controls over HTTP, for a sandbox running in its own process:
 *   GET  /__emulator/requests        the request log (JSON array)
 *   POST /__emulator/faults          body: a FaultPlan; {} clears
 *   POST /__emulator/latency         body: {"ms": 250}
 *   POST /__emulator/reset           clears log, faults and latency
 * Returns false when the path is not a control path, so the caller serves it as the emulated API.
 */
export function handleControlRoute(
  controls: EmulatorControls,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
): boolean {
  const path = (req.url ?? '').split('?')[0] ?? '';
  if (!path.startsWith(CONTROL_PREFIX)) return false;
  const action = `${req.method ?? 'GET'} ${path.slice(CONTROL_PREFIX.length)}`;
  const reply = (status: number, payload: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(payload));
  };
  let input: FaultPlan & Record<string, unknown> = {};
  if (body.length > 0) {
    try {
      input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      reply(400, { error: 'control body must be JSON' });
      return true;
    }
  }
  try {
    switch (action) {
      case 'GET requests':
        reply(200, controls.log);
        break;
      case 'POST faults':
        if (Object.keys(input).length === 0) controls.clearFaults();
        else controls.setFaults(input);
        reply(200, { ok: true });
        break;
      case 'POST latency':
        controls.latencyMs = Number(input.ms ?? 0);
        reply(200, { ok: true });
        break;
      case 'POST reset':
        controls.reset();
        reply(200, { ok: true });
        break;
      default:
        reply(404, { error: `unknown control ${action}` });
    }
  } catch (err) {
    reply(400, { error: err instanceof Error ? err.message : String(err) });
  }
  return true;
}
