import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { builtCliBin } from '../../scripts/build-cli.mjs';
import { scan, writeReport } from './scan.js';

const SCAN_DIR = join(process.cwd(), 'node_modules', '.cache', 'twilio-key-rotator', 'leak-scan');
export const LEAK_REPORT = join(process.cwd(), '.leak-scan.json');

/**
 * Builds the package (dist/, as `npm run build` does) when it is missing or older than its sources,
 * so the child-process suites run the shipped bin, and owns the run-wide leak scan: after every
 * test file has finished, every secret any emulator issued is searched for in everything the
 * rotator printed or logged during the run. A leak fails the run (and .ci/run counts it).
 */
export default async function setup(): Promise<() => void> {
  process.env.TKR_CLI_BIN = await builtCliBin();
  rmSync(SCAN_DIR, { recursive: true, force: true });
  rmSync(LEAK_REPORT, { force: true });
  process.env.TKR_SCAN_DIR = SCAN_DIR;
  return () => {
    const report = scan(SCAN_DIR);
    // The figures are in the report (.ci/run prints them); a passing run prints vitest's lines only.
    writeReport(LEAK_REPORT, report);
    if (report.leaks.length > 0) throw new Error(`secrets leaked into output: ${JSON.stringify(report.leaks)}`);
  };
}
