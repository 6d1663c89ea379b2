import * as z from 'zod/mini';
import { configSchema, DEFAULT_KIND } from './schema.js';

/**
 * The configuration's JSON Schema for editors (config/rotator.schema.json, `npm run build:schema`),
 * from the zod schema; the loader stays the judge. Added beyond the zod shape: any checked value may be
 * a `${NAME}` or `${NAME:-default}` reference, and `kind` may be left out where it defaults.
 */

type Node = Record<string, unknown>;

const ENV_REFERENCE: Node = {
  type: 'string',
  pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}',
  description: '${NAME} or ${NAME:-default}: read from the environment when the configuration is loaded',
};

/** A leaf whose value is checked (a pattern, a range, an enum, a type other than string). */
function isCheckedLeaf(node: Node): boolean {
  if (node.const !== undefined || node.anyOf || node.oneOf) return false;
  const { type } = node;
  if (type === 'number' || type === 'integer' || type === 'boolean') return true;
  return type === 'string' && ['pattern', 'enum', 'format', 'minLength'].some((k) => node[k] !== undefined);
}

function allowReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowReferences);
  if (typeof node !== 'object' || node === null) return node;
  const out: Node = {};
  for (const [key, value] of Object.entries(node as Node))
    out[key] = key === 'default' || key === 'enum' ? value : allowReferences(value);
  if (!isCheckedLeaf(out)) return out;
  const { default: fallback, description, ...checked } = out;
  return {
    ...(description !== undefined ? { description } : {}),
    ...(fallback !== undefined ? { default: fallback } : {}),
    anyOf: [checked, ENV_REFERENCE],
  };
}

/** `kind` is optional on the variant it defaults to. */
function kindOptional(schema: Node): void {
  const targets = (schema.properties as Node).targets as Node;
  for (const variant of ((targets.items as Node).oneOf ?? []) as Node[]) {
    const kind = (variant.properties as Node | undefined)?.kind as Node | undefined;
    if (kind?.const === DEFAULT_KIND && Array.isArray(variant.required))
      variant.required = variant.required.filter((k: unknown) => k !== 'kind');
  }
}

export function configJsonSchema(): Node {
  const generated = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Node;
  kindOptional(generated);
  const { $schema, ...rest } = allowReferences(generated) as Node;
  return {
    $schema,
    title: 'twilio-key-rotator configuration',
    description:
      'Generated from src/config/schema.ts by npm run build:schema; do not edit. The ' +
      'rotator checks more than this (across targets, and the environment): run ' +
      'twilio-key-rotator config check.',
    ...rest,
  };
}
