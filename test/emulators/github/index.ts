import type { IncomingMessage, ServerResponse } from 'node:http';
import { actOutFault, EmulatorControls, handleControlRoute, serve } from '../common/index.js';

/**
 * The one GitHub REST call leak reports need: GET /repos/{owner}/{repo}/secret-scanning/alerts/
 * {alert_number} ("Get a secret scanning alert"), answered with the alert as GitHub documents it
 * (number, state, secret_type, secret_type_display_name, secret, html_url, locations_url,
 * first_location_detected, ...). A token is required (Authorization: Bearer or token); a wrong one
 * is 401 "Bad credentials", an unknown alert 404 "Not Found". The request log never holds the token.
 */

export interface SeededAlert {
  number: number;
  secret: string;
  secretType?: string;
  state?: 'open' | 'resolved';
  path?: string;
  line?: number;
}

export interface GithubEmulator {
  url: string;
  close(): Promise<void>;
  controls: EmulatorControls;
  /** Adds (or replaces) alert `number` of `repo` ("owner/name"). */
  addAlert(repo: string, alert: SeededAlert): void;
}

const ALERT_PATH = /^\/repos\/([^/]+)\/([^/]+)\/secret-scanning\/alerts\/(\d+)$/;

export async function startGithubEmulator(opts: { token: string; port?: number }): Promise<GithubEmulator> {
  const alerts = new Map<string, SeededAlert>();
  const controls = new EmulatorControls('github');

  const handler = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    if (handleControlRoute(controls, req, res, body)) return;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-api-version-selected': '2022-11-28',
      });
      res.end(JSON.stringify(payload));
    };
    const m = ALERT_PATH.exec(path);
    if (req.method !== 'GET' || !m) return reply(404, { message: 'Not Found', status: '404' });
    const admission = await controls.admit({
      operation: 'GetSecretScanningAlert',
      method: 'GET',
      path,
      mutating: false,
    });
    const send = (status: number, payload: unknown) => {
      admission.entry.status = status;
      reply(status, payload);
    };
    const faulted = await actOutFault(admission, req, {
      serverError: () => send(502, { message: 'Server Error' }),
      throttle: () => send(429, { message: 'API rate limit exceeded' }),
    });
    if (faulted) return;
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${opts.token}` && auth !== `token ${opts.token}`)
      return send(401, { message: 'Bad credentials', status: '401' });
    const [, owner = '', repo = '', number = ''] = m;
    const alert = alerts.get(`${owner}/${repo}#${number}`);
    if (!alert) return send(404, { message: 'Not Found', status: '404' });
    const html = `https://github.com/${owner}/${repo}/security/secret-scanning/${alert.number}`;
    const api = `${'https://api.github.com'}/repos/${owner}/${repo}/secret-scanning/alerts/${alert.number}`;
    send(200, {
      number: alert.number,
      created_at: '2026-06-01T12:00:00Z',
      updated_at: '2026-06-01T12:00:00Z',
      url: api,
      html_url: html,
      locations_url: `${api}/locations`,
      state: alert.state ?? 'open',
      resolution: null,
      secret_type: alert.secretType ?? 'twilio_api_key',
      secret_type_display_name: 'Twilio API Key',
      secret: alert.secret,
      validity: 'unknown',
      publicly_leaked: false,
      multi_repo: false,
      first_location_detected: {
        path: alert.path ?? 'config/settings.py',
        start_line: alert.line ?? 1,
        end_line: alert.line ?? 1,
        start_column: 1,
        end_column: 35,
        blob_sha: 'af5626b4a114abcb82d63db7c8082c3c4756e51b',
        commit_sha: 'f14d7debf9775f957cf4f1e8176da0786431f72b',
      },
      has_more_locations: false,
    });
  };

  const server = await serve(handler, opts.port ?? 0);
  return {
    url: server.url,
    close: () => server.close(),
    controls,
    addAlert: (repo, alert) => void alerts.set(`${repo}#${alert.number}`, alert),
  };
}
