// The canary planner as tables: start, each step rolling out and pausing, advance, promote, hold,
// abort by the user and by the gate; the request bodies of a split; the gate's metric reading.
import { describe, expect, it } from 'vitest';
import type { EndpointStatus } from '../../../../src/api/v1alpha1/index.js';
import type { EndpointObject } from '../../../../src/controllers/endpoint/plan-types.js';
import type { ServingEndpointDetailed } from '../../../../src/databricks/api-types.js';
import { type CanaryInput, type CanaryStatus, canaryKept, canaryPlanFields, decideCanary, planCanary, withCanary } from '../../../../src/controllers/endpoint/canary.js';
import { gateNeeded, gateValues, parseSamples } from '../../../../src/controllers/endpoint/canary-gate.js';
import { type DesiredServing, diffServing, observeConfig, updateRequest } from '../../../../src/controllers/endpoint/desired.js';
import type { EndpointCoreConfigOutput } from '../../../../src/databricks/api-types.js';
import { planActionFailure, planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import { CAPACITY_ABORT_MESSAGE, type InputOptions, MINUTE, OWNER, afterPlan, ownerTagsOf, MODEL_UNIT_MODEL, NOT_FOUND, NOT_OPTIMIZABLE_MODEL, NOW, SECOND, at, condition, endpointObject, endpointSpec, failed, iso, planInput, readyEndpoint, servedEntity, updatingEndpoint } from '../fixtures.js';

const CANARY = { steps: [50, 10], pause: '10m' }; // sorted: 10 → 50
const spec = (version = '4', canary: Record<string, unknown> = CANARY) => endpointSpec({ model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version }, canary: canary as never });

/** A served config with the given versions and traffic shares (entities named as Databricks does). */
function served(shares: Record<string, number>): EndpointCoreConfigOutput {
  const entities = Object.keys(shares).map((version) => servedEntity({ version }));
  return {
    served_entities: entities,
    traffic_config: { routes: entities.map((e) => ({ served_entity_name: e.name, served_model_name: e.name, traffic_percentage: shares[e.entity_version as string] as number })) },
    config_version: 3,
  };
}

