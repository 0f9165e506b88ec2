// Reconciling/Stalled (kstatus), a Ready that is never missing, and one Event per transition.
// The Go test in test/kstatus checks the same states with the upstream kstatus library on captures from real runs.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { type Plan, planActionFailure } from '../../../../src/controllers/endpoint/plan.js';
import { summarizeConditions, transitionEvents } from '../../../../src/controllers/endpoint/status-summary.js';
import type { Condition } from '../../../../src/kube/conditions.js';
import {
  type InputOptions,
  MINUTE,
  MODEL,
  NOT_FOUND,
  NOT_OPTIMIZABLE_MODEL,
  SECOND,
  afterPlan,
  annotated,
  at,
  condition,
  creatingEndpoint,
  edited,
  endpointObject,
  failed,
  failedEndpoint,
  foreignEndpoint,
  planInput,
  reconcile,
  readyEndpoint,
  updatingEndpoint,
} from '../fixtures.js';

const summary = (plan: Pick<Plan, 'status'>) => ({
  ready: condition(plan, 'Ready') && `${condition(plan, 'Ready')?.status} ${condition(plan, 'Ready')?.reason}`,
  reconciling: plan.status.conditions?.find((c) => c.type === 'Reconciling')?.reason,
  stalled: plan.status.conditions?.find((c) => c.type === 'Stalled')?.reason,
});

