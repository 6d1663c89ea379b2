import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The leak scan's collection side. Every test that runs the rotator (in-process CLI, child
 * processes, runtimes with captured logs) appends what was printed to a file in TKR_SCAN_DIR, and
 * every emulator world records the secrets it issued. The global teardown then looks for every
 * secret in everything printed (see global-setup.ts).
 */
const dir = () => process.env.TKR_SCAN_DIR;

export function recordOutput(text: string): void {
  const d = dir();
  if (!d || !text) return;
  mkdirSync(d, { recursive: true });
  appendFileSync(join(d, `output-${process.pid}.txt`), `${text}\n`);
}

export function recordSecrets(secrets: readonly string[]): void {
  const d = dir();
  if (!d || secrets.length === 0) return;
  mkdirSync(d, { recursive: true });
  appendFileSync(join(d, `secrets-${process.pid}.txt`), `${secrets.join('\n')}\n`);
}

/**
 * Every form a secret could leak in: as is, percent-encoded, JSON-escaped, and inside any base64 text
 * (an echoed "Authorization: Basic base64(user:secret)" header hides it at one of three alignments;
 * only the characters that encode the secret alone are searched for).
 */
export function leakForms(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
  for (const shift of [0, 1, 2]) {
    for (const alphabet of ['base64', 'base64url'] as const) {
      const encoded = Buffer.from('x'.repeat(shift) + secret)
        .toString(alphabet)
        .replace(/=+$/, '');
      // Drop the characters that also encode the padding before, and the partial group after.
      const start = Math.ceil((shift * 4) / 3);
      const end = Math.floor(((shift + Buffer.byteLength(secret)) * 4) / 3);
      const core = encoded.slice(start, end);
      if (core.length >= 16) forms.add(core);
    }
  }
  return [...forms];
}

export interface LeakReport {
  secrets: number;
  outputBytes: number;
  leaks: { secretPrefix: string; file: string; form?: string }[];
}

export function scan(scanDir: string): LeakReport {
  let files: string[];
  try {
    files = readdirSync(scanDir);
  } catch {
    return { secrets: 0, outputBytes: 0, leaks: [] };
  }
  const secrets = new Set(
    files
      .filter((f) => f.startsWith('secrets-'))
      .flatMap((f) =>
        readFileSync(join(scanDir, f), 'utf8')
          .split('\n')
          .filter((s) => s.length >= 8),
      ),
  );
  const leaks: LeakReport['leaks'] = [];
  let outputBytes = 0;
  for (const f of files.filter((x) => x.startsWith('output-'))) {
    const text = readFileSync(join(scanDir, f), 'utf8');
    outputBytes += text.length;
    for (const s of secrets) {
      const form = leakForms(s).find((x) => text.includes(x));
      if (form !== undefined)
        leaks.push({
          secretPrefix: `${s.slice(0, 4)}…`,
          file: f,
          ...(form !== s ? { form: 'derived (encoded)' } : {}),
        });
    }
  }
  return { secrets: secrets.size, outputBytes, leaks };
}

export function writeReport(path: string, report: LeakReport): void {
  writeFileSync(path, JSON.stringify(report, null, 2));
}
