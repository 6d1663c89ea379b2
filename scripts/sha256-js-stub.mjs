// Stands in for @smithy/core's Sha256Js (a SHA-256 written in JavaScript) where its Sha256Node takes
// it as the fallback for a Node without node:crypto's sha256, in the Lambda bundle: every Node the
// Lambda runs on has it, so the fallback is never chosen; using it throws, naming this file.
export class Sha256Js {
  constructor() {
    throw new Error(
      "@smithy/core's JavaScript SHA-256 is not in the twilio-key-rotator Lambda bundle " +
        '(scripts/sha256-js-stub.mjs): this Node has no native sha256',
    );
  }
}
