// Stands in for mime-db in the Lambda bundle: twilio -> axios -> form-data -> mime-types loads it
// to guess upload content types, and the rotator uploads nothing. An empty database makes
// mime-types answer "unknown" (false), which form-data handles.
module.exports = {};
