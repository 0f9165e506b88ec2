import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Paths whose values are secrets. pino replaces them before a line is written, whatever the caller passes, so a
 * token or client secret that ends up in a logged object still never reaches the log.
 */
export const REDACTED_PATHS = [
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'clientSecret',
  'client_secret',
  'password',
  'authorization',
  'Authorization',
  'secret',
  'data',
  'stringData',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.authorization',
  '*.Authorization',
  '*.data',
  '*.stringData',
  'headers.authorization',
  'headers.Authorization',
  'req.headers.authorization',
  '*.headers.authorization',
];

export interface LoggerConfig {
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to inspect output. */
  destination?: NodeJS.WritableStream;
  base?: Record<string, unknown>;
}

export function createLogger(config: LoggerConfig = {}): Logger {
  const options: LoggerOptions = {
    level: config.level ?? process.env.LOG_LEVEL ?? 'info',
    base: config.base ?? { component: 'pt-operator' },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    // Field names are redacted above; free text (an error message a host echoed with the credential it refused) is
    // scrubbed here, as conditions and Events scrub it. Only lines of an enabled level get here.
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => scrubDeep(arg, 0, new WeakSet())) as Parameters<typeof method>);
      },
    },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  if (config.destination) return pino(options, config.destination);
  if (sharedStdout) return pino(options, sharedStdout);
  const logger = pino(options);
  sharedStdout = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym];
  return logger;
}

/**
 * The buffered stdout stream of the first logger made without a destination. Later ones write through it too: two
 * streams flush in no set order, and the fatal line that ends the process came before lines logged earlier.
 */
let sharedStdout: DestinationStream | undefined;

/** How deep log fields are scrubbed; deeper values are written as they are (log fields are shallow). */
const SCRUB_DEPTH = 8;

/** A copy of a log argument with every string scrubbed; an Error stays an Error for pino's err serializer. */
function scrubDeep(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (value === null || typeof value !== 'object' || depth > SCRUB_DEPTH || seen.has(value)) return value;
  seen.add(value);
  const next = (v: unknown) => scrubDeep(v, depth + 1, seen);
  if (value instanceof Error) {
    const copy = new Error(scrubSecrets(value.message), value.cause === undefined ? undefined : { cause: next(value.cause) });
    copy.name = value.name;
    copy.stack = value.stack === undefined ? undefined : scrubSecrets(value.stack);
    for (const [key, field] of Object.entries(value)) (copy as unknown as Record<string, unknown>)[key] = next(field);
    return copy;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return next(toJSON.call(value));
  if (Array.isArray(value)) return value.map(next);
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, next(field)]));
}

/** Removes secret-looking substrings (bearer tokens, Databricks PATs) from free text such as error messages. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[REDACTED]')
    // also glued to other text or cut short by a length cap
    .replace(/dapi[0-9a-f]{16,}(-\d+)?/gi, '[REDACTED]')
    .replace(/((?:client_secret|token|password)["']?\s*[:=]\s*["']?)[^\s"'&,}]+/gi, '$1[REDACTED]');
}
