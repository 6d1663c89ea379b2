import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';
import type { RotatorConfig } from './types.js';
import { parseConfigObject } from './validate.js';

/** Reads, substitutes `${ENV}`, validates and converts a YAML config file. Throws ConfigError with every problem. */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<RotatorConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
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

/** YAML text to the object the validator takes; syntax errors become ConfigError. */
export function parseYaml(text: string, source = 'configuration'): unknown {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: '', message: `YAML syntax: ${e.message.split('\n')[0]}` })),
      source,
    );
  }
  return doc.toJS() as unknown;
}

export function parseConfig(
  text: string,
  options: { env?: NodeJS.ProcessEnv; source?: string; baseDir?: string } = {},
): RotatorConfig {
  return parseConfigObject(parseYaml(text, options.source), options);
}
