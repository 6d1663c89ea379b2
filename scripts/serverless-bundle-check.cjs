// An osls plugin (serverless.yml `plugins`): before packaging, refuses a dist/lambda that is missing
// or was built from another configuration than the one the stack is derived from, saying what to
// run (scripts/config-fingerprint.cjs). Only packaging is checked: `osls remove` or `info` need no bundle.
const { join } = require('node:path');
const { bundleProblem, deployConfigFile } = require('./config-fingerprint.cjs');

class BundleCheck {
  constructor(serverless) {
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => {
        const root = serverless.serviceDir;
        const problem = bundleProblem(root, join(root, 'dist', 'lambda'), deployConfigFile(root));
        if (problem) throw new serverless.classes.Error(problem);
      },
    };
  }
}

module.exports = BundleCheck;
