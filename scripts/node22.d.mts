/** The registry's Node 22 package pinned for each platform (`${process.platform}-${process.arch}`). */
export const NODE22_PACKAGES: Record<string, { name: string; version: string; integrity: string }>;
/** The Node 22 binary if one is at hand without a download ($TKR_NODE22, this node, the cache). */
export function node22IfPresent(): string | undefined;
/** The Node 22 binary without a download; throws saying how to get one. */
export function node22Path(): string;
/** The Node 22 binary, fetched from the npm registry into the cache the first time. */
export function ensureNode22(): Promise<string>;
/** `process.version` of the node binary at `path`. */
export function versionOf(path: string): string;
