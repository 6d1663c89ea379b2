import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CORE_SCHEMA, load, YAMLException } from 'js-yaml';
import { ConfigError } from '../errors.js';
import type { RotatorConfig } from './types.js';
import { parseConfigObject } from './validate.js';

/** The one variable that names the configuration file, for the CLI, the daemon, the Lambda and the deploy. */
export const CONFIG_VARIABLE = 'TWILIO_KEY_ROTATOR_CONFIG';
/** Earlier names of it (the Lambda's and the deploy's), still read for one release with a warning. */
const DEPRECATED_CONFIG_VARIABLES = ['ROTATOR_CONFIG', 'ROTATOR_CONFIG_FILE'] as const;
export const DEFAULT_CONFIG_PATH = 'config/rotator.yaml';

/**
 * The configuration file the environment names: TWILIO_KEY_ROTATOR_CONFIG, else a deprecated name, with
 * a warning; a deprecated name beside the new one is ignored, also with a warning.
 */
export function configPathFromEnv(env: NodeJS.ProcessEnv, warn: (message: string) => void): string | undefined {
  const chosen = env[CONFIG_VARIABLE] || undefined;
  for (const old of DEPRECATED_CONFIG_VARIABLES) {
    const value = env[old];
    if (!value) continue;
    const why = `${old} is deprecated and will be removed in the next release; set ${CONFIG_VARIABLE} instead`;
    warn(chosen === undefined ? why : `${why} (${old} is ignored: ${CONFIG_VARIABLE} is set)`);
    if (chosen === undefined) return value;
  }
  return chosen;
}

/** Reads, substitutes `${ENV}`, validates and converts a YAML file; ConfigError names every problem. */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<RotatorConfig> {
  const fail = (message: string) => new ConfigError([{ path: '', message }], path);
  let text: string;
  try {
    // A FIFO or a device would block the read forever; a directory would fail with EISDIR later.
    if (!(await stat(path)).isFile()) throw fail(`${path} is not a regular file; pass --config with a YAML file`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const missing = `file ${path} does not exist; pass --config or create it (see config/example.yaml)`;
    throw fail(code === 'ENOENT' ? missing : `cannot read ${path} (${code ?? 'error'})`);
  }
  return parseConfig(text, { env, source: path, baseDir: dirname(resolve(path)) });
}

/**
 * YAML text to the object the validator takes; syntax errors become ConfigError with line and column.
 * js-yaml with the YAML 1.2 core schema (no timestamps, no `<<` merge keys, duplicate keys refused):
 * it reads a thousand targets (325 KB) in ~80 ms within a 32 MiB heap, where `yaml` ran out of it.
 */
export function parseYaml(text: string, source = 'configuration'): unknown {
  let doc: unknown;
  try {
    doc = load(text, { schema: CORE_SCHEMA });
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    // Only the reason and position: the message's snippet quotes the document, which may hold values
    // that should stay out of logs.
    const at = err.mark ? `line ${err.mark.line + 1}, column ${err.mark.column + 1}` : '';
    throw new ConfigError([{ path: at, message: `YAML syntax: ${unquoted(err.reason)}` }], source);
  }
  // Aliases come back as shared objects, and everything after this walks them as a tree: a few nested
  // aliases ("billion laughs") would expand without end. The allowance grows with the document, so a
  // thousand targets that each say `admin: *admin` are fine.
  const tooBig =
    'YAML: its aliases expand past any real configuration; write the values out instead of nesting aliases';
  if (treeSize(doc, Math.max(100_000, 10 * text.length)) === undefined)
    throw new ConfigError([{ path: '', message: tooBig }], source);
  return doc;
}

/** The number of values in `value` counted as a tree, or undefined once past `limit`. */
function treeSize(value: unknown, limit: number): number | undefined {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    if (++count > limit) return undefined;
    const v = stack.pop();
    if (typeof v === 'object' && v !== null) for (const child of Object.values(v)) stack.push(child);
  }
  return count;
}

/** A parser's reason without the parts it quotes from the document (a tag, an alias or directive name). */
function unquoted(reason: string): string {
  return reason.replace(/"[^"]*"/g, '"…"').replace(/!<[^>]*>/g, '!<…>');
}

export function parseConfig(
  text: string,
  options: { env?: NodeJS.ProcessEnv; source?: string; baseDir?: string } = {},
): RotatorConfig {
  return parseConfigObject(parseYaml(text, options.source), options);
}
