import { redact } from '../../redact.js';
import { parseJson } from '../../util/json.js';

/**
 * The one GitHub call a secret_scanning_alert needs: the alert, whose answer holds the `secret` (the
 * webhook payload does not; the token's permission: README "Leak reports"). Redirects are not
 * followed: the answer must come from apiUrl.
 */

const OWNER_REPO = /^[A-Za-z0-9_.-]{1,100}$/;

export async function fetchSecretScanningAlert(
  api: { apiUrl: string; token: string; timeoutMs: number },
  at: { owner: string; repo: string; number: number },
  signal?: AbortSignal,
) {
  if (!OWNER_REPO.test(at.owner) || !OWNER_REPO.test(at.repo) || !Number.isSafeInteger(at.number) || at.number < 1)
    throw new Error('the alert names no valid repository and alert number');
  const url = `${api.apiUrl}/repos/${at.owner}/${at.repo}/secret-scanning/alerts/${at.number}`;
  const timeout = AbortSignal.timeout(api.timeoutMs);
  const res = await fetch(url, {
    headers: {
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${api.token}`,
      'x-github-api-version': '2022-11-28',
      'user-agent': 'twilio-key-rotator',
    },
    redirect: 'manual',
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  const text = await res.text();
  if (res.status !== 200) {
    const hint =
      res.status === 401 || res.status === 403 || res.status === 404
        ? '; the token needs read access to secret scanning alerts of that repository'
        : '';
    throw new Error(`GitHub answered HTTP ${res.status} for alert ${at.owner}/${at.repo}#${at.number}${hint}`);
  }
  const doc = parseJson(text) as Record<string, unknown> | undefined;
  if (doc === undefined) throw new Error(`GitHub's answer for alert ${at.owner}/${at.repo}#${at.number} is not JSON`);
  const secret = doc.secret;
  if (typeof secret !== 'string' || secret.length === 0 || secret.length > 4096)
    throw new Error(`GitHub's alert ${at.owner}/${at.repo}#${at.number} carries no secret`);
  const first = doc.first_location_detected as { path?: unknown; start_line?: unknown } | undefined;
  const place =
    typeof first?.path === 'string'
      ? ` (${first.path}${typeof first.start_line === 'number' ? `:${first.start_line}` : ''})`
      : '';
  const page = typeof doc.html_url === 'string' ? doc.html_url : `${at.owner}/${at.repo} alert #${at.number}`;
  return {
    secret,
    secretType: typeof doc.secret_type === 'string' ? doc.secret_type : 'unknown',
    state: typeof doc.state === 'string' ? doc.state : 'unknown',
    /** Where the secret was found, for people: the alert's page and its first location. */
    where: redact(`${page}${place}`),
  };
}
