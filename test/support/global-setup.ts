import { buildCliBundle, CLI_BUNDLE } from './child.js';

/** Bundles the CLI once per test run for the child-process suites. */
export default async function setup(): Promise<void> {
  await buildCliBundle(CLI_BUNDLE);
  process.env.TKR_CLI_BUNDLE = CLI_BUNDLE;
}
