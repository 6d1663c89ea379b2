// Stands in for winston's File and Http transports in the Lambda bundle (scripts/build-lambda.mjs):
// the rotator logs to a stream, and these are reachable only through lazy getters it never reads.
module.exports = class UnbundledTransport {
  constructor() {
    throw new Error('winston File/Http transports are not part of the Lambda bundle; log to a stream');
  }
};
