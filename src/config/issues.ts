import type * as z from 'zod/mini';
import type { ConfigIssue } from '../errors.js';

/** zod's issues as one readable line per problem, each under its dot path. */

const YAML11 = '"<<" is a YAML 1.1 merge key, which YAML 1.2 reads as an ordinary key';

/** For "inherit or {allow}" style unions, reports the branch the user meant. */
export function describeIssue(i: z.core.$ZodIssue, prefix: PropertyKey[], input: unknown): ConfigIssue[] {
  const full = [...prefix, ...i.path];
  const path = full.map(String).join('.');
  if (i.code === 'invalid_union' && i.errors) {
    const meant = i.errors.find((branch) =>
      branch.some((e) => e.path.length > 0 || (e.code !== 'invalid_type' && e.code !== 'invalid_value')),
    );
    if (meant) return meant.flatMap((e) => describeIssue(e, full, input));
  }
  if (i.code === 'unrecognized_keys' && i.keys) {
    const merge = i.keys.includes('<<') ? `; ${YAML11}: write the keys out, or alias whole values (admin: *admin)` : '';
    const keys = `key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    return [{ path, message: `unknown ${keys} (check the spelling; see config/example.yaml)${merge}` }];
  }
  if (i.code === 'invalid_type' && path !== '' && valueAt(input, full) === undefined)
    return [{ path, message: 'is required' }];
  if (i.code === 'invalid_type' && path === '')
    return [{ path, message: 'the configuration must be a YAML mapping with at least "targets:"' }];
  return [{ path, message: i.message }];
}

export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let at = input;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}
