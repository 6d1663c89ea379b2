/**
 * An SNS error as it goes on the wire: the awsQuery error code (the `awsQueryError` trait of the error
 * shape in the service model shipped in @aws-sdk/client-sns, not the shape name), its HTTP status and
 * whether the caller (Sender) or SNS (Receiver) is at fault.
 */
export class SnsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
  }
}

/** InvalidParameterException: awsQueryError `InvalidParameter`, 400. Messages read `Invalid parameter: …`. */
export const invalidParameter = (message: string) => new SnsError('InvalidParameter', `Invalid parameter: ${message}`);
/** InvalidParameterValueException: awsQueryError `ParameterValueInvalid`, 400 (message attributes). */
export const invalidParameterValue = (message: string) => new SnsError('ParameterValueInvalid', message);
/** NotFoundException: awsQueryError `NotFound`, 404. */
export const topicNotFound = () => new SnsError('NotFound', 'Topic does not exist', 404);
/** Common error for a request missing a required member. */
export const missing = (member: string) =>
  new SnsError(
    'ValidationError',
    `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
  );
