import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, visit } from 'yaml';
import { ConfigError } from '../errors.js';
import type { RotatorConfig } from './types.js';
import { parseConfigObject } from './validate.js';

/** Reads, substitutes `${ENV}`, validates and converts a YAML config file. Throws ConfigError with every problem. */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<RotatorConfig> {
  let text: string;
  try {
    // A FIFO or a device would block the read forever; a directory would fail with EISDIR later.
    const info = await stat(path);
    if (!info.isFile())
      throw new ConfigError(
        [{ path: '', message: `${path} is not a regular file; pass --config with a YAML file` }],
        path,
      );
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      [
        {
          path: '',
          message:
            code === 'ENOENT'
              ? `file ${path} does not exist; pass --config or create it (see config/example.yaml)`
              : `cannot read ${path} (${code ?? 'error'})`,
        },
      ],
      path,
    );
  }
  return parseConfig(text, { env, source: path, baseDir: dirname(resolve(path)) });
}

/** YAML text to the object the validator takes; syntax errors become ConfigError with line and column. */
export function parseYaml(text: string, source = 'configuration'): unknown {
  // No pretty errors: they quote the document, which may hold values that should stay out of logs.
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const at = e.pos ? lines.linePos(e.pos[0]) : undefined;
        return {
          path: at ? `line ${at.line}, column ${at.col}` : '',
          message: `YAML syntax: ${e.message.split('\n')[0]}`,
        };
      }),
      source,
    );
  }
  // The yaml package refuses documents whose aliases expand exponentially ("billion laughs"). The
  // allowance grows with the aliases actually written, so a thousand targets that each say
  // `admin: *admin` are fine, while nested aliases that multiply are still refused.
  let aliases = 0;
  visit(doc, {
    Alias() {
      aliases++;
    },
  });
  try {
    return doc.toJS({ maxAliasCount: Math.max(100, 10 * aliases) }) as unknown;
  } catch (err) {
    throw new ConfigError(
      [
        {
          path: '',
          message: `YAML: ${err instanceof Error ? err.message : String(err)}; write the values out instead of nesting aliases`,
        },
      ],
      source,
    );
  }
}

export function parseConfig(
  text: string,
  options: { env?: NodeJS.ProcessEnv; source?: string; baseDir?: string } = {},
): RotatorConfig {
  return parseConfigObject(parseYaml(text, options.source), options);
}
