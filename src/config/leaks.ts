import * as z from 'zod/mini';
import { envName, httpUrl, positive, present, wholeNumber } from '../config-kit/fields.js';
import { SECOND_MS } from '../core/sids.js';
import type { ConfigIssue } from '../errors.js';

/**
 * `leakReports:` — reports of leaked credentials the daemon acts on with the emergency rotation
 * (src/entry/daemon/leaks.ts, README "Leak reports"). Secrets are named by environment variable.
 */

export const leakReportsSchema = z.strictObject({
  // The emergency overlap, in the same range as rotate --now --overlap: longer is not an emergency.
  overlapSeconds: z._default(wholeNumber(0, 3600), 300),
  // Reports accepted per minute, verified or not; more are refused with 429 before anything is read.
  perMinute: z._default(wholeNumber(1, 600), 30),
  github: z.optional(
    z.strictObject({
      webhookSecretEnv: envName,
      tokenEnv: envName,
      apiUrl: z._default(httpUrl, 'https://api.github.com'),
      // GitHub gives a webhook 10 s; the alert is fetched before the answer.
      timeoutSeconds: z._default(positive('seconds', 9), 5),
    }),
  ),
  signed: z.optional(
    z.strictObject({
      secretEnv: envName,
      toleranceSeconds: z._default(positive('seconds', 3600), 300),
    }),
  ),
});

type RawLeakReports = z.infer<typeof leakReportsSchema>;
const NO_SOURCE = 'names no source: configure leakReports.github, leakReports.signed or both';
const NO_ENDPOINT =
  'needs daemon.health: reports arrive on the daemon HTTP endpoint (POST /leaks/github, /leaks/report)';
const STANDARD_WEBHOOKS = 'a Standard Webhooks secret: "whsec_" followed by base64';

export function checkLeakReports(
  raw: RawLeakReports | undefined,
  hasEndpoint: boolean,
  issues: ConfigIssue[],
  env: NodeJS.ProcessEnv,
): void {
  if (!raw) return;
  const problem = (path: string, message: string) => issues.push({ path, message });
  if (!raw.github && !raw.signed) problem('leakReports', NO_SOURCE);
  if (!hasEndpoint) problem('leakReports', NO_ENDPOINT);
  const needEnv = (path: string, name: string | undefined) => {
    if (name !== undefined && !env[name]) issues.push({ path, message: `environment variable ${name} is not set` });
  };
  needEnv('leakReports.github.webhookSecretEnv', raw.github?.webhookSecretEnv);
  needEnv('leakReports.github.tokenEnv', raw.github?.tokenEnv);
  needEnv('leakReports.signed.secretEnv', raw.signed?.secretEnv);
  const signing = raw.signed ? env[raw.signed.secretEnv] : undefined;
  if (signing && !/^(whsec_)?[A-Za-z0-9+/]+={0,2}$/.test(signing))
    problem('leakReports.signed.secretEnv', `${raw.signed!.secretEnv} must hold ${STANDARD_WEBHOOKS}`);
}

export type LeakReportsConfig = NonNullable<ReturnType<typeof convertLeakReports>>;

export function convertLeakReports(raw: RawLeakReports | undefined) {
  if (!raw) return undefined;
  const { github, signed } = raw;
  return {
    overlapMs: raw.overlapSeconds * SECOND_MS,
    perMinute: raw.perMinute,
    ...present(
      'github',
      github && {
        webhookSecretEnv: github.webhookSecretEnv,
        tokenEnv: github.tokenEnv,
        apiUrl: github.apiUrl.replace(/\/+$/, ''),
        timeoutMs: github.timeoutSeconds * SECOND_MS,
      },
    ),
    ...present('signed', signed && { secretEnv: signed.secretEnv, toleranceMs: signed.toleranceSeconds * SECOND_MS }),
  };
}
