// Helpers the plan-*.test.ts files share (split from plan.test.ts and plan-capacity.test.ts).
import { expect } from 'vitest';
import { OwnerTag } from '../../../../src/controllers/endpoint/ownership.js';
import { FIRST_PROGRESS_LOOK_MS } from '../../../../src/controllers/endpoint/requeue.js';
import { type Plan } from '../../../../src/controllers/endpoint/plan.js';
import { MINUTE, MODEL, NOW, OWNER, SECOND, SETTINGS, type SpecInput, afterPlan, at, condition, edited, endpointObject, failedEndpoint, readyEndpoint, reconcile, updatingEndpoint } from '../fixtures.js';

export const progressWindow = [0.75 * SETTINGS.progressIntervalMs, 1.25 * SETTINGS.progressIntervalMs] as const;

/** The first look at a rollout this plan starts: 1 s ± 25 % (requeue.test.ts has the arithmetic). */
export const firstLookWindow = [0.75 * FIRST_PROGRESS_LOOK_MS, 1.25 * FIRST_PROGRESS_LOOK_MS] as const;

export const pollWindow = [0.9 * SETTINGS.pollIntervalMs, 1.1 * SETTINGS.pollIntervalMs] as const;

export const requeueAfter = (plan: Plan): number => {
  if (!plan.requeue || !('after' in plan.requeue)) throw new Error(`expected a timed requeue, got ${JSON.stringify(plan.requeue)}`);
  return plan.requeue.after;
};

export const eventReasons = (plan: Pick<Plan, 'events'>) => plan.events.map((e) => `${e.type} ${e.reason}`);

export const ownerTagList = [
  { key: OwnerTag.uid, value: OWNER.uid },
  { key: OwnerTag.object, value: `${OWNER.namespace}.${OWNER.name}` },
];

/** An object whose endpoint serves version 3 at 1960–2940 tokens/s, Ready and Synced at generation 1. */
export function settledObject() {
  const object = endpointObject();
  const plan = reconcile(object, { endpoint: readyEndpoint(), now: at(-HOUR_AGO) });
  expect(condition(plan, 'Ready')?.status).toBe('True');
  return afterPlan(object, plan);
}

export const HOUR_AGO = 60 * MINUTE;


export const V4: SpecInput = { model: { name: MODEL, version: '4' } };

/** Version 3 serves; the rollout of version 4 (the spec) ran out of GPU capacity. */
export const capacityFailure = () => failedEndpoint({ version: '3' }, { version: '4' });

export const buildFailure = () =>
  failedEndpoint({ version: '3' }, { version: '4', deployment: 'DEPLOYMENT_FAILED', message: 'Model build failed: no online store configured' });

/** The object right after the operator asked for version 4 (generation 2 was handled). */
export function updateRequested(spec: SpecInput = {}) {
  const settled = endpointObject({ spec });
  const first = afterPlan(settled, reconcile(settled, { endpoint: readyEndpoint(), now: at(-30 * MINUTE) }));
  const object = edited(first, { ...spec, ...V4 });
  const plan = reconcile(object, { endpoint: readyEndpoint(), now: at(-20 * MINUTE) });
  expect(plan.action.type).toBe('updateConfig');
  return afterPlan(object, plan);
}

/** GPU capacity runs out `failures` times for updateRequested's rollout of version 4: each failure, its retry, the retry rolling out. */
export function outage(object: ReturnType<typeof updateRequested>, failures: number) {
  const plans: Plan[] = [];
  let now = NOW.getTime();
  for (let i = 0; i < failures; i++) {
    const failedPlan = reconcile(object, { endpoint: capacityFailure(), now: new Date(now) });
    plans.push(failedPlan);
    object = afterPlan(object, failedPlan);
    if (failedPlan.action.type === 'none' && failedPlan.requeue === undefined) break;
    now += (failedPlan.requeue as { after: number }).after;
    const retry = reconcile(object, { endpoint: capacityFailure(), now: new Date(now) });
    plans.push(retry);
    object = afterPlan(object, retry);
    now += 20 * SECOND;
    const waiting = reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: new Date(now) });
    plans.push(waiting);
    object = afterPlan(object, waiting);
    now += 10 * MINUTE; // the rollout times out again
  }
  return { plans, object, now };
}
