// The bodies of the Databricks client's calls: a request body checked against its schema before anything is sent
// (InvalidRequest), a 2xx answer parsed and checked against the operation's (InvalidResponse), their issues as short
// visible text.
import { z } from 'zod';
import { capText, DatabricksError, MAX_SERVER_MESSAGE, requestIdFrom } from './errors.js';
import { oneLine } from './host-text.js';
import { parseHostJson, TooDeepError, TooManyValuesError, TooManyItemsError } from './json-items.js';
import type { CallSpec } from './request-loop.js';
import type { HttpResponse } from './transport.js';

/** DELETE answers `{}` or nothing. */
export const EmptyObjectSchema = z.looseObject({});

/** Longest key of an answer named in an error: the host chooses the keys (environment_vars, say). */
const MAX_PATH_SEGMENT = 64;

/** The first issues, as short visible text whatever keys the host chose: it reaches conditions and Events. */
function describeIssues(error: z.ZodError): string {
  const described = error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.map((segment) => capText(oneLine(String(segment)), MAX_PATH_SEGMENT)).join('.');
      return `${path || '(root)'}: ${oneLine(issue.message)}`;
    })
    .join('; ');
  return capText(described, MAX_SERVER_MESSAGE);
}

/** A request body the caller built wrongly is InvalidRequest, found before anything is sent. */
export function validRequest<S extends z.ZodType>(schema: S, body: unknown, operation: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new DatabricksError({
    kind: 'InvalidRequest',
    message: `${operation}: the request body is invalid: ${describeIssues(parsed.error)}`,
  });
}

/** JSON-parse and validate a 2xx body; a body that does not fit is an InvalidResponse error. */
export function parseBody<T>(
  res: HttpResponse,
  spec: CallSpec<T>,
  secrets: readonly string[],
): { ok: true; value: T } | { ok: false; error: DatabricksError } {
  const requestId = requestIdFrom(res.headers);
  const invalid = (why: string): { ok: false; error: DatabricksError } => ({
    ok: false,
    error: new DatabricksError({
      kind: 'InvalidResponse',
      message: `${spec.method} ${spec.path} answered ${res.status} with a body that does not fit ${spec.operation}: ${why}`,
      status: res.status,
      requestId,
      method: spec.method,
      path: spec.path,
      secrets,
    }),
  });
  let json: unknown;
  try {
    json = spec.text ? res.bodyText : res.bodyText.trim() === '' ? {} : (spec.parseJson ?? parseHostJson)(res.bodyText);
  } catch (err) {
    return invalid(err instanceof TooManyItemsError || err instanceof TooDeepError || err instanceof TooManyValuesError ? err.message : 'not JSON');
  }
  const parsed = spec.schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  return invalid(describeIssues(parsed.error));
}