const running = (overrides: Partial<CanaryStatus>): CanaryStatus => ({
  phase: 'Progressing',
  fromVersion: '3',
  toVersion: '4',
  from: { entityName: 'meta_llama_v3_1_8b_instruct-3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 },
  step: 1,
  share: 10,
  ...overrides,
});

function input(overrides: Partial<CanaryInput> & { config?: EndpointCoreConfigOutput; canary?: CanaryStatus }): CanaryInput {
  const status: EndpointStatus = overrides.canary ? { canary: overrides.canary } : {};
  return { spec: spec(), annotations: {}, status, served: observeConfig(overrides.config ?? served({ '3': 100 })), updating: false, now: NOW, ...overrides };
}

describe('planCanary', () => {
  it('without spec.canary, or when the served version is already the spec version, it is inactive', () => {
    for (const decision of [
      planCanary(input({ spec: endpointSpec({ model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '4' } }) })),
      planCanary(input({ config: served({ '4': 100 }) })),
      planCanary(input({ updating: true })),
    ]) {
      expect(decision.changed).toBe(false);
      expect(decision.status).toBeUndefined();
      expect(decision.split).toBeUndefined();
    }
  });

  it('a new version starts at the first (smallest) step, beside the served version with its throughput', () => {
    const decision = planCanary(input({}));
    expect(decision.changed).toBe(true);
    expect(decision.status).toMatchObject({ phase: 'Progressing', fromVersion: '3', toVersion: '4', step: 1, share: 10, from: { entityName: 'meta_llama_v3_1_8b_instruct-3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 } });
    expect(decision.split).toEqual({
      previous: { name: 'meta_llama_v3_1_8b_instruct-3', entityVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 },
      name: 'meta_llama_v3_1_8b_instruct-4',
      share: 10,
    });
  });

  type Row = { name: string; canary: CanaryStatus; config: Record<string, number>; now?: Date; annotations?: Record<string, string>; updating?: boolean; phase: string; share: number; changed: boolean; message: RegExp; split: boolean };
  const rows: Row[] = [
    { name: 'step rolling out', canary: running({}), config: { '3': 100 }, updating: true, phase: 'Progressing', share: 10, changed: false, message: /rolling out step 1: 10 %/, split: true },
    { name: 'step reached: pause begins', canary: running({}), config: { '3': 90, '4': 10 }, phase: 'Paused', share: 10, changed: false, message: /step 1 \(10 %\) serves; pausing until 2026-03-01T12:10:00Z/, split: true },
    { name: 'pause over: next step', canary: running({ phase: 'Paused', stepReachedTime: iso(at(-10 * 60 * SECOND)) }), config: { '3': 90, '4': 10 }, phase: 'Progressing', share: 50, changed: true, message: /rolling out step 2: 50 %/, split: true },
    { name: 'last step over: promote', canary: running({ phase: 'Paused', step: 2, share: 50, stepReachedTime: iso(at(-11 * 60 * SECOND)) }), config: { '3': 50, '4': 50 }, phase: 'Promoting', share: 100, changed: true, message: /after the last step/, split: false },
    { name: 'new version alone: succeeded', canary: running({ phase: 'Promoting', step: 3, share: 100 }), config: { '4': 100 }, phase: 'Succeeded', share: 100, changed: false, message: /version 3 was removed/, split: false },
    { name: 'hold by annotation', canary: running({ phase: 'Paused', stepReachedTime: iso(at(-60 * 60 * SECOND)) }), config: { '3': 90, '4': 10 }, annotations: { 'ptoperator.io/canary': 'hold' }, phase: 'Holding', share: 10, changed: false, message: /held at step 1/, split: true },
    { name: 'promote by annotation', canary: running({ phase: 'Paused', stepReachedTime: iso(NOW) }), config: { '3': 90, '4': 10 }, annotations: { 'ptoperator.io/canary': 'promote' }, phase: 'Promoting', share: 100, changed: true, message: /promoted by the user/, split: false },
    { name: 'abort by annotation', canary: running({ phase: 'Paused' }), config: { '3': 90, '4': 10 }, annotations: { 'ptoperator.io/canary': 'Abort' }, phase: 'Aborted', share: 10, changed: true, message: /aborted by the user/, split: false },
    { name: 'aborted stays aborted', canary: running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3' }), config: { '3': 100 }, phase: 'Aborted', share: 10, changed: false, message: /aborted by the user/, split: false },
  ];
  it.each(rows)('$name', ({ canary, config, now, annotations, updating, phase, share, changed, message, split }) => {
    const decision = planCanary(input({ canary, config: served(config), now: now ?? NOW, annotations: annotations ?? {}, updating: updating ?? false }));
    expect(decision.status?.phase).toBe(phase);
    expect(decision.status?.share).toBe(share);
    expect(decision.changed).toBe(changed);
    expect(decision.status?.message).toMatch(message);
    expect(decision.split !== undefined).toBe(split);
  });

  it.each([
    { name: 'step 1 (10 %)', config: { '3': 90, '4': 10 }, step: 1, share: 10 },
    { name: 'step 2 (50 %)', config: { '3': 50, '4': 50 }, step: 2, share: 50 },
  ])('a split at $name serves but status.canary is gone: the canary goes on from that step, no swap to 100 %', ({ config, step, share }) => {
    const decision = planCanary(input({ config: served(config) }));
    expect(decision.status).toMatchObject({ phase: 'Paused', fromVersion: '3', toVersion: '4', step, share, stepReachedTime: iso(NOW), from: { entityName: 'meta_llama_v3_1_8b_instruct-3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 } });
    expect(decision.split).toMatchObject({ previous: { entityVersion: '3' }, share });
  });

  // The operator sent the next step (or the promotion) and was killed (or lost its Lease) before status said so: the
  // restarted one finds Databricks serving what status would send next. Sending the current step again moved traffic
  // back (50 % → 10 % → 50 %: two more rollouts, e2e/crash-canary) or put the removed old version back.
  it.each<{ name: string; canary: CanaryStatus; config: Record<string, number>; phase: string; step: number; share: number }>([
    { name: 'step 2 serves while status says step 1', canary: running({ phase: 'Paused', stepReachedTime: iso(at(-10 * 60 * SECOND)) }), config: { '3': 50, '4': 50 }, phase: 'Paused', step: 2, share: 50 },
    { name: 'step 2 serves while status says step 1 rolls out (seen rolling meanwhile)', canary: running({}), config: { '3': 50, '4': 50 }, phase: 'Paused', step: 2, share: 50 },
    { name: 'the new version alone serves while status says the last step', canary: running({ phase: 'Paused', step: 2, share: 50, stepReachedTime: iso(at(-10 * 60 * SECOND)) }), config: { '4': 100 }, phase: 'Succeeded', step: 3, share: 100 },
  ])('what status would send next already serves: the canary goes on from it, nothing sent again ($name)', ({ canary, config, phase, step, share }) => {
    const decision = planCanary(input({ canary, config: served(config) }));
    expect(decision.status).toMatchObject({ phase, step, share });
    if (phase === 'Paused') {
      expect(decision.status?.stepReachedTime).toBe(iso(NOW));
      expect(decision.split).toMatchObject({ previous: { entityVersion: '3' }, share });
    } else expect(decision.split).toBeUndefined();
  });

  it('step 2 rolling out while status says step 1 (the kill came with it in flight): status says step 2 rolls out', () => {
    const paused = running({ phase: 'Paused', stepReachedTime: iso(at(-10 * 60 * SECOND)) });
    const decision = planCanary(input({ canary: paused, config: served({ '3': 90, '4': 10 }), updating: true, rollingOut: observeConfig(served({ '3': 50, '4': 50 })) }));
    expect(decision.status).toMatchObject({ phase: 'Progressing', step: 2, share: 50, message: 'rolling out step 2: 50 % of the traffic to version 4' });
    expect(decision.split).toMatchObject({ share: 50 });
  });

  // The gate failed and the abort was in flight when the operator died: the failing version must get no traffic again.
  describe('the old version alone where a gated step had served', () => {
    const gated = spec('4', { ...CANARY, gate: [{ metric: 'request_5xx_count_total', divideBy: 'request_count_total', max: 0.05 }] });
    const paused = running({ phase: 'Paused', stepReachedTime: iso(at(-5 * 60 * SECOND)) });
    it.each<{ name: string; config: Record<string, number>; updating: boolean; rollingOut: Record<string, number> | undefined }>([
      { name: 'served', config: { '3': 100 }, updating: false, rollingOut: undefined },
      { name: 'rolling out', config: { '3': 90, '4': 10 }, updating: true, rollingOut: { '3': 100 } },
    ])('$name: the canary is aborted, the old version aimed for, nothing sent again', ({ config, updating, rollingOut }) => {
      const decision = planCanary(input({ spec: gated, canary: paused, config: served(config), updating, rollingOut: rollingOut && observeConfig(served(rollingOut)) }));
      expect(decision.status).toMatchObject({ phase: 'Aborted', step: 1, share: 10 });
      expect(decision.status?.message).toMatch(/^version 3 serves alone although step 1 \(10 %\) had served: the canary was aborted before status said so/);
      expect(decision.split).toBeUndefined();
      expect(decision.spec.model.version).toBe('3');
    });

    it('without a gate (only the user aborts, and the control stays set) a step undone out of band is put back', () => {
      expect(planCanary(input({ canary: paused, config: served({ '3': 100 }) })).status).toMatchObject({ phase: 'Progressing', step: 1, share: 10 });
    });

    it('a step never reached (an endpoint created again with the old version) starts again', () => {
      expect(planCanary(input({ spec: gated, canary: running({}), config: served({ '3': 100 }) })).status).toMatchObject({ phase: 'Progressing', step: 1 });
    });
  });

  it('a split ahead of the next step, or still rolling out, is not taken for it', () => {
    const paused = running({ phase: 'Paused', stepReachedTime: iso(at(-10 * 60 * SECOND)) });
    // two steps ahead (the new version alone while step 1 pauses): not what this status sends next
    expect(planCanary(input({ canary: paused, config: served({ '4': 100 }) })).status).toMatchObject({ step: 1, share: 10, phase: 'Progressing' });
    expect(planCanary(input({ canary: paused, config: served({ '3': 50, '4': 50 }), updating: true })).status).toMatchObject({ step: 1, phase: 'Progressing' });
  });

  it('a split whose share is no step of the canary is not taken for one of its steps', () => {
    expect(planCanary(input({ config: served({ '3': 70, '4': 30 }) })).status).toBeUndefined();
  });

  it('model.version set back to the old version of a running canary swaps back at once, even at a share that is a step', () => {
    const decision = planCanary(input({ spec: spec('3', { steps: [10, 90], pause: '10m' }), canary: running({ phase: 'Paused' }), config: served({ '3': 90, '4': 10 }) }));
    expect(decision.status).toBeUndefined();
    expect(decision.split).toBeUndefined();
    expect(decision.spec.model.version).toBe('3');
  });

  describe('a new model.name is no canary of a version: the old model never serves under the new name', () => {
    const other = (version: string) => endpointSpec({ model: { name: 'main.default.support_bot', version }, canary: CANARY as never });
    it.each<{ name: string; canary?: CanaryStatus; config: Record<string, number> }>([
      { name: 'from a settled endpoint', config: { '3': 100 } },
      { name: 'during a step (the same version number under the new name)', canary: running({ phase: 'Paused', stepReachedTime: iso(NOW) }), config: { '3': 90, '4': 10 } },
      { name: 'after an abort', canary: running({ phase: 'Aborted', message: 'aborted by the user' }), config: { '3': 100 } },
    ])('$name: the new model serves alone at once', ({ canary, config }) => {
      const decision = planCanary(input({ spec: other('4'), ...(canary && { canary }), config: served(config) }));
      expect(decision.split).toBeUndefined();
      expect(decision.status).toBeUndefined();
      expect(decision.spec.model).toEqual({ name: 'main.default.support_bot', version: '4' });
    });
  });

  it('an annotation value that is no control (a typo such as "abrot") is said where the canary stands, not silently ignored', () => {
    const decision = planCanary(input({ canary: running({ phase: 'Paused', stepReachedTime: iso(NOW) }), config: served({ '3': 90, '4': 10 }), annotations: { 'ptoperator.io/canary': 'abrot' } }));
    expect(decision.status?.phase).toBe('Paused');
    const said = /annotation ptoperator.io\/canary="abrot" is ignored: it must be hold, promote or abort/;
    expect(decision.status?.message).toMatch(said);
    expect(decision.inProgress?.ready).toMatch(said);
    expect(planCanary(input({ canary: running({ phase: 'Paused', stepReachedTime: iso(NOW) }), config: served({ '3': 90, '4': 10 }), annotations: { 'ptoperator.io/canary': ' Hold ' } })).status?.phase).toBe('Holding');
  });

  it.each([
    { name: 'steps [10, 50] edited to [30, 60] at 10 %: 30 % next (step 1 of the new list), not 60 %', steps: [30, 60], step: 1, share: 30 },
    { name: 'steps [10, 50] edited to [5, 10, 50] at 10 %: 50 % next, not 10 % again', steps: [5, 10, 50], step: 3, share: 50 },
    { name: 'steps [10, 50] edited to [5] at 10 %: no step above, so the canary promotes', steps: [5], step: 2, share: 100 },
  ])('spec.canary.steps edited during a pause: $name', ({ steps, step, share }) => {
    const paused = running({ phase: 'Paused', stepReachedTime: iso(at(-11 * 60 * SECOND)) });
    const decision = planCanary(input({ spec: spec('4', { steps, pause: '10m' }), canary: paused, config: served({ '3': 90, '4': 10 }) }));
    expect(decision.status).toMatchObject({ step, share });
  });

  it('spec.canary.action works like the annotation', () => {
    const decision = planCanary(input({ spec: spec('4', { ...CANARY, action: 'Abort' }), canary: running({ phase: 'Paused' }), config: served({ '3': 90, '4': 10 }) }));
    expect(decision.status?.phase).toBe('Aborted');
  });

  describe('a control left set when a new version comes', () => {
    // Version 4's canary was aborted and the control left in place; the user then sets version 5.
    const spec5 = (canary: Record<string, unknown> = CANARY) => spec('5', canary);
    const abortedBefore = running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3' });

    it.each([
      { name: 'the abort annotation', annotations: { 'ptoperator.io/canary': 'abort' }, spec: spec5(), control: /annotation ptoperator.io\/canary=abort/ },
      { name: 'spec.canary.action Abort', annotations: {} as Record<string, string>, spec: spec5({ ...CANARY, action: 'Abort' }), control: /spec.canary.action: Abort/ },
    ])('$name: the canary of the new version does not start; the served version keeps serving alone', ({ annotations, spec, control }) => {
      const decision = planCanary(input({ spec, annotations, canary: abortedBefore }));
      expect(decision.split).toBeUndefined();
      expect(decision.spec.model.version).toBe('3');
      expect(decision.spec.throughput).toEqual({ tokensPerSecond: { min: 1960, max: 2940 } });
      expect(decision.status).toMatchObject({ phase: 'Aborted', fromVersion: '3', toVersion: '5', step: 0, share: 0 });
      expect(decision.status?.message).toMatch(control);
      expect(decision.status?.message).toMatch(/remove it to start a canary of version 5/i);
      // Looked at again with the control still set: nothing changes, nothing is sent.
      const again = planCanary(input({ spec, annotations, canary: decision.status }));
      expect(again).toMatchObject({ changed: false, status: { phase: 'Aborted', step: 0 } });
      expect(again.split).toBeUndefined();
      expect(again.spec.model.version).toBe('3');
    });

    it('removing the abort control then starts the canary at its first step', () => {
      const notStarted = planCanary(input({ spec: spec5(), annotations: { 'ptoperator.io/canary': 'abort' }, canary: abortedBefore })).status;
      const decision = planCanary(input({ spec: spec5(), canary: notStarted }));
      expect(decision.changed).toBe(true);
      expect(decision.status).toMatchObject({ phase: 'Progressing', fromVersion: '3', toVersion: '5', step: 1, share: 10 });
      expect(decision.split?.share).toBe(10);
    });

    it('Promote goes straight to the new version alone, with no split', () => {
      const decision = planCanary(input({ spec: spec5(), annotations: { 'ptoperator.io/canary': 'promote' }, canary: abortedBefore }));
      expect(decision.split).toBeUndefined();
      expect(decision.spec.model.version).toBe('5');
      expect(decision.changed).toBe(true);
      expect(decision.status).toMatchObject({ phase: 'Promoting', toVersion: '5', share: 100, step: 3 });
      expect(decision.status?.message).toMatch(/promoted by the user before it started/);
    });

    it('Hold starts the canary and holds it at the first step once it serves', () => {
      const hold = { 'ptoperator.io/canary': 'hold' };
      const started = planCanary(input({ spec: spec5(), annotations: hold }));
      expect(started.status).toMatchObject({ phase: 'Progressing', step: 1, share: 10 });
      expect(started.split?.share).toBe(10);
      const held = planCanary(input({ spec: spec5(), annotations: hold, canary: started.status, config: served({ '3': 90, '5': 10 }), now: at(60 * 60 * SECOND) }));
      expect(held.status).toMatchObject({ phase: 'Holding', step: 1, share: 10 });
    });
  });

  it('an aborted canary aims for the old version alone, with its old throughput', () => {
    const decision = planCanary(input({ canary: running({ phase: 'Aborted' }), config: served({ '3': 90, '4': 10 }) }));
    expect(decision.spec.model.version).toBe('3');
    expect(decision.spec.throughput).toEqual({ tokensPerSecond: { min: 1960, max: 2940 } });
  });

  it('a pause wakes the operator at its end; status lists each version with its share', () => {
    const decision = planCanary(input({ canary: running({}), config: served({ '3': 90, '4': 10 }) }));
    expect(decision.wakeAt).toEqual(at(10 * 60 * SECOND));
    expect(decision.status?.versions).toEqual([
      { version: '3', share: 90, throughput: '1960-2940 tokens/s' },
      { version: '4', share: 10, throughput: '1960-2940 tokens/s' },
    ]);
    const plan = withCanary({ action: { type: 'none' }, status: {}, requeue: { after: 300_000 }, events: [] }, {}, decision, false, NOW);
    expect(plan.requeue).toEqual({ after: 300_000 });
    expect(withCanary({ action: { type: 'none' }, status: {}, requeue: undefined, events: [] }, {}, decision, false, NOW).requeue).toEqual({ after: 600_000 });
    // A failed action keeps the status as it was, so the step is sent again.
    expect(withCanary({ action: { type: 'none' }, status: {}, requeue: undefined, events: [] }, { canary: running({ share: 5 }) }, decision, true, NOW).status.canary?.share).toBe(5);
  });

  it('an edit that rolls a paused step out again starts its pause again once the new config serves', () => {
    const paused = running({ phase: 'Paused', stepReachedTime: iso(at(-5 * 60 * SECOND)) });
    // The throughput edit's update is rolling out: the step is not judged meanwhile.
    const rolling = planCanary(input({ canary: paused, config: served({ '3': 90, '4': 10 }), updating: true }));
    expect(rolling.status).toMatchObject({ phase: 'Progressing', step: 1, share: 10 });
    expect(rolling.status?.stepReachedTime).toBeUndefined();
    // Served again: the pause counts from now, not from the first time the step served.
    const servedAgain = planCanary(input({ canary: rolling.status, config: served({ '3': 90, '4': 10 }) }));
    expect(servedAgain.status).toMatchObject({ phase: 'Paused', stepReachedTime: iso(NOW) });
    expect(servedAgain.wakeAt).toEqual(at(10 * 60 * SECOND));
  });

  describe('metrics gate', () => {
    const gated = spec('4', { ...CANARY, gate: [{ metric: 'request_5xx_count_total', divideBy: 'request_count_total', max: 0.05 }] });
    const paused = running({ phase: 'Paused', stepReachedTime: iso(at(-20 * 60 * SECOND)) });
    it.each([
      { name: 'a failing gate aborts', gate: { ok: true as const, values: [0.2] }, phase: 'Aborted', message: /metrics gate failed at step 1: request_5xx_count_total \/ request_count_total = 0.2 > 0.05/ },
      { name: 'a passing gate advances', gate: { ok: true as const, values: [0.01] }, phase: 'Progressing', message: /step 2/ },
      { name: 'no samples make the step wait, saying which', gate: { ok: true as const, values: [undefined], unknown: 'no samples of request_5xx_count_total' }, phase: 'Paused', message: /waits for the metrics gate: no samples of request_5xx_count_total; set spec.canary.action to Promote/ },
      { name: 'one entry above its max aborts even while another has no value', gate: { ok: true as const, values: [0.2, undefined], unknown: 'x' }, phase: 'Aborted', message: /= 0.2 > 0.05/ },
      { name: 'metrics that cannot be read make the step wait', gate: { ok: false as const, message: 'metrics could not be read: 503' }, phase: 'Paused', message: /waits for the metrics gate: metrics could not be read: 503/ },
    ])('$name', ({ gate, phase, message }) => {
      const decision = planCanary(input({ spec: gated, canary: paused, config: served({ '3': 90, '4': 10 }), gate }));
      expect(decision.status?.phase).toBe(phase);
      expect(decision.status?.message).toMatch(message);
    });

    it('is read only while a step of the spec version serves', () => {
      expect(gateNeeded(gated, { canary: paused })).toBe(true);
      expect(gateNeeded(gated, { canary: running({}) })).toBe(false);
      expect(gateNeeded(spec(), { canary: paused })).toBe(false);
    });

    it('values come from the new entity\'s samples in the Prometheus text', () => {
      const text = [
        '# HELP request_count_total Requests served.',
        '# TYPE request_count_total counter',
        'request_count_total{served_entity_name="meta_llama_v3_1_8b_instruct-3"} 900',
        'request_count_total{served_entity_name="meta_llama_v3_1_8b_instruct-4"} 100',
        'request_5xx_count_total{served_entity_name="meta_llama_v3_1_8b_instruct-4"} 3 1700000000000',
        'garbage line',
      ].join('\n');
      expect(gateValues(text, gated)).toEqual({ ok: true, values: [0.03] });
      // Samples under another label (or none for the new entity) are no evidence: the reading says what is missing.
      expect(gateValues(text.replaceAll('served_entity_name', 'entity'), gated)).toEqual({
        ok: true,
        values: [undefined],
        unknown: 'no samples of request_5xx_count_total with served_entity_name="meta_llama_v3_1_8b_instruct-4" in the endpoint\'s metrics',
      });
      expect(gateValues('request_count_total{served_entity_name="meta_llama_v3_1_8b_instruct-4"} 0\nrequest_5xx_count_total{served_entity_name="meta_llama_v3_1_8b_instruct-4"} 0', gated)).toEqual({
        ok: true,
        values: [undefined],
        unknown: 'request_count_total of meta_llama_v3_1_8b_instruct-4 is 0 (no traffic to judge yet)',
      });
      expect(parseSamples('x{a="q\\"uote",b="2"} 1.5')).toEqual([{ name: 'x', labels: { a: 'q"uote', b: '2' }, value: 1.5 }]);
    });
  });
});

/** One reconcile as the reconciler runs it: the canary decides the config to aim for, the planner the rest. */
function reconcileCanary(object: EndpointObject, endpoint: ServingEndpointDetailed | typeof NOT_FOUND, workspaceHost?: string, options: Pick<InputOptions, 'model' | 'now'> = {}) {
  const now = options.now ?? NOW;
  const observed = planInput(object, { endpoint }).endpoint;
  const decision = decideCanary(object, observed, observed.kind === 'found', now);
  const input = planInput({ ...object, spec: decision.spec }, { endpoint, ...options });
  const plan = planEndpoint({ ...input, ...(workspaceHost && { workspace: { ready: true, host: workspaceHost } }), desiredChanged: decision.changed, ...canaryPlanFields(decision) });
  return withCanary(plan, object.status, decision, canaryKept(false, observed, plan), now);
}

const canaryObject = (version: string, canary: CanaryStatus | undefined, annotations: Record<string, string> = {}) =>
  endpointObject({ spec: { model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version }, canary: CANARY }, annotations, status: { observedGeneration: 1, ...(canary && { canary }) } });
const conditions = (plan: ReturnType<typeof reconcileCanary>) => Object.fromEntries((plan.status.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]));

describe('a running canary in the conditions', () => {
  // Step 1 of version 4's canary serves: 90 % still goes to version 3.
  const atStep1 = { ...readyEndpoint(), config: served({ '3': 90, '4': 10 }) };
  const paused = running({ phase: 'Paused', stepReachedTime: iso(NOW) });

  it.each([
    { name: 'a step in its pause', annotations: {} as Record<string, string>, ready: 'canary of version 4: step 1 (10 %) serves; pausing until 2026-03-01T12:10:00Z; version 3 serves the other 90 %' },
    { name: 'a step the user holds', annotations: { 'ptoperator.io/canary': 'hold' }, ready: 'canary of version 4: held at step 1 (10 %) by the user; version 3 serves the other 90 %' },
  ])('$name: Ready is False CanaryInProgress (the version bump is not done) and Reconciling tells generic tools', ({ annotations, ready }) => {
    const plan = reconcileCanary(canaryObject('4', paused, annotations), atStep1);
    expect(plan.action).toEqual({ type: 'none' });
    expect(conditions(plan)).toEqual({ Ready: 'False CanaryInProgress', Synced: 'True ReconcileSuccess', Reconciling: 'True CanaryInProgress' });
    expect(condition(plan, 'Ready')?.message).toBe(ready);
    expect(condition(plan, 'Synced')?.message).toBe('the spec is applied up to the canary\'s current step (step 1 of 2: 10 % to version 4); version 4 serves all traffic once the canary succeeds');
  });

  it('once the canary succeeds, Ready is True and the spec is applied', () => {
    const plan = reconcileCanary(canaryObject('4', running({ phase: 'Promoting', step: 3, share: 100 })), readyEndpoint({ version: '4' }));
    expect(plan.status.canary?.phase).toBe('Succeeded');
    expect(conditions(plan)).toEqual({ Ready: 'True Available', Synced: 'True ReconcileSuccess' });
    expect(condition(plan, 'Synced')?.message).toBe('the spec is applied');
  });

  // A step's pause or a hold may last hours: every look in it found Ready True (the step's config serves) before the
  // canary made it False, so its lastTransitionTime moved to the look's time and every look wrote the status (the
  // upgrade drill saw one status write per poll per paused canary, and a Ready that said it changed seconds ago).
  it.each([
    { name: 'a step in its pause', canary: paused, config: atStep1, annotations: {} as Record<string, string>, ready: 'False CanaryInProgress' },
    { name: 'a step the user holds', canary: paused, config: atStep1, annotations: { 'ptoperator.io/canary': 'hold' }, ready: 'False CanaryInProgress' },
    {
      name: 'an aborted canary',
      canary: running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3' }),
      config: readyEndpoint(),
      annotations: {} as Record<string, string>,
      ready: 'False CanaryAborted',
    },
  ])('$name: a later look with nothing changed plans the same status, its conditions\' lastTransitionTime kept', ({ canary, config, annotations, ready }) => {
    const object = canaryObject('4', canary, annotations);
    const first = reconcileCanary(object, config);
    expect(conditions(first)).toMatchObject({ Ready: ready });
    const later = reconcileCanary(afterPlan(object, first), config, undefined, { now: at(MINUTE) });
    expect(later.action).toEqual({ type: 'none' });
    expect(later.events).toEqual([]);
    expect(later.status).toEqual(first.status);
  });

  // A step's pause or a hold may last days: a tag someone changes in Databricks meanwhile is drift as at any other time.
  it('a tag changed in Databricks while a step serves is restored with a DriftDetected Warning', () => {
    const object = canaryObject('4', paused);
    const first = reconcileCanary(object, atStep1);
    expect(conditions(first)).toMatchObject({ Ready: 'False CanaryInProgress' });
    const changed = { ...atStep1, tags: [{ key: 'team', value: 'someone-else' }, ...ownerTagsOf(OWNER)] };
    const drifted = reconcileCanary(afterPlan(object, first), changed, undefined, { now: at(MINUTE) });
    expect(drifted.action).toMatchObject({ type: 'patchTags', add: [{ key: 'team', value: 'genai' }] });
    expect(drifted.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'DriftDetected' }));
  });
});

describe('a bad edit during a canary (the spec cannot be resolved) leaves the canary alone', () => {
  // Step 1 of version 4's canary serves and pauses; the user sets model.version to a typo, then back to "4".
  const atStep1 = { ...readyEndpoint(), config: served({ '3': 90, '4': 10 }) };
  const split = [
    { version: '3', share: 90, throughput: '1960-2940 tokens/s' },
    { version: '4', share: 10, throughput: '1960-2940 tokens/s' },
  ];
  const paused = running({ phase: 'Paused', stepReachedTime: iso(at(-4 * MINUTE)), message: 'step 1 (10 %) serves; pausing until 2026-03-01T12:06:00Z', versions: split });
  const object = (version: string, status: EndpointStatus, generation: number): EndpointObject => ({ ...canaryObject(version, undefined), generation, status: { ...status, observedGeneration: generation - 1 } });

  it.each([
    { name: 'a version Unity Catalog does not have', model: NOT_FOUND as InputOptions['model'], reason: 'ModelNotFound' },
    { name: 'a version not eligible for provisioned throughput', model: NOT_OPTIMIZABLE_MODEL, reason: 'ModelNotOptimizable' },
    { name: 'a version the throughput does not fit (model units)', model: MODEL_UNIT_MODEL, reason: 'InvalidSpec' },
    { name: 'a version the operator may not read', model: failed('PermissionDenied', 'User does not have EXECUTE on the model'), reason: 'PermissionDenied' },
  ])('$name: nothing is sent, status.canary stays as it was; going back resumes the step and its pause', ({ model, reason }) => {
    const typo = reconcileCanary(object('99', { canary: paused }, 2), atStep1, undefined, { model });
    expect(typo.action).toEqual({ type: 'none' });
    expect(condition(typo, 'Synced')?.reason).toBe(reason);
    expect(condition(typo, 'Ready')?.message).toMatch(/Databricks still serves version 3 at .* \(90 %\) and version 4 at .* \(10 %\)\.$/);
    expect(typo.status.canary).toEqual(paused);

    // Back to the canary's version: the step still serves, its pause counts from when it began.
    const back = reconcileCanary(object('4', typo.status, 3), atStep1);
    expect(back.action).toEqual({ type: 'none' });
    expect(back.status.canary).toMatchObject({ phase: 'Paused', step: 1, share: 10, stepReachedTime: iso(at(-4 * MINUTE)) });
    expect(conditions(back)).toMatchObject({ Ready: 'False CanaryInProgress' });

    // Its pause over: step 2, 50 % (never the new version alone before it).
    const next = reconcileCanary(object('4', back.status, 4), atStep1, undefined, { now: at(6 * MINUTE) });
    expect(next.action).toMatchObject({ type: 'updateConfig', request: { body: { traffic_config: { routes: [{ traffic_percentage: 50 }, { traffic_percentage: 50 }] } } } });
    expect(next.status.canary).toMatchObject({ phase: 'Progressing', step: 2, share: 50 });
  });

  it('while the bad edit is pending, Ready names every served version with its share, as Databricks reports them', () => {
    const typo = reconcileCanary(object('99', { canary: paused, served: { modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 } }, 2), atStep1, undefined, { model: NOT_FOUND });
    expect(condition(typo, 'Ready')?.message).toMatch(/Databricks still serves version 3 at 1960-2940 tokens\/s \(90 %\) and version 4 at 1960-2940 tokens\/s \(10 %\)\.$/);
    // Databricks' split changed meanwhile (out of band): status.canary shows it as served.
    const drifted = reconcileCanary(object('99', { canary: paused }, 2), { ...readyEndpoint(), config: served({ '3': 80, '4': 20 }) }, undefined, { model: NOT_FOUND });
    expect(drifted.status.canary?.versions?.map((v) => v.share)).toEqual([80, 20]);
    expect(drifted.status.canary).toMatchObject({ phase: 'Paused', step: 1, share: 10 });
  });
});

describe('an endpoint missing during a canary is created again with what the canary lets serve', () => {
  const aborted = running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3', versions: [{ version: '3', share: 100, throughput: '1960-2940 tokens/s' }] });
  const created = (plan: ReturnType<typeof reconcileCanary>) =>
    plan.action.type === 'create' ? plan.action.request.body.config.served_entities.map((e) => [e.entity_version, 'min_provisioned_throughput' in e ? e.min_provisioned_throughput : undefined]) : plan.action.type;

  it.each([
    { name: 'aborted, the abort annotation still set', canary: aborted, annotations: { 'ptoperator.io/canary': 'abort' } },
    { name: 'aborted by the gate', canary: { ...aborted, message: 'the metrics gate failed at step 1: x = 1 > 0.5; all traffic back to version 3' }, annotations: {} as Record<string, string> },
    { name: 'an abort control kept it from starting', canary: { ...aborted, step: 0, share: 0, message: 'not started' }, annotations: { 'ptoperator.io/canary': 'abort' } },
    { name: 'a running step the user now aborts', canary: running({ phase: 'Paused', stepReachedTime: iso(NOW) }), annotations: { 'ptoperator.io/canary': 'abort' } },
  ])('$name: the old version, at its old throughput; Synced says it is the old one', ({ canary, annotations }) => {
    const plan = reconcileCanary(canaryObject('4', canary, annotations), NOT_FOUND);
    expect(created(plan)).toEqual([['3', 1960]]);
    expect(condition(plan, 'Ready')?.message).toMatch(/^creating endpoint llama-chat with version 3 at 1960-2940 tokens\/s/);
    expect(conditions(plan)).toMatchObject({ Ready: 'False Creating', Synced: 'False CanaryAborted' });
    expect(condition(plan, 'Synced')?.message).toMatch(/Version 3 keeps serving/);
    expect(plan.status.canary).toMatchObject({ phase: 'Aborted', fromVersion: '3', toVersion: '4', versions: [] });
  });

  it('a running step: the old version alone, and the canary starts again at step 1 once it serves', () => {
    const plan = reconcileCanary(canaryObject('4', running({ phase: 'Paused', step: 2, share: 50, stepReachedTime: iso(NOW) })), NOT_FOUND);
    expect(created(plan)).toEqual([['3', 1960]]);
    expect(plan.status.canary).toMatchObject({ phase: 'Progressing', step: 1, share: 10, versions: [], message: 'the endpoint is missing: creating it again with version 3 alone; the canary starts again at step 1 (10 %) once it serves' });
    expect(conditions(plan)).toMatchObject({ Ready: 'False Creating', Synced: 'True ReconcileSuccess' });

    const again = reconcileCanary({ ...canaryObject('4', plan.status.canary), status: { ...plan.status, observedGeneration: 1 } }, readyEndpoint({ version: '3' }));
    expect(again.action).toMatchObject({ type: 'updateConfig', request: { body: { traffic_config: { routes: [{ traffic_percentage: 90 }, { traffic_percentage: 10 }] } } } });
    expect(again.status.canary).toMatchObject({ phase: 'Progressing', step: 1, share: 10 });
  });

  it('not while the object names another workspace (nothing is created): the canary stays as it stands', () => {
    const held = running({ phase: 'Holding', step: 2, share: 50, stepReachedTime: iso(NOW) });
    const object = canaryObject('4', held, { 'ptoperator.io/canary': 'hold' });
    const moved = { ...object, status: { ...object.status, endpointId: 'ep-1', workspaceHost: 'https://adb-1.1.azuredatabricks.net' } };
    const plan = reconcileCanary(moved, NOT_FOUND, 'https://adb-2.2.azuredatabricks.net');
    expect(plan.action).toEqual({ type: 'none' });
    expect(conditions(plan)).toMatchObject({ Synced: 'False WorkspaceChanged' });
    expect(plan.status.canary).toEqual(held);
  });

  it('a new model.name since the canary began: the new model alone, never the old version number under the new name', () => {
    // The canary of meta_llama 3 -> 4 records its model; the user then moves model.name to another model, and the
    // endpoint is deleted out of band before that update went out.
    const started = planCanary(input({}));
    expect(started.status?.model).toBe('system.ai.meta_llama_v3_1_8b_instruct');
    const object = endpointObject({ spec: { model: { name: 'main.default.support_bot', version: '4' }, canary: CANARY }, status: { observedGeneration: 1, canary: { ...running({ phase: 'Paused', stepReachedTime: iso(NOW) }), model: 'system.ai.meta_llama_v3_1_8b_instruct' } } });
    const plan = reconcileCanary(object, NOT_FOUND);
    expect(plan.action.type === 'create' && plan.action.request.body.config.served_entities.map((e) => [e.entity_name, e.entity_version])).toEqual([['main.default.support_bot', '4']]);
    expect(plan.status.canary).toBeUndefined();
  });

  it('a promotion: the new version alone, as the promotion asked', () => {
    const plan = reconcileCanary(canaryObject('4', running({ phase: 'Promoting', step: 3, share: 100 })), NOT_FOUND);
    expect(created(plan)).toEqual([['4', 1960]]);
    expect(plan.status.canary?.phase).toBe('Promoting');
  });
});

describe('an aborted canary in the conditions', () => {
  const gateFailed = 'the metrics gate failed at step 1: request_5xx_count_total / request_count_total = 0.2 > 0.05; all traffic back to version 3';
  const object = canaryObject;

  it.each([
    {
      name: 'the gate aborted it: the old version serves alone',
      object: object('4', running({ phase: 'Aborted', message: gateFailed })),
      endpoint: readyEndpoint({ version: '3' }),
      ready: 'False CanaryAborted',
      message: /the canary of version 4 was aborted \(the metrics gate failed at step 1.*\)\. Version 3 keeps serving\. Set model\.version back to "3", or to another version to start a new canary/,
    },
    {
      name: 'the user aborted it and the annotation is still set',
      object: object('4', running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3' }), { 'ptoperator.io/canary': 'abort' }),
      endpoint: readyEndpoint({ version: '3' }),
      ready: 'False CanaryAborted',
      message: /was aborted \(aborted by the user.*remove annotation ptoperator\.io\/canary=abort first/,
    },
    {
      name: 'the abort rolls back: Ready says so, Synced why',
      object: object('4', running({ phase: 'Aborted', message: gateFailed })),
      endpoint: updatingEndpoint({ version: '3' }, { version: '3' }),
      ready: 'False Updating',
      message: /the canary of version 4 was aborted/,
    },
    {
      name: 'the abort control kept a new version from starting',
      object: object('5', running({ phase: 'Aborted', message: 'aborted by the user: all traffic back to version 3' }), { 'ptoperator.io/canary': 'abort' }),
      endpoint: readyEndpoint({ version: '3' }),
      ready: 'False CanaryAborted',
      message: /the canary of version 5 did not start: annotation ptoperator\.io\/canary=abort is set\. Version 3 keeps serving\. Remove it to start the canary, or set model\.version back to "3"/,
    },
  ])('$name: Ready and Synced are False, Stalled says how to go on', ({ object, endpoint, ready, message }) => {
    const plan = reconcileCanary(object, endpoint);
    expect(plan.action).toEqual({ type: 'none' });
    expect(conditions(plan)).toEqual({ Ready: ready, Synced: 'False CanaryAborted', Stalled: 'True CanaryAborted' });
    expect(condition(plan, 'Synced')?.message).toMatch(message);
    expect(plan.status.conditions?.find((c) => c.type === 'Stalled')?.message).toBe(condition(plan, 'Synced')?.message);
    if (ready === 'False CanaryAborted') expect(condition(plan, 'Ready')?.message).toMatch(/^version 3 at 1960-2940 tokens\/s serves; the canary of version \d/);
  });

  it('a later spec change clears it: the version back, or a new version without the abort control', () => {
    const aborted = reconcileCanary(object('4', running({ phase: 'Aborted', message: gateFailed })), readyEndpoint({ version: '3' }));
    const stale = (version: string): EndpointObject => ({ ...object(version, aborted.status.canary), generation: 2, status: aborted.status });

    const back = reconcileCanary(stale('3'), readyEndpoint({ version: '3' }));
    expect(conditions(back)).toEqual({ Ready: 'True Available', Synced: 'True ReconcileSuccess' });
    expect(back.status.canary).toBeUndefined();

    const next = reconcileCanary(stale('5'), readyEndpoint({ version: '3' }));
    expect(next.action.type).toBe('updateConfig');
    expect(conditions(next)).toEqual({ Ready: 'False Updating', Synced: 'True ReconcileSuccess', Reconciling: 'True Updating' });
    expect(next.status.canary).toMatchObject({ phase: 'Progressing', toVersion: '5' });
  });
});

describe('a canary split in Databricks requests', () => {
  const desired: DesiredServing = {
    flavour: 'tokenBand',
    entityName: 'system.ai.meta_llama_v3_1_8b_instruct',
    entityVersion: '4',
    minTokensPerSecond: 980,
    maxTokensPerSecond: 1960,
    split: { previous: { name: 'meta_llama_v3_1_8b_instruct-3', entityVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 }, name: 'meta_llama_v3_1_8b_instruct-4', share: 10 },
  };

  it('sends both entities by name and the routes in one update', () => {
    expect(updateRequest('llama', desired)).toEqual({
      flavour: 'tokenBand',
      name: 'llama',
      body: {
        served_entities: [
          { name: 'meta_llama_v3_1_8b_instruct-3', entity_name: 'system.ai.meta_llama_v3_1_8b_instruct', entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 },
          { name: 'meta_llama_v3_1_8b_instruct-4', entity_name: 'system.ai.meta_llama_v3_1_8b_instruct', entity_version: '4', min_provisioned_throughput: 980, max_provisioned_throughput: 1960 },
        ],
        traffic_config: { routes: [{ served_entity_name: 'meta_llama_v3_1_8b_instruct-3', traffic_percentage: 90 }, { served_entity_name: 'meta_llama_v3_1_8b_instruct-4', traffic_percentage: 10 }] },
      },
    });
    const units = updateRequest('gpt', { ...desired, flavour: 'modelUnits', modelUnits: 100, split: { ...desired.split!, previous: { name: 'a-3', entityVersion: '3', modelUnits: 50 } } });
    expect(units.flavour === 'modelUnits' && units.body.config.traffic_config?.routes.map((r) => r.traffic_percentage)).toEqual([90, 10]);
  });

  // Power-user review (session 14): the old version's entity went without burst_scaling_enabled, so during a canary it
  // got Databricks' default (burst scaling on) although the spec turned it off: capacity, and cost, nobody asked for.
  it("a model-unit canary sends the spec's burst scaling for both versions, the old one included", () => {
    const units = updateRequest('gpt', { ...desired, flavour: 'modelUnits', modelUnits: 100, burstScaling: false, split: { ...desired.split!, previous: { name: 'a-3', entityVersion: '3', modelUnits: 50 } } });
    expect(units.flavour === 'modelUnits' && units.body.config.served_entities.map((e) => e.burst_scaling_enabled)).toEqual([false, false]);
  });

  it('is in sync only with both versions, their throughput and the share', () => {
    const at10 = observeConfig({ ...served({ '3': 90, '4': 10 }), served_entities: [servedEntity({ version: '3' }), servedEntity({ version: '4', min: 980, max: 1960 })] });
    expect(diffServing(desired, at10)).toEqual([]);
    expect(diffServing({ ...desired, split: { ...desired.split!, share: 50 } }, at10)).toEqual(['traffic to version 4 10 % → 50 %']);
    expect(diffServing(desired, observeConfig(served({ '3': 100 })))).toEqual(['versions 3 → 3 + 4']);
  });
});

describe('a canary under spec.schedule: the old version follows the schedule too', () => {
  // What the reconciler hands the planners while the office-hours window is open: spec.throughput replaced by the
  // window's 4-6 chunks (scheduledSpec). The canary started at night, version 3 serving 2-3 chunks (1960-2940).
  const peak = endpointSpec({
    model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '4' },
    throughput: { chunks: { min: 4, max: 6 } },
    schedule: { windows: [{ name: 'office-hours', start: '08:00', end: '18:00', throughput: { chunks: { min: 4, max: 6 } } }] },
    canary: CANARY as never,
  });
  const planned = (canary: CanaryStatus, config: EndpointCoreConfigOutput) => {
    const decision = planCanary(input({ spec: peak, canary, config }));
    const object = endpointObject({ spec: decision.spec as never, status: { observedGeneration: 1, canary } });
    return planEndpoint({ ...planInput(object, { endpoint: { ...readyEndpoint(), config } as never }), ...canaryPlanFields(decision), object: { ...object, spec: decision.spec }, desiredChanged: true });
  };

  it('a window that opens during a step gives both versions its throughput, not only the version with the small share', () => {
    const plan = planned(running({ phase: 'Paused', stepReachedTime: iso(NOW) }), served({ '3': 90, '4': 10 }));
    expect(plan.action).toMatchObject({ type: 'updateConfig' });
    const body = (plan.action as { request: { body: { served_entities: { entity_version: string; min_provisioned_throughput: number; max_provisioned_throughput: number }[] } } }).request.body;
    expect(body.served_entities.map((e) => `${e.entity_version}: ${e.min_provisioned_throughput}-${e.max_provisioned_throughput}`)).toEqual(['3: 3920-5880', '4: 3920-5880']);
  });

  // The canary started in office hours (version 3 at 3920-5880); the window has closed and both versions serve the
  // night's 2-3 chunks (1960-2940). status.canary.from still read 3920-5880, and once spec.schedule was removed the
  // old version was sent back up to 4-6 chunks at night: an update and GPUs nobody asked for.
  it('a window that closed during the canary: status.canary.from reads what the old version serves, and removing the schedule sends nothing', () => {
    const night = endpointSpec({ ...peak, throughput: { chunks: { min: 2, max: 3 } } });
    const startedInWindow = running({ phase: 'Paused', stepReachedTime: iso(NOW), from: { entityName: 'meta_llama_v3_1_8b_instruct-3', minTokensPerSecond: 3920, maxTokensPerSecond: 5880 } });
    const config = served({ '3': 90, '4': 10 });
    const decision = planCanary(input({ spec: night, canary: startedInWindow, config }));
    expect(decision.status?.from).toEqual({ entityName: 'meta_llama_v3_1_8b_instruct-3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 });

    const { schedule: _removed, ...unscheduled } = night;
    const canary = decision.status as CanaryStatus;
    const after = planCanary(input({ spec: unscheduled, canary, config }));
    const object = endpointObject({ spec: after.spec as never, status: { observedGeneration: 1, canary } });
    const plan = planEndpoint({ ...planInput(object, { endpoint: { ...readyEndpoint(), config } as never }), ...canaryPlanFields(after), desiredChanged: true });
    expect(plan.action).toEqual({ type: 'none' });
  });

  it('an aborted canary serves the old version alone at what the schedule asks for now, not at its throughput of the night', () => {
    const plan = planned(running({ phase: 'Aborted', message: 'aborted by the user' }), served({ '3': 100 }));
    expect(plan.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '3', min_provisioned_throughput: 3920, max_provisioned_throughput: 5880 }] } } });
  });
});

describe('status.pending during a step', () => {
  it('names the version that changes (the canary target) with its throughput, not the unchanged old version', () => {
    const split = { previous: { name: 'meta_llama_v3_1_8b_instruct-3', entityVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 }, name: 'meta_llama_v3_1_8b_instruct-4', share: 20 };
    const step20 = served({ '3': 80, '4': 20 });
    const rollingOut = {
      ...readyEndpoint(),
      state: { ready: 'READY', config_update: 'IN_PROGRESS', suspend: 'NOT_SUSPENDED' },
      config: served({ '3': 90, '4': 10 }),
      pending_config: { ...step20, served_entities: [servedEntity({ version: '3' }), servedEntity({ version: '4', min: 980, max: 1960 })], start_time: NOW.getTime() - 60 * SECOND },
    } as never;
    const object = endpointObject({ spec: { model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '4' }, throughput: { chunks: { min: 1, max: 2 } } }, status: { observedGeneration: 1 } });
    const plan = planEndpoint({ ...planInput(object, { endpoint: rollingOut }), split });
    expect(plan.status.pending).toMatchObject({ modelVersion: '4', minTokensPerSecond: 980, maxTokensPerSecond: 1960 });
    // status.served (the printer columns) still names what serves most of the traffic.
    expect(plan.status.served).toMatchObject({ modelVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 });
  });
});

