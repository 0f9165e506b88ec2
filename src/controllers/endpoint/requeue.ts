// Requeue arithmetic for rate limits, pure. Why a floor and jitter: under fault injection a 429 with
// "Retry-After: 0" became a 1 ms requeue, and one endpoint was read 838 times in 60 s.
import { type Condition, findCondition } from '../../kube/conditions.js';
import type { CallFailure } from './plan-types.js';

/** Databricks' Retry-After is honoured, but never as less than this. */
export const MIN_RATE_LIMIT_REQUEUE_MS = 1_000;
/** Server Retry-After: up to this fraction is added, so endpoints told the same time do not return together. */
export const RATE_LIMIT_JITTER = 0.2;
/** Our own budget reserved a slot: come back just after it (never before), spread over this much. */
export const RESERVED_SLOT_JITTER_MS = 250;

/**
 * When to look again after a rate-limit refusal. `random` is in [0, 1).
 * - refused by our own budget: the slot is reserved for this object, so come back right after it;
 * - refused by Databricks (429): Retry-After, at least the floor, plus jitter;
 * - no Retry-After at all: undefined (the workqueue's per-key backoff decides).
 */
export function rateLimitedRequeueMs(failure: Pick<CallFailure, 'retryAfterMs' | 'fromClientBudget'>, random: number): number | undefined {
  const retryAfter = failure.retryAfterMs;
  if (retryAfter === undefined) return undefined;
  if (failure.fromClientBudget) return Math.max(0, retryAfter) + Math.ceil(1 + random * RESERVED_SLOT_JITTER_MS);
  return Math.round(Math.max(retryAfter, MIN_RATE_LIMIT_REQUEUE_MS) * (1 + RATE_LIMIT_JITTER * random));
}

/**
 * The first look at a rollout just started; from then on, half the time it has taken so far. Short, because it is
 * cheap: while our rollout runs a look reads the workspace's shared list (one read a second for all its
 * endpoints), and a rollout that ends in a second is then seen Ready within a second, not two (issue 12).
 */
export const FIRST_PROGRESS_LOOK_MS = 250;

/** When Ready last changed, in the operator's clock. */
export const readySince = (status: { conditions?: unknown }): string | undefined => findCondition(status.conditions as Condition[] | undefined, 'Ready')?.lastTransitionTime;

/**
 * A rollout's age for progressRequeueMs, from Databricks' start of it (`startedAt`). A start it dates ahead of the
 * operator's clock (the clocks apart; or an answer read after the planner's clock) says nothing of the age: it is then
 * read in the operator's own clock since `readyChangedAt` (when Ready last changed: the change that started the rollout,
 * or later), and unknown without it.
 */
export function rolloutAgeMs(nowMs: number, startedAt: string | undefined, readyChangedAt: string | undefined): number | undefined {
  const age = startedAt === undefined ? undefined : nowMs - Date.parse(startedAt);
  if (age === undefined || age >= 0) return age;
  return readyChangedAt === undefined ? undefined : nowMs - Date.parse(readyChangedAt);
}

/**
 * When to look at a rollout in progress again: half of its age (so a rollout that finishes in seconds is
 * seen in seconds, and one that takes 20 minutes costs a few more reads, not one per second), between the
 * first look and the configured progress interval, ±25 % jitter. Age unknown: the progress interval. A negative age
 * (a clock stepped back: rolloutAgeMs) counts by its distance: with the clocks minutes apart, a look every 0.25 s
 * until the clock caught up with the start was thousands of reads of one rollout.
 */
export function progressRequeueMs(progressIntervalMs: number, ageMs: number | undefined, random: number): number {
  const base = ageMs === undefined ? progressIntervalMs : Math.min(progressIntervalMs, Math.max(FIRST_PROGRESS_LOOK_MS, Math.abs(ageMs) / 2));
  return Math.round(base * (0.75 + 0.5 * random));
}

/**
 * Reads of a workspace's list of endpoints made for rollouts being watched (each needs a read started after
 * Databricks answered its change) start at least this far apart per endpoint listed. Reading and parsing a list
 * costs the operator about 5–7 µs of CPU per endpoint (bench/list-parse.ts; 52 ms for 10,000 in a profile of
 * bench/rollout.ts), so its lists stay near 1 % of a core whatever the workspace's size: 50 endpoints 25 ms apart,
 * 1,000 half a second, 10,000 five seconds. A rollout takes minutes, so seeing its end a few seconds later costs
 * nothing (issue 12: at 10,000, 173 lists were 9 s of the operator's CPU and much of its garbage).
 */
export const LIST_SPACING_MS_PER_ENDPOINT = 0.5;

export const listSpacingMs = (listedEndpoints: number): number => listedEndpoints * LIST_SPACING_MS_PER_ENDPOINT;
