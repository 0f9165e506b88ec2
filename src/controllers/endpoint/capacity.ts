// GPU-capacity failures: Databricks reports them not as an error code but as a rollout that times
// out or is aborted (reference §6). Pure helpers to recognise them and to schedule the retries.
import type { ServingEndpointDetailed } from '../../databricks/api-types.js';
import { capText, MAX_SERVER_MESSAGE, redactSecrets } from '../../databricks/errors.js';
import { oneLine } from '../../databricks/host-text.js';
import { clause } from '../text.js';

/** Patterns that mark a failed rollout as a capacity failure. Configurable with --capacity-patterns. */
export const DEFAULT_CAPACITY_PATTERNS: readonly RegExp[] = [/timed out/i, /\btimeout\b/i, /aborted/i, /capacity/i, /insufficient .*gpu/i];

export interface RolloutFailure {
  message: string;
  capacity: boolean;
}

/** The failure of the last rollout, when config_update says it failed. */
export function rolloutFailure(endpoint: ServingEndpointDetailed, patterns: readonly RegExp[]): RolloutFailure | undefined {
  const update = endpoint.state.config_update;
  if (update !== 'UPDATE_FAILED' && update !== 'UPDATE_CANCELED') return undefined;
  const entities = endpoint.pending_config?.served_entities ?? [];
  const failed = entities.find((e) => e.state?.deployment && e.state.deployment !== 'DEPLOYMENT_READY') ?? entities[0];
  const deployment = failed?.state?.deployment ?? '';
  // The host's words go to status (capacity.lastMessage, conditions) and Events: scrubbed of credentials whole, then
  // one visible line, bounded like an error message.
  const message = capText(oneLine(redactSecrets(failed?.state?.deployment_state_message || `the endpoint update ended in ${update}`)), MAX_SERVER_MESSAGE);
  const capacity = deployment === 'DEPLOYMENT_ABORTED' || patterns.some((p) => p.test(message));
  // Without its final period, so callers can continue the sentence.
  return { message: `${deployment ? `${deployment}: ` : ''}${clause(message)}`, capacity };
}

/**
 * Delay before retry number `attempt` (1-based): initial × 2^(attempt-1), capped at max, with ±20 %
 * jitter so that many endpoints hit by one outage do not retry in lockstep. `random` is in [0, 1).
 */
export function capacityBackoffMs(attempt: number, initialMs: number, maxMs: number, random: number): number {
  const exponential = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.8 + 0.4 * random));
}
