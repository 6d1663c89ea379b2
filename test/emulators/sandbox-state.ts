import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SmSnapshot } from './secrets-manager/index.js';
import type { TwilioSnapshot } from './twilio/index.js';

/**
 * What `npm run sandbox` keeps in .state/ so that a restart continues where the last run stopped:
 * the Twilio emulator's accounts and keys (secrets included: they are the sandbox's throwaway ones),
 * the Secrets Manager emulator's secrets, and which keys it seeded. SNS topics and SQS queues are not
 * kept: the sandbox makes the same ones, with the same ARN and URL, on every start.
 */

export const SANDBOX_STATE_FORMAT = 'twilio-key-rotator/sandbox@1';

export interface SandboxState {
  format: typeof SANDBOX_STATE_FORMAT;
  twilio: TwilioSnapshot;
  secretsManager: SmSnapshot;
  /** The Main and Restricted admin keys the first start seeded, printed again on every start. */
  seeded: { mainKeySid: string; adminKeySid: string };
}

/** The way out when the sandbox's own state cannot be used: `npm run sandbox -- --reset`. */
export class SandboxStateError extends Error {
  override name = 'SandboxStateError';
}

export const RESET_HINT = 'npm run sandbox -- --reset';

/** The saved state, or undefined when there is none yet. Never quotes the file: it holds secrets. */
export function readSandboxState(path: string): SandboxState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new SandboxStateError(unusable(path, `cannot be read (${code ?? 'error'})`));
  }
  let doc: Partial<SandboxState>;
  try {
    doc = JSON.parse(text) as Partial<SandboxState>;
  } catch {
    throw new SandboxStateError(unusable(path, 'is not valid JSON'));
  }
  const shaped =
    typeof doc === 'object' &&
    doc !== null &&
    doc.format === SANDBOX_STATE_FORMAT &&
    Array.isArray(doc.twilio?.accounts) &&
    Array.isArray(doc.twilio?.keys) &&
    doc.twilio.accounts.some((a) => typeof a?.sid === 'string' && a.parentSid === undefined) &&
    Array.isArray(doc.secretsManager?.secrets) &&
    typeof doc.seeded?.mainKeySid === 'string' &&
    typeof doc.seeded?.adminKeySid === 'string';
  if (!shaped) throw new SandboxStateError(unusable(path, `is not a ${SANDBOX_STATE_FORMAT} document`));
  return doc as SandboxState;
}

function unusable(path: string, why: string): string {
  const what = `sandbox state ${path} ${why}`;
  const way = `${RESET_HINT} starts a new sandbox account (it removes that file and the sandbox's file store)`;
  return `${what}; nothing was changed. ${way}`;
}

/**
 * Writes the state synchronously (temp file, fsync, rename; mode 0600): called from the emulators'
 * hook just before they answer a change, so what a client was told is on disk if the sandbox dies.
 */
export function writeSandboxState(path: string, state: SandboxState): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/**
 * Account SIDs that secrets in the rotator's file store (`twilio-key-rotator/file-store@1`) belong
 * to and the sandbox does not have: left by an earlier sandbox account, every command against them
 * fails with an account mismatch. Reads only the `accountSid` of each value; never prints a value.
 */
export function foreignAccounts(storePath: string, known: ReadonlySet<string>): string[] {
  let doc: { secrets?: Record<string, { versions?: { value?: unknown }[] }> };
  try {
    doc = JSON.parse(readFileSync(storePath, 'utf8')) as typeof doc;
  } catch {
    return []; // no store yet, or one the rotator itself will report on
  }
  const found = new Set<string>();
  for (const secret of Object.values(doc.secrets ?? {})) {
    for (const version of secret?.versions ?? []) {
      if (typeof version?.value !== 'string') continue;
      try {
        const sid = (JSON.parse(version.value) as { accountSid?: unknown }).accountSid;
        if (typeof sid === 'string' && /^AC[0-9a-f]{32}$/.test(sid) && !known.has(sid)) found.add(sid);
      } catch {
        // not a JSON value: not the rotator's
      }
    }
  }
  return [...found].sort();
}

/** `--reset`: removes the sandbox state and the file store (with its lock and temp file). The removed paths. */
export function resetSandbox(paths: readonly string[]): string[] {
  const removed: string[] = [];
  for (const path of paths.flatMap((p) => [p, `${p}.tmp`, `${p}.lock`])) {
    try {
      rmSync(path);
      removed.push(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed;
}