describe('Reconciling and Stalled follow Ready and Synced', () => {
  const settled = () => {
    const object = endpointObject();
    return afterPlan(object, reconcile(object, { endpoint: readyEndpoint(), now: at(-MINUTE) }));
  };
  it.each([
    ['creating', () => reconcile(endpointObject()), { ready: 'False Creating', reconciling: 'Creating', stalled: undefined }],
    ['first deploy in progress', () => reconcile(endpointObject(), { endpoint: creatingEndpoint() }), { ready: 'False Creating', reconciling: 'Creating', stalled: undefined }],
    ['available', () => reconcile(endpointObject(), { endpoint: readyEndpoint() }), { ready: 'True Available', reconciling: undefined, stalled: undefined }],
    ['updating', () => reconcile(edited(settled(), { model: { name: MODEL, version: '4' } }), { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }) }), { ready: 'False Updating', reconciling: 'Updating', stalled: undefined }],
    ['a new spec over a failed rollout of the old one', () => reconcile(edited(settled(), { model: { name: MODEL, version: '4' } }), { endpoint: failedEndpoint({ version: '3' }, { version: '4' }) }), { ready: 'False Updating', reconciling: 'Updating', stalled: undefined }],
    ['a new object rate limited before its first read', () => reconcile(endpointObject(), { endpoint: failed('RateLimited', '429', 30 * SECOND) }), { ready: 'Unknown RateLimited', reconciling: 'RateLimited', stalled: undefined }],
    ['a new object whose workspace is not ready', () => reconcile(endpointObject(), { workspaceReady: false }), { ready: 'Unknown WorkspaceNotReady', reconciling: 'WorkspaceNotReady', stalled: undefined }],
    ['an available endpoint whose read failed', () => reconcile(settled(), { endpoint: failed('Transient', 'connect ECONNRESET') }), { ready: 'True Available', reconciling: 'ReconcileError', stalled: undefined }],
    ['model not optimizable', () => reconcile(endpointObject(), { model: NOT_OPTIMIZABLE_MODEL }), { ready: 'False ModelNotOptimizable', reconciling: undefined, stalled: 'ModelNotOptimizable' }],
    ['model not found', () => reconcile(endpointObject(), { model: NOT_FOUND }), { ready: 'False ModelNotFound', reconciling: undefined, stalled: 'ModelNotFound' }],
    ['invalid spec', () => reconcile(endpointObject({ spec: { throughput: { tokensPerSecond: { min: 1000, max: 2940 } } } })), { ready: 'False InvalidSpec', reconciling: undefined, stalled: 'InvalidSpec' }],
    ['not owned', () => reconcile(endpointObject(), { endpoint: foreignEndpoint() }), { ready: 'False NotOwned', reconciling: undefined, stalled: 'NotOwned' }],
    ['paused', () => reconcile(annotated(settled(), { [EndpointAnnotation.paused]: 'true' })), { ready: 'True Available', reconciling: undefined, stalled: undefined }],
    ['a new paused object', () => reconcile(annotated(endpointObject(), { [EndpointAnnotation.paused]: 'true' })), { ready: 'Unknown ReconcilePaused', reconciling: undefined, stalled: undefined }],
  ] as const)('%s', (_, plan, expected) => {
    expect(summary(plan())).toEqual(expected);
  });

  it('an exhausted capacity budget is Stalled, the retries before it are Reconciling', () => {
    const spec = { capacityRetry: { initialBackoff: '1m', maxBackoff: '1m', timeout: '3m' } };
    let object = edited(endpointObject({ spec }), { ...spec, model: { name: MODEL, version: '4' } });
    object = afterPlan(object, reconcile(object, { endpoint: readyEndpoint() }));
    const outOfCapacity = failedEndpoint({ version: '3' }, { version: '4' });
    const seen: ReturnType<typeof summary>[] = [];
    for (let minute = 1; minute <= 6; minute++) {
      const plan = reconcile(object, { endpoint: outOfCapacity, now: at(minute * MINUTE) });
      seen.push(summary(plan));
      object = afterPlan(object, plan);
    }
    expect(seen[0]).toEqual({ ready: 'False WaitingForCapacity', reconciling: 'WaitingForCapacity', stalled: undefined });
    expect(seen.at(-1)).toEqual({ ready: 'False CapacityRetriesExhausted', reconciling: undefined, stalled: 'CapacityRetriesExhausted' });
  });

  it('an Unknown Ready follows Synced while the operator still cannot find out (no stale message)', () => {
    const first = reconcile(endpointObject(), { endpoint: failed('RateLimited', '429', 30 * SECOND) });
    const second = reconcile(afterPlan(endpointObject(), first), { endpoint: failed('RateLimited', '429', 12 * SECOND), now: at(MINUTE) });
    expect(condition(first, 'Synced')?.message).not.toBe(condition(second, 'Synced')?.message);
    expect(condition(second, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'RateLimited', message: condition(second, 'Synced')?.message });
    const down = reconcile(afterPlan(endpointObject(), second), { workspaceReady: false, now: at(2 * MINUTE) });
    expect(condition(down, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'WorkspaceNotReady' });
  });

  describe('a new spec that cannot be sent yet: Ready no longer says the old one is Available', () => {
    const bigger = { throughput: { chunks: { min: 2, max: 4 } } };
    const newSpec = () => edited(settled(), bigger);
    const updateRateLimited = () => {
      const input = planInput(newSpec(), { endpoint: readyEndpoint() });
      return planActionFailure(input, reconcile(newSpec(), { endpoint: readyEndpoint() }), { kind: 'RateLimited', message: '429', retryAfterMs: 5 * SECOND });
    };
    it.each([
      ['the workspace is not ready', () => reconcile(newSpec(), { workspaceReady: false }), 'WorkspaceNotReady'],
      ['the credentials are refused', () => reconcile(newSpec(), { endpoint: failed('Auth', '401 UNAUTHENTICATED') }), 'WorkspaceNotReady'],
      ['the read is rate limited', () => reconcile(newSpec(), { endpoint: failed('RateLimited', '429', 30 * SECOND) }), 'RateLimited'],
      ['the update is rate limited', updateRateLimited, 'RateLimited'],
      ['the read fails', () => reconcile(newSpec(), { endpoint: failed('Transient', 'connect ECONNRESET') }), 'ReconcileError'],
      ['the object is paused', () => reconcile(annotated(newSpec(), { [EndpointAnnotation.paused]: 'true' })), 'ReconcilePaused'],
    ] as const)('%s: Ready Unknown with Synced\'s reason, saying what still serves and why the new spec waits', (_, plan, reason) => {
      const ready = condition(plan(), 'Ready');
      expect(ready).toMatchObject({ status: 'Unknown', reason, observedGeneration: 2 });
      expect(ready?.message).toContain('still serves the spec of generation 1');
      expect(ready?.message).toContain(`generation 2 waits: ${condition(plan(), 'Synced')?.message}`);
    });

    it('stays so on the next attempts, and the new spec becomes Ready once it is carried out', () => {
      const first = reconcile(newSpec(), { workspaceReady: false });
      const again = reconcile(afterPlan(newSpec(), first), { workspaceReady: false, now: at(MINUTE) });
      expect(condition(again, 'Ready')).toMatchObject({ status: 'Unknown', reason: 'WorkspaceNotReady' });
      expect(condition(again, 'Ready')?.message).toContain('still serves the spec of generation 1');
      expect(again.events).toEqual([]);
      const back = reconcile(afterPlan(newSpec(), again), { endpoint: readyEndpoint({ min: 1960, max: 3920 }), now: at(2 * MINUTE) });
      expect(summary(back).ready).not.toMatch(/^Unknown/);
    });

    // The last generation the operator handled may never have served: a rollout of it failed, a rollout of it still
    // runs, or its model was not found, so nothing was created. Ready must not claim it serves.
    describe('a held-back spec after a generation that never served: Ready does not say that generation serves', () => {
      const v4 = { model: { name: MODEL, version: '4' } };
      const failedRollout = () => {
        const object = edited(settled(), v4);
        const sent = afterPlan(object, reconcile(object, { endpoint: readyEndpoint(), now: at(MINUTE) }));
        const failure = failedEndpoint({ version: '3' }, { version: '4', deployment: 'DEPLOYMENT_FAILED', message: 'the model container exited' });
        return afterPlan(sent, reconcile(sent, { endpoint: failure, now: at(2 * MINUTE) }));
      };
      const rollingOut = () => {
        const object = edited(settled(), v4);
        return afterPlan(object, reconcile(object, { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }), now: at(MINUTE) }));
      };
      const neverCreated = () => afterPlan(endpointObject(), reconcile(endpointObject(), { model: NOT_FOUND }));
      it.each([
        ['its rollout failed (UpdateFailed); version 3 of generation 1 serves', failedRollout, 'UpdateFailed'],
        ['its rollout still runs (Updating)', rollingOut, 'Updating'],
        ['its model was not found, so no endpoint exists (ModelNotFound)', neverCreated, 'ModelNotFound'],
      ] as const)('%s', (_, before, reason) => {
        const previous = before();
        expect(condition({ status: previous.status }, 'Ready')).toMatchObject({ status: 'False', reason });
        const held = reconcile(edited(previous, { model: { name: MODEL, version: '2' } }), { endpoint: failed('Transient', 'connect ECONNRESET'), now: at(3 * MINUTE) });
        const ready = condition(held, 'Ready');
        expect(ready).toMatchObject({ status: 'Unknown', reason: 'ReconcileError' });
        expect(ready?.message).not.toMatch(/still serves the spec of generation/);
        expect(ready?.message).toContain(`generation ${previous.generation} did not become Ready (${reason})`);
        expect(ready?.message).toContain(`generation ${previous.generation + 1} waits: ${condition(held, 'Synced')?.message}`);
      });
    });

    it.each([
      ['the workspace is not ready', () => reconcile(settled(), { workspaceReady: false })],
      ['the credentials are refused (a rotated token)', () => reconcile(settled(), { endpoint: failed('Auth', '401 UNAUTHENTICATED') })],
      ['the read is rate limited', () => reconcile(settled(), { endpoint: failed('RateLimited', '429', 30 * SECOND) })],
    ] as const)('without a spec change, Ready stays as it was when %s', (_, plan) => {
      expect(condition(plan(), 'Ready')).toMatchObject({ status: 'True', reason: 'Available', observedGeneration: 1 });
    });
  });

  it('conditions that become False are removed (kstatus: abnormal-true), and an unchanged state is not rewritten', () => {
    const now = at(0);
    const creating = summarizeConditions([cond('Ready', 'False', 'Creating'), cond('Synced', 'True', 'ReconcileSuccess')], 1, now);
    expect(creating.map((c) => c.type)).toEqual(['Ready', 'Synced', 'Reconciling']);
    const available = summarizeConditions([...creating.filter((c) => c.type !== 'Ready'), cond('Ready', 'True', 'Available')], 1, at(MINUTE));
    expect(available.map((c) => c.type)).toEqual(['Synced', 'Ready']);
    expect(summarizeConditions(creating, 1, at(MINUTE))).toEqual(creating);
  });
});

