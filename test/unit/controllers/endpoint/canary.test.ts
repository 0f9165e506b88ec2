// The canary planner as tables: start, each step rolling out and pausing, advance, promote, hold,
// abort by the user and by the gate; the request bodies of a split; the gate's metric reading.
import { describe, expect, it } from 'vitest';
import { type CanaryStatus, planCanary, withCanary } from '../../../../src/controllers/endpoint/canary.js';
import { gateNeeded, gateValues, parseSamples } from '../../../../src/controllers/endpoint/canary-gate.js';
import { entityNameFor, observeConfig } from '../../../../src/controllers/endpoint/desired.js';
import { NOW, SECOND, at, endpointSpec, iso } from '../fixtures.js';
import { CANARY, spec, served, running, input } from './canary-fixtures.js';

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

  // A Unity Catalog name may hold what a served entity name may not (`+`, letters beyond ASCII): the new version's
  // entity, which the canary names itself, was refused by Databricks (letters, digits, - and _ only), and the canary stalled.
  it("the served entity a canary names keeps to Databricks' rule for entity names, whatever the model's name holds", () => {
    expect(entityNameFor('system.ai.meta_llama_v3_1_8b_instruct', '4')).toBe('meta_llama_v3_1_8b_instruct-4');
    for (const model of ['main.ft.llama+chat', 'main.ft.modèle-fin', 'main.ft.chat@v2']) expect(entityNameFor(model, '4')).toMatch(/^[A-Za-z0-9_-]+-4$/);
    const config = served({ '3': 100 });
    config.served_entities = config.served_entities?.map((e) => ({ ...e, entity_name: 'main.ft.llama+chat', name: 'llama_chat-3' }));
    const decision = planCanary(input({ spec: { ...spec(), model: { name: 'main.ft.llama+chat', version: '4' } }, config }));
    expect(decision.split?.name).toBe('llama_chat-4');
  });

  it('the model written in other letter case (Unity Catalog names are case-insensitive) is the same model: the canary runs', () => {
    const decision = planCanary(input({ spec: { ...spec(), model: { name: 'System.AI.Meta_Llama_V3_1_8B_Instruct', version: '4' } } }));
    expect(decision.changed).toBe(true);
    expect(decision.status).toMatchObject({ phase: 'Progressing', fromVersion: '3', toVersion: '4', share: 10 });
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
    expect(decision.split).toBeUndefined();
    expect(decision.spec.model.version).toBe('3');
    // status.canary stays until version 3 serves alone, so a look meanwhile knows which split serves; then it goes.
    expect(decision.status).toMatchObject({ phase: 'Aborted', fromVersion: '3', toVersion: '4', message: 'model.version was set back to 3: version 3 serves alone once that rollout lands, which ends this canary of version 4' });
    expect(planCanary(input({ spec: spec('3'), canary: decision.status, config: served({ '3': 100 }) })).status).toBeUndefined();
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

  // The annotation wins over spec.canary.action. A spec.canary.action: Abort (an incident fix through Git) under an
  // annotation hold left set held the step, with the new version serving its share, and status said only "held at step
  // 1 by the user": nothing said the abort asked for was not in force, nor what keeps it from acting.
  it.each([
    { annotation: 'hold', action: 'Abort', phase: 'Holding' },
    { annotation: 'promote', action: 'Hold', phase: 'Promoting' },
  ] as const)('annotation $annotation over spec.canary.action $action: status.canary says the spec control is not in force, and why', ({ annotation, action, phase }) => {
    const paused = running({ phase: 'Paused', stepReachedTime: iso(NOW) });
    const decision = planCanary(input({ spec: spec('4', { ...CANARY, action }), annotations: { 'ptoperator.io/canary': annotation }, canary: paused, config: served({ '3': 90, '4': 10 }) }));
    expect(decision.status?.phase).toBe(phase);
    expect(decision.status?.message).toContain(`spec.canary.action: ${action} is not in force: annotation ptoperator.io/canary=${annotation} wins over it`);
  });

  it('said once: the next look writes the same message', () => {
    const paused = running({ phase: 'Paused', stepReachedTime: iso(NOW) });
    const look = (canary: CanaryStatus) => planCanary(input({ spec: spec('4', { ...CANARY, action: 'Abort' }), annotations: { 'ptoperator.io/canary': 'hold' }, canary, config: served({ '3': 90, '4': 10 }) })).status as CanaryStatus;
    const first = look(paused);
    expect(look(first).message).toBe(first.message);
  });

  it('the annotation and spec.canary.action asking for the same: nothing more is said', () => {
    const paused = running({ phase: 'Paused', stepReachedTime: iso(NOW) });
    const decision = planCanary(input({ spec: spec('4', { ...CANARY, action: 'Hold' }), annotations: { 'ptoperator.io/canary': 'hold' }, canary: paused, config: served({ '3': 90, '4': 10 }) }));
    expect(decision.status?.message).not.toContain('not in force');
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

    it('the abort while both versions still serve (its rollback failed): version 5 gets no traffic, version 3 serves alone', () => {
      // Version 5 used to replace the split at once, 100 % with the abort control set.
      const rollbackFailed = running({ phase: 'RollbackFailed', message: 'aborted by the user: all traffic back to version 3; the rollback to version 3 alone failed: build failed' });
      const decision = planCanary(input({ spec: spec5(), annotations: { 'ptoperator.io/canary': 'abort' }, canary: rollbackFailed, config: served({ '3': 90, '4': 10 }) }));
      expect(decision.split).toBeUndefined();
      expect(decision.spec.model.version).toBe('3');
      expect(decision.status).toMatchObject({ phase: 'Aborted', fromVersion: '3', toVersion: '5', step: 0, share: 0 });
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

    // The metrics come from the workspace host, which a tenant may run itself (a DatabricksWorkspace pointed at its
    // own server), and are read on the operator's one thread. A label scan that restarted at every character took
    // time quadratic in a line's length: 40 KB of labels held that thread 2 s, 8 MiB about a day, and no namespace's
    // object was reconciled meanwhile (nor the probes answered, nor the Lease renewed).
    it.each([
      ['a label name that never ends', `m{${'a'.repeat(128 * 1024)}} 1`],
      ['a label value that never ends', `m{a="${'x'.repeat(128 * 1024)}} 1`],
    ])('a hostile host\'s metrics are read in time linear in their length: %s', (_name, line) => {
      const entity = 'meta_llama_v3_1_8b_instruct-4';
      const good = [`request_5xx_count_total{served_entity_name="${entity}"} 1`, `request_count_total{served_entity_name="${entity}"} 50`];
      const text = [line, ...good, line].join('\n');
      const started = performance.now();
      const reading = gateValues(text, gated);
      expect(performance.now() - started).toBeLessThan(500);
      // The malformed lines are skipped; the samples beside them still count.
      expect(reading).toEqual({ ok: true, values: [0.02] });
    });

    // Every sample line used to become an object before any was looked at: 8 MiB of "m 1" lines, 2 million samples,
    // held 350 MiB of the operator's heap at once for one read (44 times the answer, past the bound the transport
    // keeps on answers), and took 3 s of its one thread. The gate needs only the sums of the metrics it names.
    it("a hostile host's metrics of millions of samples cost the gate only the samples it reads", () => {
      const entity = 'meta_llama_v3_1_8b_instruct-4';
      const text = `request_5xx_count_total{served_entity_name="${entity}"} 1\nrequest_count_total{served_entity_name="${entity}"} 50\n${'m 1\n'.repeat(2 * 1024 * 1024)}`;
      const started = performance.now();
      expect(gateValues(text, gated)).toEqual({ ok: true, values: [0.02] });
      expect(performance.now() - started).toBeLessThan(1_000);
    });

    it('reads the label forms of the text format: a space after a comma, a trailing comma, escapes (an escaped backslash before n is no line break)', () => {
      expect(parseSamples('x{a="1", b="2",} 3')).toEqual([{ name: 'x', labels: { a: '1', b: '2' }, value: 3 }]);
      expect(parseSamples('x{a="line\\nbreak \\\\n \\"q\\" }"} 3')).toEqual([{ name: 'x', labels: { a: 'line\nbreak \\n "q" }' }, value: 3 }]);
      expect(parseSamples('x{} 3')).toEqual([{ name: 'x', labels: {}, value: 3 }]);
    });
  });
});

// status.canary.versions lists what Databricks serves, which a host chooses (a tenant's DatabricksWorkspace pointed at a
// server it runs): an answer of 8 MiB holds some 150,000 served entities. Databricks serves at most 15 per endpoint.
describe('status.canary.versions is bounded whatever a host serves', () => {
  const thousands: Record<string, number> = { '3': 90, '4': 10 };
  for (let i = 0; i < 20_000; i++) thousands[`${1000 + i}`] = 0;
  it.each([
    ['a running canary', () => input({ canary: running({ phase: 'Paused', stepReachedTime: iso(NOW) }), config: served(thousands) })],
    ['a canary that succeeded', () => input({ canary: running({ phase: 'Succeeded', step: 2, share: 100 }), config: served(thousands) })],
    ['a swap back', () => input({ spec: spec('3'), canary: running({ phase: 'Paused' }), config: served(thousands) })],
  ])('%s: at most 15 versions, in the order Databricks lists them', (_, made) => {
    const status = planCanary(made()).status;
    expect(status?.versions?.length).toBeLessThanOrEqual(15);
    expect(status?.versions?.slice(0, 2).map((v) => v.version)).toEqual(['3', '4']);
  });
});
