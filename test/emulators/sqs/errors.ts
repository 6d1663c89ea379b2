/**
 * An SQS error as the AWS JSON 1.0 protocol with awsQueryCompatible carries it (SQS Developer Guide,
 * "Interpreting Amazon SQS JSON API responses"): HTTP status, `x-amzn-query-error: <code>;<Sender|Receiver>`
 * and a body `{"__type": "com.amazonaws.sqs#<Shape>", "message": "..."}`. For a modelled error the code is
 * the shape's `awsQueryError` trait and the status its `httpError` trait, from the model shipped in
 * @aws-sdk/client-sqs (dist-es/schemas/schemas_0.js); common errors (SQS API Reference, Common Errors)
 * have no shape, so their `__type` is the bare code.
 */
export class SqsError extends Error {
  constructor(
    /** `__type` on the wire. */
    readonly type: string,
    /** The awsQuery error code in `x-amzn-query-error`. */
    readonly code: string,
    message: string | undefined,
    readonly status = 400,
    readonly fault: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message ?? '');
  }
}

const NS = 'com.amazonaws.sqs#';
const modelled = (shape: string, code: string, status: number) => (message?: string) =>
  new SqsError(NS + shape, code, message, status);
const common =
  (code: string, status = 400, fault: 'Sender' | 'Receiver' = 'Sender') =>
  (message: string) =>
    new SqsError(code, code, message, status, fault);

export const queueDoesNotExist = () =>
  modelled('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 400)('The specified queue does not exist.');
export const queueNameExists = modelled('QueueNameExists', 'QueueAlreadyExists', 400);
export const invalidAddress = modelled('InvalidAddress', 'InvalidAddress', 404);
export const invalidAttributeName = modelled('InvalidAttributeName', 'InvalidAttributeName', 400);
export const invalidAttributeValue = modelled('InvalidAttributeValue', 'InvalidAttributeValue', 400);
export const invalidMessageContents = modelled('InvalidMessageContents', 'InvalidMessageContents', 400);
export const receiptHandleIsInvalid = modelled('ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', 404);
export const messageNotInflight = () =>
  new SqsError(NS + 'MessageNotInflight', 'AWS.SimpleQueueService.MessageNotInflight', undefined, 400);
export const emptyBatchRequest = modelled('EmptyBatchRequest', 'AWS.SimpleQueueService.EmptyBatchRequest', 400);
export const tooManyEntries = modelled(
  'TooManyEntriesInBatchRequest',
  'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
  400,
);
export const batchEntryIdsNotDistinct = modelled(
  'BatchEntryIdsNotDistinct',
  'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
  400,
);
export const invalidBatchEntryId = modelled('InvalidBatchEntryId', 'AWS.SimpleQueueService.InvalidBatchEntryId', 400);
export const batchRequestTooLong = modelled('BatchRequestTooLong', 'AWS.SimpleQueueService.BatchRequestTooLong', 400);
export const unsupportedOperation = modelled(
  'UnsupportedOperation',
  'AWS.SimpleQueueService.UnsupportedOperation',
  400,
);
export const requestThrottled = modelled('RequestThrottled', 'RequestThrottled', 403);

export const invalidParameterValue = common('InvalidParameterValue');
export const missingParameter = (name: string) =>
  common('MissingParameter')(`The request must contain the parameter ${name}.`);
export const internalFailure = common('InternalFailure', 500, 'Receiver');
