// Fault injection: deployment faults (GPU capacity shortage, other failed deployments) decide how a
// rollout ends; request faults (429, 503, 401, 403, latency, dropped connections) hit single HTTP calls.
// Rates draw from a seeded RNG so a scenario misbehaves the same way every run.
import { z } from 'zod';
import { ApiError } from './errors.js';
import type { Random } from './rng.js';

/** Which API requests a request fault hits. Default: every /api/ path. */
const RequestMatchSchema = z.object({
  method: z.string().optional(),
  /** path prefix, e.g. /api/2.0/serving-endpoints or /oidc/ */
  path: z.string().optional(),
  endpoint: z.string().optional(),
});

const windowFields = {
  /** the fault starts this many virtual seconds after it is installed */
  startAfterSeconds: z.number().min(0).optional(),
  /** and lasts this many virtual seconds (default: forever) */
  forSeconds: z.number().positive().optional(),
};

const rate = z.number().min(0).max(1).default(1);
/** how many times the fault fires at most (default: unlimited) */
const times = z.number().int().positive().optional();

export const FaultSpecSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('capacity'),
    /** UC model name; omitted = every model (a region-wide GPU shortage) */
    model: z.string().optional(),
    /** the next N rollouts of a matching config fail (default: all within the window) */
    attempts: times,
    ...windowFields,
  }),
  z.object({
    type: z.literal('deploymentFailure'),
    model: z.string().optional(),
    attempts: times,
    message: z.string().default('Served entity deployment failed: the model container exited with code 1. Please see service logs for more information.'),
    ...windowFields,
  }),
  z.object({ type: z.literal('throttle'), rate, times, retryAfterSeconds: z.number().int().min(0).default(1), match: RequestMatchSchema.optional(), ...windowFields }),
  z.object({ type: z.literal('unavailable'), rate, times, match: RequestMatchSchema.optional(), ...windowFields }),
  z.object({ type: z.literal('unauthenticated'), rate, times, match: RequestMatchSchema.optional(), ...windowFields }),
  /** a working credential refused on what it matches: a grant missing on one model or endpoint */
  z.object({
    type: z.literal('permissionDenied'),
    rate,
    times,
    message: z.string().default('The caller does not have permission to perform this operation.'),
    match: RequestMatchSchema.optional(),
    ...windowFields,
  }),
  z.object({ type: z.literal('latency'), ms: z.number().int().min(0), rate, times, match: RequestMatchSchema.optional(), ...windowFields }),
  z.object({ type: z.literal('drop'), rate, times, match: RequestMatchSchema.optional(), ...windowFields }),
]);
export type FaultSpec = z.infer<typeof FaultSpecSchema>;
export type FaultSpecInput = z.input<typeof FaultSpecSchema>;

export interface ActiveFault {
  id: string;
  spec: FaultSpec;
  /** virtual ms */
  activeFrom: number;
  activeUntil?: number;
  /** firings left; undefined = unlimited */
  remaining?: number;
  fired: number;
}

export type DeploymentFault =
  | { kind: 'capacity'; faultId: string }
  | { kind: 'failure'; faultId: string; message: string };

export interface RequestFaults {
  drop: boolean;
  latencyMs: number;
  reject?: ApiError;
  /** The type of the fault that rejected the request, for the call log. */
  rejectedBy?: RejectingFault;
}

export type RejectingFault = 'throttle' | 'unavailable' | 'unauthenticated' | 'permissionDenied';

export interface RequestInfo {
  method: string;
  path: string;
  endpoint?: string;
}

export class FaultEngine {
  readonly #random: Random;
  #faults: ActiveFault[] = [];
  #nextId = 1;

  constructor(random: Random) {
    this.#random = random;
  }