describe('one Event per transition', () => {
  /** Every Event a sequence of reconciles plans, in order. */
  function story(steps: (Pick<InputOptions, 'endpoint' | 'model'> & { edit?: string })[]) {
    let object = endpointObject();
    const events: string[] = [];
    steps.forEach((step, i) => {
      if (step.edit) object = edited(object, { model: { name: MODEL, version: step.edit } });
      const plan = reconcile(object, { endpoint: step.endpoint ?? NOT_FOUND, model: step.model, now: at(i * MINUTE) });
      events.push(...plan.events.map((e) => `${e.type} ${e.reason}`));
      object = afterPlan(object, plan);
    });
    return events;
  }

  it('create → rollout → available → version change → available: one Event each, no duplicates', () => {
    expect(
      story([
        { endpoint: NOT_FOUND },
        { endpoint: creatingEndpoint() },
        { endpoint: creatingEndpoint() },
        { endpoint: readyEndpoint() },
        { endpoint: readyEndpoint() },
        { endpoint: readyEndpoint(), edit: '4' },
        { endpoint: updatingEndpoint({ version: '3' }, { version: '4' }) },
        { endpoint: readyEndpoint({ version: '4' }) },
      ]),
    ).toEqual(['Normal CreatingEndpoint', 'Normal Available', 'Normal UpdatingConfig', 'Normal Available']);
  });

  it('a terminal failure is one Warning naming the cause, not "NotReady" and the cause', () => {
    expect(story([{ endpoint: foreignEndpoint() }, { endpoint: foreignEndpoint() }])).toEqual(['Warning NotOwned']);
    expect(story([{ model: NOT_OPTIMIZABLE_MODEL }, { model: NOT_OPTIMIZABLE_MODEL }])).toEqual(['Warning ModelNotOptimizable']);
  });

  it('a transient failure and its recovery: one Warning, one Normal', () => {
    expect(
      story([
        { endpoint: readyEndpoint() },
        { endpoint: failed('RateLimited', '429', 30 * SECOND) },
        { endpoint: failed('RateLimited', '429', 30 * SECOND) },
        { endpoint: readyEndpoint() },
      ]),
    ).toEqual(['Normal Available', 'Warning RateLimited', 'Normal ReconcileSuccess']);
  });

  it("an action's own Event stands for the condition change it causes", () => {
    const before = [cond('Ready', 'True', 'Available')];
    const after = [cond('Ready', 'False', 'Updating')];
    expect(transitionEvents(before, after, [{ type: 'Normal', reason: 'UpdatingConfig', message: 'updating' }])).toEqual([
      { type: 'Normal', reason: 'UpdatingConfig', message: 'updating' },
    ]);
    expect(transitionEvents(before, after, [])).toEqual([{ type: 'Normal', reason: 'Updating', message: 'Updating' }]);
    expect(transitionEvents(after, after, [])).toEqual([]);
  });
});

function cond(type: string, status: Condition['status'], reason: string): Condition {
  return { type, status, reason, message: reason, observedGeneration: 1, lastTransitionTime: '2026-03-01T12:00:00Z' };
}
