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

/** Builds the CLI bundle into `outdir` (default dist/cli), relative to the repository. */
export function buildCli(options?: { outdir?: string; metafile?: boolean }): Promise<CliBuild>;