  add(input: FaultSpecInput, now: number): ActiveFault {
    const spec = FaultSpecSchema.parse(input);
    const activeFrom = now + (spec.startAfterSeconds ?? 0) * 1000;
    const fault: ActiveFault = { id: `f${this.#nextId++}`, spec, activeFrom, fired: 0 };
    if (spec.forSeconds !== undefined) fault.activeUntil = activeFrom + spec.forSeconds * 1000;
    const limit = spec.type === 'capacity' || spec.type === 'deploymentFailure' ? spec.attempts : spec.times;
    if (limit !== undefined) fault.remaining = limit;
    this.#faults.push(fault);
    return fault;
  }

  remove(id: string): boolean {
    const before = this.#faults.length;
    this.#faults = this.#faults.filter((f) => f.id !== id);
    return this.#faults.length !== before;
  }

  clear(): void {
    this.#faults = [];
  }

  list(): ActiveFault[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  /** How a rollout of entities serving `models`, started at `now`, ends; undefined = it succeeds. */
  deploymentFault(models: readonly string[], now: number): DeploymentFault | undefined {
    for (const fault of this.#faults) {
      const { spec } = fault;
      if (spec.type !== 'capacity' && spec.type !== 'deploymentFailure') continue;
      if (!isActive(fault, now)) continue;
      if (spec.model !== undefined && !models.includes(spec.model)) continue;
      fire(fault);
      return spec.type === 'capacity' ? { kind: 'capacity', faultId: fault.id } : { kind: 'failure', faultId: fault.id, message: spec.message };
    }
    return undefined;
  }

  /** The faults that hit one HTTP request. A rejection ends the request; latency and drop come first. */
  requestFaults(request: RequestInfo, now: number): RequestFaults {
    const result: RequestFaults = { drop: false, latencyMs: 0 };
    for (const fault of this.#faults) {
      const { spec } = fault;
      if (spec.type === 'capacity' || spec.type === 'deploymentFailure') continue;
      if (!isActive(fault, now) || !matches(spec.match, request)) continue;
      if (result.reject && spec.type !== 'latency') continue;
      if (this.#random.next() >= spec.rate) continue;
      fire(fault);
      if (spec.type !== 'drop' && spec.type !== 'latency') result.rejectedBy = spec.type;
      switch (spec.type) {
        case 'drop':
          result.drop = true;
          break;
        case 'latency':
          result.latencyMs += spec.ms;
          break;
        case 'throttle':
          result.reject = new ApiError(429, 'REQUEST_LIMIT_EXCEEDED', 'Too many requests. Please wait a moment and try again.', {
            'Retry-After': String(spec.retryAfterSeconds),
          });
          break;
        case 'unavailable':
          result.reject = new ApiError(503, 'TEMPORARILY_UNAVAILABLE', 'The service is temporarily unavailable. Please try again later.');
          break;
        case 'permissionDenied':
          result.reject = new ApiError(403, 'PERMISSION_DENIED', spec.message);
          break;
        case 'unauthenticated':
          // as a credential that expired or was revoked between two calls is answered (see auth.ts)
          result.reject = new ApiError(401, 'UNAUTHENTICATED', 'The access token has expired. Request a new token and try again.');
          break;
      }
    }
    return result;
  }
}

function isActive(fault: ActiveFault, now: number): boolean {
  if (now < fault.activeFrom) return false;
  if (fault.activeUntil !== undefined && now >= fault.activeUntil) return false;
  return fault.remaining === undefined || fault.remaining > 0;
}

function fire(fault: ActiveFault): void {
  fault.fired += 1;
  if (fault.remaining !== undefined) fault.remaining -= 1;
}

function matches(match: z.infer<typeof RequestMatchSchema> | undefined, request: RequestInfo): boolean {
  const pathPrefix = match?.path ?? '/api/';
  if (!request.path.startsWith(pathPrefix)) return false;
  if (match?.method !== undefined && match.method.toUpperCase() !== request.method) return false;
  if (match?.endpoint !== undefined && match.endpoint !== request.endpoint) return false;
  return true;
}
