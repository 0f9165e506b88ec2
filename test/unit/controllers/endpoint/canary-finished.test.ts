// A control set once the canary is over: the new version serves alone at full throughput, the old one was removed.
// Abort, hold and promote then change nothing (no update: an abort would be a whole new rollout of the old version),
// status.canary stays Succeeded and says why; a control left set still applies to the next version's canary.
import { describe, expect, it } from 'vitest';
import { type CanaryStatus, planCanary } from '../../../../src/controllers/endpoint/canary.js';
import { SECOND, at, iso, readyEndpoint } from '../fixtures.js';
import { CANARY, canaryObject, conditions, input, reconcileCanary, running, served, spec } from './canary-fixtures.js';

const succeeded = running({ phase: 'Succeeded', step: 3, share: 100, message: 'version 4 serves all traffic; version 3 was removed' });
const newAlone = { ...readyEndpoint({ version: '4' }), config: served({ '4': 100 }) };
const annotation = (value: string) => ({ 'ptoperator.io/canary': value });

describe('a control set after the canary succeeded', () => {
  it.each([
    { name: 'annotation abort', annotations: annotation('abort'), action: undefined },
    { name: 'spec.canary.action Abort', annotations: {}, action: 'Abort' },
    { name: 'annotation hold', annotations: annotation('hold'), action: undefined },
    { name: 'spec.canary.action Hold', annotations: {}, action: 'Hold' },
    { name: 'annotation promote', annotations: annotation('promote'), action: undefined },
  ])('$name: nothing changes, the new version keeps serving alone', ({ annotations, action }) => {
    const decision = planCanary(input({ spec: spec('4', { ...CANARY, ...(action && { action }) }), annotations, canary: succeeded, config: served({ '4': 100 }) }));
    expect(decision.status?.phase).toBe('Succeeded');
    expect(decision.changed).toBe(false);
    expect(decision.spec.model.version).toBe('4');
    expect(decision.split).toBeUndefined();
    expect(decision.aborted).toBeUndefined();
    expect(decision.rollback).toBeUndefined();
  });

  it.each([
    { name: 'the annotation', annotations: annotation(' Abort '), action: undefined, named: 'annotation ptoperator.io/canary=abort' },
    { name: 'spec.canary.action', annotations: {}, action: 'Abort', named: 'spec.canary.action: Abort' },
  ])('an abort by $name: status.canary says the canary already succeeded and how to go back', ({ annotations, action, named }) => {
    const decision = planCanary(input({ spec: spec('4', { ...CANARY, ...(action && { action }) }), annotations, canary: succeeded, config: served({ '4': 100 }) }));
    expect(decision.status?.message).toBe(
      `version 4 serves all traffic; version 3 was removed; ${named} does nothing: the canary of version 4 already succeeded, so there is nothing to abort (to go back, set model.version to "3"); left set, it keeps the next model.version's canary from starting`,
    );
    // Looked at again: the message does not grow, and once the control is removed it goes.
    const again = planCanary(input({ spec: spec('4', { ...CANARY, ...(action && { action }) }), annotations, canary: decision.status, config: served({ '4': 100 }) }));
    expect(again.status?.message).toBe(decision.status?.message);
    expect(planCanary(input({ canary: decision.status, config: served({ '4': 100 }) })).status?.message).toBe('version 4 serves all traffic; version 3 was removed');
  });

  it('a hold: status.canary says it holds nothing now, and what it does left set', () => {
    const decision = planCanary(input({ annotations: annotation('hold'), canary: succeeded, config: served({ '4': 100 }) }));
    expect(decision.status?.message).toBe(
      'version 4 serves all traffic; version 3 was removed; annotation ptoperator.io/canary=hold does nothing: the canary of version 4 already succeeded; left set, it holds the next model.version\'s canary at its first step',
    );
  });

  it.each<{ name: string; canary: CanaryStatus }>([
    { name: 'its promotion landed (status still Promoting)', canary: running({ phase: 'Promoting', step: 3, share: 100 }) },
    { name: 'a predecessor sent the promotion after the last step and stopped before it wrote status', canary: running({ phase: 'Paused', step: 2, share: 50, stepReachedTime: iso(at(-11 * 60 * SECOND)) }) },
  ])('the new version serves alone, settled, as the canary\'s own promotion sent it ($name): an abort now finds it succeeded', ({ canary }) => {
    const decision = planCanary(input({ annotations: annotation('abort'), canary, config: served({ '4': 100 }) }));
    expect(decision.status?.phase).toBe('Succeeded');
    expect(decision.spec.model.version).toBe('4');
    expect(decision.status?.message).toMatch(/does nothing: the canary of version 4 already succeeded/);
  });

  it('an abort while the promotion still rolls out is carried out once it lands: the old version alone again', () => {
    const promoting = running({ phase: 'Promoting', step: 3, share: 100 });
    const decision = planCanary(input({ annotations: annotation('abort'), canary: promoting, config: served({ '3': 50, '4': 50 }), updating: true }));
    expect(decision.status?.phase).toBe('Aborted');
    expect(decision.spec.model.version).toBe('3');
    expect(decision.rollback).toMatch(/the rollback to version 3 alone/);
  });

  it('one reconcile: no update, Ready stays True, status.canary Succeeded', () => {
    const object = canaryObject('4', succeeded, annotation('abort'));
    const plan = reconcileCanary(object, newAlone);
    expect(plan.action).toEqual({ type: 'none' });
    expect(conditions(plan)).toMatchObject({ Ready: 'True Available', Synced: 'True ReconcileSuccess' });
    expect(plan.status.canary).toMatchObject({ phase: 'Succeeded', toVersion: '4', versions: [{ version: '4', share: 100 }] });
    expect(plan.status.canary?.message).toMatch(/nothing to abort \(to go back, set model.version to "3"\)/);
  });

  it('the abort left set when model.version changes next: that canary does not start, nothing is sent', () => {
    const noted = reconcileCanary(canaryObject('4', succeeded, annotation('abort')), newAlone).status.canary;
    const next = reconcileCanary(canaryObject('5', noted, annotation('abort')), newAlone);
    expect(next.action).toEqual({ type: 'none' });
    expect(next.status.canary).toMatchObject({ phase: 'Aborted', fromVersion: '4', toVersion: '5', step: 0, share: 0 });
    expect(conditions(next)).toMatchObject({ Synced: 'False CanaryAborted' });
  });
});
