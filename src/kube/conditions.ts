import { scrubSecrets } from '../observability/logger.js';
import { kubeTime } from './time.js';

/** A metav1.Condition (KEP-1623). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface ConditionUpdate {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
}

const REASON_PATTERN = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
const MAX_MESSAGE = 32_768;

/**
 * Returns `conditions` with `update` applied: observedGeneration is stamped, and lastTransitionTime moves only when
 * the status flips (or the condition is new), so a steady state writes identical status and causes no write.
 * Reasons must match the API's pattern (the API rejects the whole status otherwise); messages are truncated.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  generation: number | undefined,
  now: Date,
): Condition[] {
  if (!REASON_PATTERN.test(update.reason) || update.reason.length > 1024) {
    throw new Error(`condition reason ${JSON.stringify(update.reason)} is not CamelCase`);
  }
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === update.type);
  const existing = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: truncateMessage(update.message ?? ''),
    ...(generation !== undefined && { observedGeneration: generation }),
    lastTransitionTime:
      existing && existing.status === update.status ? existing.lastTransitionTime : kubeTime(now),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

/**
 * `after` with each condition's lastTransitionTime as `before` has it when its status did not change between the two:
 * a planner that sets a condition in steps (True, then False for a reason found later) compares each step with the
 * step before, so the time would move at every look although the written status never flipped.
 */
export function keepTransitionTimes(before: readonly Condition[] | undefined, after: readonly Condition[]): Condition[] {
  return after.map((condition) => {
    const previous = findCondition(before, condition.type);
    return previous?.status === condition.status && previous.lastTransitionTime !== condition.lastTransitionTime
      ? { ...condition, lastTransitionTime: previous.lastTransitionTime }
      : condition;
  });
}

/**
 * kstatus' "abnormal-true" conditions (Reconciling, Stalled): set to True with the cause's reason and message,
 * or removed when there is no cause (kstatus reads a missing one as False).
 */
export function setAbnormalTrue(
  conditions: readonly Condition[],
  type: 'Reconciling' | 'Stalled',
  cause: Pick<Condition, 'reason' | 'message'> | undefined,
  generation: number | undefined,
  now: Date,
): Condition[] {
  if (!cause) return conditions.filter((c) => c.type !== type);
  return setCondition(conditions, { type, status: 'True', reason: cause.reason, message: cause.message }, generation, now);
}

export const findCondition = (conditions: readonly Condition[] | undefined, type: string): Condition | undefined =>
  conditions?.find((c) => c.type === type);

export const isConditionTrue = (conditions: readonly Condition[] | undefined, type: string): boolean =>
  findCondition(conditions, type)?.status === 'True';

/**
 * Status is readable by anyone who can get the object: scrub credentials, then cap the length. A caller that rewrites
 * a message later (escaping what a host sent makes it longer) caps it again with this.
 */
export function truncateMessage(message: string): string {
  const scrubbed = scrubSecrets(message);
  return scrubbed.length <= MAX_MESSAGE ? scrubbed : `${scrubbed.slice(0, MAX_MESSAGE - 3)}...`;
}