describe('a capacity failure during a step', () => {
  it('keeps the previous step serving and retries the same split with backoff', () => {
    const split = { previous: { name: 'meta_llama_v3_1_8b_instruct-3', entityVersion: '3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 }, name: 'meta_llama_v3_1_8b_instruct-4', share: 50 };
    const step50 = served({ '3': 50, '4': 50 });
    const failed = {
      ...readyEndpoint(),
      state: { ready: 'READY', config_update: 'UPDATE_FAILED', suspend: 'NOT_SUSPENDED' },
      config: served({ '3': 90, '4': 10 }), // step 1 still serves
      pending_config: {
        ...step50,
        served_entities: step50.served_entities?.map((e) => ({ ...e, state: { deployment: 'DEPLOYMENT_ABORTED', deployment_state_message: CAPACITY_ABORT_MESSAGE } })),
        start_time: NOW.getTime() - 60 * SECOND,
      },
    } as never;
    const object = endpointObject({ spec: { model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '4' } }, status: { observedGeneration: 1 } });

    const first = planEndpoint({ ...planInput(object, { endpoint: failed }), split });
    expect(first.action).toEqual({ type: 'none' });
    expect(first.status.capacity?.attempts).toBe(1);
    expect(first.status.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('WaitingForCapacity');

    const retry = planEndpoint({ ...planInput({ ...object, status: first.status }, { endpoint: failed, now: new Date(Date.parse(first.status.capacity?.nextRetryTime ?? '')) }), split });
    expect(retry.action).toMatchObject({ type: 'updateConfig', request: { body: { traffic_config: { routes: [{ traffic_percentage: 50 }, { traffic_percentage: 50 }] } } } });
    // The canary itself does not move on while the step is not served.
    const decision = planCanary(input({ canary: running({ step: 2, share: 50 }), config: served({ '3': 90, '4': 10 }) }));
    expect(decision.status?.phase).toBe('Progressing');
    expect(decision.split?.share).toBe(50);
  });
});

describe('status.canary when the rollout of a step fails', () => {
  // Step 1 of version 4's canary (10 %) was sent; Databricks reports that rollout failed and version 3 still serves alone.
  const step1 = served({ '3': 90, '4': 10 });
  const failedStep = (deployment: string, message: string) =>
    ({
      ...readyEndpoint(),
      state: { ready: 'READY', config_update: 'UPDATE_FAILED', suspend: 'NOT_SUSPENDED' },
      config: served({ '3': 100 }),
      pending_config: { ...step1, served_entities: step1.served_entities?.map((e) => ({ ...e, state: { deployment, deployment_state_message: message } })), start_time: NOW.getTime() - 60 * SECOND },
    }) as never;
  const deploymentFailed = failedStep('DEPLOYMENT_FAILED', 'the model failed to load');
  const capacityFailed = failedStep('DEPLOYMENT_ABORTED', CAPACITY_ABORT_MESSAGE);
  const stepFailed = running({ phase: 'StepFailed', message: 'step 1 (10 % to version 4): the rollout failed' });
  const object = (canary: CanaryStatus, status: Partial<EndpointStatus> = {}, annotations: Record<string, string> = {}) => {
    const o = canaryObject('4', canary, annotations);
    return { ...o, status: { ...o.status, ...status } };
  };

  it.each([
    {
      name: 'a deployment failure: the step failed and waits for a spec change or requested-at',
      object: object(running({})),
      endpoint: deploymentFailed,
      phase: 'StepFailed',
      message: /^step 1 \(10 % to version 4\): the rollout failed: DEPLOYMENT_FAILED: the model failed to load\. .* set annotation ptoperator\.io\/requested-at to a new value to retry\.$/,
      action: 'none',
    },
    {
      name: 'a capacity failure: the step is retried like any rollout and says when',
      object: object(running({})),
      endpoint: capacityFailed,
      phase: 'Progressing',
      message: /^step 1 \(10 % to version 4\): GPU capacity unavailable \(attempt 1\): .* Next retry at /,
      action: 'none',
    },
    {
      name: 'a capacity failure past the retry budget: the step failed',
      object: object(running({}), { capacity: { attempts: 4, exhausted: true, firstFailureTime: iso(NOW) } }),
      endpoint: capacityFailed,
      phase: 'StepFailed',
      message: /^step 1 \(10 % to version 4\): GPU capacity stayed unavailable through 4 attempt\(s\)/,
      action: 'none',
    },
    {
      name: 'a failed step looked at again stays failed and sends nothing',
      object: object(stepFailed),
      endpoint: deploymentFailed,
      phase: 'StepFailed',
      message: /^step 1 \(10 % to version 4\): the rollout failed: DEPLOYMENT_FAILED/,
      action: 'none',
    },
    {
      name: 'a failed step retried with requested-at rolls out again',
      object: object(stepFailed, {}, { 'ptoperator.io/requested-at': 'retry-1' }),
      endpoint: deploymentFailed,
      phase: 'Progressing',
      message: /^rolling out step 1: 10 % of the traffic to version 4$/,
      action: 'updateConfig',
    },
    {
      name: 'a failed step that serves after all pauses as any step',
      object: object(stepFailed),
      endpoint: { ...readyEndpoint(), config: step1 },
      phase: 'Paused',
      message: /^step 1 \(10 %\) serves; pausing until /,
      action: 'none',
    },
    {
      name: 'a failed step aborted by the user is Aborted: the old version already serves alone, so nothing is sent',
      object: object(stepFailed, {}, { 'ptoperator.io/canary': 'abort' }),
      endpoint: deploymentFailed,
      phase: 'Aborted',
      message: /^aborted by the user: all traffic back to version 3$/,
      action: 'none',
    },
  ])('$name', ({ object, endpoint, phase, message, action }) => {
    const plan = reconcileCanary(object, endpoint);
    expect(plan.action.type).toBe(action);
    expect(plan.status.canary).toMatchObject({ phase, step: 1, share: 10 });
    expect(plan.status.canary?.message).toMatch(message);
  });

  it('a failed step promoted by the user sends the new version alone', () => {
    const plan = reconcileCanary(object(stepFailed, {}, { 'ptoperator.io/canary': 'promote' }), deploymentFailed);
    expect(plan.action.type).toBe('updateConfig');
    expect(plan.status.canary).toMatchObject({ phase: 'Promoting', share: 100 });
  });
});

// An abort sends the old version alone (the rollback). When Databricks fails that rollout, the split keeps serving:
// status.canary must not go on saying "all traffic back to version 3", and the conditions must say that the rollback
// failed and how to retry it (Stalled, Argo CD Degraded), not advise a served config the user cannot set.
describe('the rollback of an aborted canary fails', () => {
  const split = served({ '3': 90, '4': 10 });
  const rollback = served({ '3': 100 });
  const rollbackFailed = (deployment: string, message: string) =>
    ({
      ...readyEndpoint(),
      state: { ready: 'READY', config_update: 'UPDATE_FAILED', suspend: 'NOT_SUSPENDED' },
      config: split,
      pending_config: { ...rollback, served_entities: rollback.served_entities?.map((e) => ({ ...e, state: { deployment, deployment_state_message: message } })), start_time: NOW.getTime() - 60 * SECOND },
    }) as never;
  const ABORTED = 'aborted by the user: all traffic back to version 3';
  const aborted = (canary: Partial<CanaryStatus> = {}, status: Partial<EndpointStatus> = {}, annotations: Record<string, string> = { 'ptoperator.io/canary': 'abort' }) => {
    const o = canaryObject('4', running({ phase: 'Aborted', message: ABORTED, ...canary }), annotations);
    return { ...o, status: { ...o.status, ...status } };
  };

  it.each([
    { name: 'a deployment failure', endpoint: rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'), status: {}, reason: 'UpdateFailed', failure: /DEPLOYMENT_FAILED: the container failed to start/ },
    { name: 'the capacity budget spent', endpoint: rollbackFailed('DEPLOYMENT_ABORTED', CAPACITY_ABORT_MESSAGE), status: { capacity: { attempts: 4, exhausted: true, firstFailureTime: iso(NOW) } }, reason: 'CapacityRetriesExhausted', failure: /GPU capacity stayed unavailable through 4 attempt/ },
  ])('$name: status.canary is RollbackFailed, Synced says the rollback failed and how to retry it', ({ endpoint, status, reason, failure }) => {
    const plan = reconcileCanary(aborted({}, status), endpoint);
    expect(plan.action).toEqual({ type: 'none' });
    expect(plan.status.canary).toMatchObject({ phase: 'RollbackFailed', versions: [{ version: '3', share: 90 }, { version: '4', share: 10 }] });
    expect(plan.status.canary?.message).toMatch(/^aborted by the user: all traffic back to version 3; the rollback to version 3 alone failed: /);
    expect(conditions(plan)).toEqual({ Ready: `False ${reason}`, Synced: `False ${reason}`, Stalled: `True ${reason}` });
    const synced = condition(plan, 'Synced')?.message;
    expect(synced).toMatch(/^the rollback to version 3 alone \(the canary of version 4 was aborted\) failed: /);
    expect(synced).toMatch(failure);
    expect(synced).toMatch(/version 3 at 1960-2940 tokens\/s \(90 %\) and version 4 at 1960-2940 tokens\/s \(10 %\) still serves/);
    expect(synced).toMatch(/set annotation ptoperator\.io\/requested-at to a new value to retry the rollback/);
    expect(synced).not.toMatch(/served config/);
  });

  it('a rollback retried for GPU capacity: Synced does not claim the old version serves alone', () => {
    const plan = reconcileCanary(aborted(), rollbackFailed('DEPLOYMENT_ABORTED', CAPACITY_ABORT_MESSAGE));
    expect(conditions(plan)).toMatchObject({ Ready: 'False WaitingForCapacity', Synced: 'False CanaryAborted' });
    expect(condition(plan, 'Synced')?.message).not.toMatch(/Version 3 keeps serving/);
    expect(condition(plan, 'Synced')?.message).toMatch(/Version 3 serves alone once the rollback lands/);
    expect(plan.status.canary).toMatchObject({ phase: 'Aborted', message: ABORTED });
  });

  it('Databricks refuses the rollback (400): RollbackFailed too, Synced names the rollback, and the refusal is not sent again', () => {
    const object = aborted();
    const endpoint = { ...readyEndpoint(), config: split } as never;
    const observed = planInput(object, { endpoint }).endpoint;
    const decision = decideCanary(object, observed, true, NOW);
    const input = { ...planInput({ ...object, spec: decision.spec }, { endpoint }), desiredChanged: decision.changed, ...canaryPlanFields(decision) };
    const planned = planEndpoint(input);
    expect(planned.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '3' }] } } });
    const refused = planActionFailure(input, planned, { kind: 'InvalidRequest', message: 'INVALID_PARAMETER_VALUE: version 3 of the model is archived' });
    const plan = withCanary(refused, object.status, decision, canaryKept(false, observed, refused), NOW);
    expect(plan.status.canary?.phase).toBe('RollbackFailed');
    expect(plan.status.canary?.message).toMatch(/^aborted by the user: all traffic back to version 3; the rollback to version 3 alone failed: Databricks rejected the request: /);
    expect(conditions(plan)).toEqual({ Ready: 'False InvalidSpec', Synced: 'False InvalidSpec', Stalled: 'True InvalidSpec' });
    expect(condition(plan, 'Synced')?.message).toMatch(/^the rollback to version 3 alone \(the canary of version 4 was aborted\) failed: Databricks rejected the request: .*archived.*set annotation ptoperator\.io\/requested-at to a new value to retry the rollback/);
    const again = reconcileCanary({ ...object, status: plan.status }, endpoint);
    expect(again.action).toEqual({ type: 'none' });
    expect(again.status.canary?.phase).toBe('RollbackFailed');
  });

  // CanaryAborted tells the user to set model.version back to "3". Done after the rollback failed, the spec now asks
  // for version 3 alone, which the split does not serve: that is a new served config, to be sent, not a tag-only edit.
  it('model.version set back to the old version after the rollback failed sends version 3 alone again', () => {
    const failedOnce = reconcileCanary(aborted(), rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'));
    expect(failedOnce.status.canary?.phase).toBe('RollbackFailed');
    const base = aborted();
    const back = { ...base, generation: base.generation + 1, spec: { ...base.spec, model: { ...base.spec.model, version: '3' } }, annotations: {}, status: failedOnce.status };
    const plan = reconcileCanary(back, rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'));
    expect(plan.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '3' }] } } });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    // A tag edit of the aborted spec is still no new attempt at the rollback.
    const tagged = { ...base, generation: base.generation + 1, spec: { ...base.spec, tags: { team: 'genai' } }, status: failedOnce.status };
    const tagOnly = reconcileCanary(tagged, rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'));
    expect(tagOnly.action.type).not.toBe('updateConfig');
    expect(tagOnly.status.canary?.phase).toBe('RollbackFailed');
  });

  it('requested-at retries the rollback; once it lands the canary is Aborted with its own reason again', () => {
    const failedOnce = reconcileCanary(aborted(), rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'));
    const object = { ...aborted(), status: failedOnce.status, annotations: { 'ptoperator.io/canary': 'abort', 'ptoperator.io/requested-at': 'retry-1' } };
    const retried = reconcileCanary(object, rollbackFailed('DEPLOYMENT_FAILED', 'the container failed to start'));
    expect(retried.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ entity_version: '3' }] } } });
    expect(retried.status.canary).toMatchObject({ phase: 'Aborted', message: ABORTED });
    const landed = reconcileCanary({ ...object, status: { ...retried.status, lastHandledRequestedAt: 'retry-1' } }, readyEndpoint({ version: '3' }));
    expect(landed.status.canary).toMatchObject({ phase: 'Aborted', message: ABORTED });
    expect(conditions(landed)).toEqual({ Ready: 'False CanaryAborted', Synced: 'False CanaryAborted', Stalled: 'True CanaryAborted' });
    expect(condition(landed, 'Synced')?.message).toMatch(/Version 3 keeps serving/);
  });
});
