// API errors as the real service sends them: an HTTP status plus a body that always carries both
// `error_code` and `message` (the JS SDK ignores bodies that lack either; reference §3.1). The code is a
// name, except where real workspaces send a number (an unknown token: `"error_code": 403`).
import type { ErrorCode } from '../databricks/api-types.js';

/** The error body on the wire; the Go SDK reads an int or a string `error_code` (reference §3.1). */
export interface ApiErrorWireBody {
  error_code: ErrorCode | number;
  message: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly errorCode: ErrorCode | number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): ApiErrorWireBody {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const invalidParameter = (message: string): ApiError => new ApiError(400, 'INVALID_PARAMETER_VALUE', message);

export const endpointNotFound = (name: string): ApiError =>
  new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Endpoint with name '${name}' does not exist.`);

export const modelNotFound = (modelName: string, version: string): ApiError =>
  new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Model '${modelName}' version '${version}' does not exist.`);

export const endpointAlreadyExists = (name: string): ApiError =>
  new ApiError(409, 'RESOURCE_ALREADY_EXISTS', `Serving endpoint with name '${name}' already exists.`);

/**
 * The workspace holds as many serving endpoints as it may (reference §7: 1000 per workspace). INFERENCE: no source
 * shows the serving API's refusal; this follows Databricks' refusal at the same kind of limit on jobs ("QUOTA_EXCEEDED",
 * "The quota for the number of jobs has been reached. The current quota is 1000."). A 400, not a 429: waiting does not
 * help, and the SDKs retry every 429 for minutes.
 */
export const endpointQuotaExceeded = (quota: number): ApiError =>
  new ApiError(400, 'QUOTA_EXCEEDED', `The quota for the number of serving endpoints has been reached. The current quota is ${quota}.`);
