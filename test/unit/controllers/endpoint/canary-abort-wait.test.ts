// An abort while a canary step still rolls out: Databricks takes no config update until that rollout ends, so the
// rollback waits for it. What Ready and Synced say meanwhile names the rollback, not "the spec": the spec asks for
// the aborted version, and the config sent next is the old version alone.
import { describe, expect, it } from 'vitest';
import type { EndpointObject } from '../../../../src/controllers/endpoint/plan-types.js';
import type { EndpointCoreConfigOutput, ServingEndpointDetailed } from '../../../../src/databricks/api-types.js';
import { canaryKept, canaryPlanFields, decideCanary, withCanary } from '../../../../src/controllers/endpoint/canary.js';
import { planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import { MINUTE, MODEL, NOW, afterPlan, at, condition, endpointObject, planInput, readyEndpoint, servedEntity } from '../fixtures.js';

/** One reconcile as the reconciler composes the canary with the plan. */
function reconcileCanary(object: EndpointObject, endpoint: ServingEndpointDetailed, now: Date) {
  const observed = planInput(object, { endpoint }).endpoint;
  const decision = decideCanary(object, observed, observed.kind === 'found', now);
  const plan = planEndpoint({ ...planInput({ ...object, spec: decision.spec }, { endpoint, now }), desiredChanged: decision.changed, ...canaryPlanFields(decision) });
  return withCanary(plan, object.status, decision, canaryKept(false, observed, plan), now);
}

/** Version 3 and version 4 split by traffic, as the first step's config. */
function step(shareOf3: number, deployment?: string): EndpointCoreConfigOutput {
  const [v3, v4] = [servedEntity({ version: '3' }), servedEntity({ version: '4', ...(deployment && { deployment }) })];
  return {
    served_entities: [v3, v4],
    traffic_config: { routes: [{ served_entity_name: v3.name, traffic_percentage: shareOf3 }, { served_entity_name: v4.name, traffic_percentage: 100 - shareOf3 }] },
    config_version: 3,
  };
}

describe('an abort while a canary step rolls out', () => {
  const settled = readyEndpoint({ version: '3' });
  const stepRollsOut: ServingEndpointDetailed = {
    ...settled,
    state: { ...settled.state, config_update: 'IN_PROGRESS' },
    pending_config: { ...step(90, 'DEPLOYMENT_CREATING'), start_time: NOW.getTime() },
  };

  it('Ready and Synced name the rollback that waits for it, not the spec; once it ends the rollback is sent', () => {
    const object = endpointObject({ spec: { model: { name: MODEL, version: '4' }, canary: { steps: [10, 50], pause: '10m' } }, status: { observedGeneration: 1 } });
    const started = reconcileCanary(object, settled, NOW);
    expect(started.status.canary).toMatchObject({ phase: 'Progressing', step: 1, share: 10 });
    const aborted = { ...afterPlan(object, started), annotations: { 'ptoperator.io/canary': 'abort' } };

    const waiting = reconcileCanary(aborted, stepRollsOut, at(MINUTE));
    expect(waiting.action).toEqual({ type: 'none' });
    expect(waiting.status.canary?.phase).toBe('Aborted');
    const rollback = 'the rollback to version 3 alone (the canary of version 4 was aborted)';
    for (const type of ['Ready', 'Synced'] as const) {
      const message = condition(waiting, type)?.message ?? '';
      expect(message).not.toMatch(/the spec \(version 3/);
      expect(message).toContain(rollback);
    }
    expect(condition(waiting, 'Synced')).toMatchObject({ status: 'False', reason: 'WaitingForRollout' });

    const landed = reconcileCanary(afterPlan(aborted, waiting), { ...settled, config: step(90) }, at(2 * MINUTE));
    expect(landed.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '3' }] } } });
  });
});
