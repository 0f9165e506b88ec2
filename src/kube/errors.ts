/** An error answer from the Kubernetes API, with the HTTP status and the Status object's reason. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.statusCode === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.statusCode === 409;
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof KubeApiError && err.statusCode === 409 && err.reason === 'AlreadyExists';
/** 410 Gone / reason Expired: the resourceVersion we resume from is too old; a relist is needed. */
export const isGone = (err: unknown): boolean =>
  err instanceof KubeApiError && (err.statusCode === 410 || err.reason === 'Expired' || err.reason === 'Gone');
/** A failed JSON-patch `test` op (422 Invalid with "testing value"), i.e. a precondition that did not hold. */
export const isPatchTestFailed = (err: unknown): boolean =>
  err instanceof KubeApiError && (err.statusCode === 422 || err.statusCode === 409);

/** Thrown by a reconciler when retrying cannot help until the object changes (controller-runtime's TerminalError). */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/**
 * Thrown by a reconciler for a failure outside the API server (another service down, timing out): retried with the
 * per-key backoff, but never waiting longer than `maxDelayMs`. The API server's own outages are ended by its
 * informers (WorkQueue.retryBackedOffNow); another service's end is seen only by trying again, so a key must not
 * wait out a backoff of up to 1,000 s that grew while it was down.
 */
export class BoundedBackoffError extends Error {
  override readonly name = 'BoundedBackoffError';
  constructor(
    message: string,
    readonly maxDelayMs: number,
  ) {
    super(message);
  }
}
