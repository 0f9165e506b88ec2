// Synced stays True while a settings part beside the served config is sent or refused (the part says so on its own
// condition, docs/concepts.md), but its message must not tell `kubectl describe` that the whole spec is applied: it
// names the part that is not, in the same status write as the part's condition, and says the spec is applied once
// every part is.
import { describe, expect, it } from 'vitest';
import { planActionFailure } from '../../../../src/controllers/endpoint/plan.js';
import { afterPlan, endpointSpec, planInput } from '../fixtures.js';
import { conditionOf, endpointWith, plan, settledWith } from './settings-fixtures.js';

const endpoint = endpointWith({});
const gateway = { aiGateway: { usageTracking: { enabled: true } } };

describe("Synced's message while a settings part is not in sync", () => {
  const edited = () => {
    const object = settledWith({}, endpoint);
    return { ...object, spec: endpointSpec(gateway), generation: 2 };
  };

  it('a part being sent: Synced names it, not "the spec is applied"', () => {
    const applying = plan(edited(), { endpoint });
    expect(conditionOf(applying, 'AiGatewaySynced')).toMatchObject({ status: 'False', reason: 'Applying' });
    expect(conditionOf(applying, 'Synced')).toMatchObject({ status: 'True', message: expect.stringMatching(/AiGatewaySynced is Applying/) });
    expect(conditionOf(applying, 'Synced')?.message).not.toBe('the spec is applied');
  });

  it('a part Databricks refused: Synced names it in the write that tells the refusal, and at every look after', () => {
    const object = edited();
    const applying = plan(object, { endpoint });
    const refused = planActionFailure(planInput(object, { endpoint }), applying, { kind: 'InvalidRequest', message: 'usage tracking is not available' });
    expect(conditionOf(refused, 'AiGatewaySynced')).toMatchObject({ status: 'False', reason: 'Rejected' });
    const synced = conditionOf(refused, 'Synced')?.message;
    expect(synced).toMatch(/^the served config and tags are applied; AiGatewaySynced is Rejected/);
    expect(synced?.match(/AiGatewaySynced/g)).toHaveLength(1);

    const later = plan(afterPlan(object, refused), { endpoint });
    expect(later.action).toEqual({ type: 'none' });
    expect(conditionOf(later, 'Synced')?.message).toBe(synced);
  });

  it('every part in sync: the spec is applied', () => {
    const object = edited();
    const applied = plan(afterPlan(object, plan(object, { endpoint })), { endpoint: endpointWith({ ai_gateway: { usage_tracking_config: { enabled: true } } }) });
    expect(conditionOf(applied, 'AiGatewaySynced')).toMatchObject({ status: 'True' });
    expect(conditionOf(applied, 'Synced')?.message).toBe('the spec is applied');
  });
});
