import type { Metafile } from 'esbuild';

export interface CliBuild {
  /** The entry, dist/cli/cli.mjs (absolute). */
  outfile: string;
  /** Every JavaScript file written: the entry and its chunks. */
  files: string[];
  bytes: number;
  /** The entry and every chunk it imports statically: what `--help` reads. */
  initFiles: string[];
  initBytes: number;
  metafile: Metafile;
}

/** Builds the bin and the webhooks export into `outdir` (default dist/cli), relative to the repository. */
export function buildCli(options?: { outdir?: string; metafile?: boolean }): Promise<CliBuild>;

/** dist/cli/cli.mjs, the package's bin (absolute). */
export const CLI_BIN: string;
/** True when dist/ is missing or older than anything it is built from. */
export function isStale(): boolean;
/** What `npm run build` makes (tsc, then the bundles), a type error notwithstanding. */
export function buildAll(options?: { metafile?: boolean }): Promise<CliBuild>;
/** The shipped bin, built first when missing or stale. */
export function builtCliBin(): Promise<string>;
