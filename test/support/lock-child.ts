import { existsSync } from 'node:fs';
import { withFileLock } from '../../src/adapters/secrets/file-lock.js';

/**
 * A second process for the file store's lock tests, possibly in another PID namespace:
 *   hold PATH RELEASE_FILE        takes the lock, prints "held", keeps it until RELEASE_FILE exists (60 s at most)
 *   take PATH WAIT_MS STALE_MS    tries to take the lock: prints "took", or "refused: …" and exits 3
 */

const [mode, path, a, b] = process.argv.slice(2) as [string, string, string, string];
if (mode === 'hold') {
  await withFileLock(path, async () => {
    process.stdout.write('held\n');
    for (let i = 0; i < 3000 && !existsSync(a); i++) await new Promise((r) => setTimeout(r, 20));
  });
  process.stdout.write('released\n');
} else {
  try {
    await withFileLock(path, () => Promise.resolve(process.stdout.write('took\n')), Number(a), { staleMs: Number(b) });
  } catch (err) {
    process.stdout.write(`refused: ${(err as Error).message}\n`);
    process.exitCode = 3;
  }
}
