/** A Secrets Manager error as it goes on the wire: HTTP 400 (500 for InternalServiceError), `__type` and `Message`. */
export class SmError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const notFound = () =>
  new SmError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
export const markedForDeletion = () =>
  new SmError(
    'InvalidRequestException',
    "You can't perform this operation on the secret because it was marked for deletion.",
  );
export const invalidParameter = (message: string) => new SmError('InvalidParameterException', message);
export const validation = (message: string) => new SmError('ValidationException', message);
