// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import { observationsNeeded } from '../../../../src/controllers/endpoint/plan.js';
import { MODEL_UNIT_MODEL, NOT_FOUND, NOT_OPTIMIZABLE_MODEL, SETTINGS, TOKEN_BAND_MODEL, condition, edited, endpointObject, readyEndpoint, reconcile, type SpecInput } from '../fixtures.js';
import { edgeObjects } from '../../../fixtures/bad-objects.js';
import { settledObject } from './plan-fixtures.js';

describe('observationsNeeded', () => {
  it.each([
    ['a live object', {}, true, { endpoint: true, model: true }],
    ['the workspace not ready', {}, false, { endpoint: false, model: false }],
    ['paused', { annotations: { [EndpointAnnotation.paused]: 'true' } }, true, { endpoint: false, model: false }],
    ['deleting with Delete', { deleting: true }, true, { endpoint: true, model: false }],
    ['deleting with Delete, workspace not ready', { deleting: true }, false, { endpoint: false, model: false }],
    ['deleting with Orphan', { deleting: true, spec: { deletionPolicy: 'Orphan' as const } }, true, { endpoint: false, model: false }],
    ['deleting without our finalizer', { deleting: true, hasFinalizer: false }, true, { endpoint: false, model: false }],
  ])('%s', (_, options, workspaceReady, expected) => {
    expect(observationsNeeded(endpointObject(options), workspaceReady)).toEqual(expected);
  });
});

describe('preflight failures: no Databricks action, Ready False, Synced False with how to fix it', () => {
  it.each([
    ['model missing', 'ModelNotFound', {}, NOT_FOUND, /was not found in Unity Catalog.*MLflow 2\.11/, { after: SETTINGS.pollIntervalMs }],
    ['model not optimizable', 'ModelNotOptimizable', {}, NOT_OPTIMIZABLE_MODEL, /MLflow 2\.11.*llm\/v1\/chat.*BGE.*model_type.*Marketplace/, { after: SETTINGS.pollIntervalMs }],
    ['tokensPerSecond not a chunk multiple', 'InvalidSpec', { throughput: { tokensPerSecond: { min: 1000, max: 2940 } } }, TOKEN_BAND_MODEL, /tokensPerSecond\.min 1000 .* 980 or 1960/, undefined],
    ['modelUnits on a token-band model', 'InvalidSpec', { throughput: { modelUnits: 50 } }, TOKEN_BAND_MODEL, /not in model units/, undefined],
    ['chunks on a model-unit model', 'InvalidSpec', {}, MODEL_UNIT_MODEL, /use throughput\.modelUnits/, undefined],
    ['maxBackoff below initialBackoff', 'InvalidSpec', { capacityRetry: { initialBackoff: '10m', maxBackoff: '5m' } }, TOKEN_BAND_MODEL, /maxBackoff \(5m\)/, undefined],
  ] as const)('%s → %s', (_, reason, spec, model, message, requeue) => {
    for (const endpoint of [NOT_FOUND, readyEndpoint()]) {
      const plan = reconcile(endpointObject({ spec }), { model, endpoint });
      expect(plan.action).toEqual({ type: 'none' });
      expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason, message: expect.stringMatching(message) });
      // The wide REASON column (Ready's reason) names the cause, not a generic NotReady.
      expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason });
      // An endpoint of this object is still looked at (at the poll interval; see the table below); without one,
      // only a model that may appear later is.
      expect(plan.requeue).toEqual(endpoint === NOT_FOUND ? requeue : { after: SETTINGS.pollIntervalMs });
      expect(plan.events).toEqual([expect.objectContaining({ type: 'Warning', reason })]);
    }
  });

  it('says what Databricks still serves when a spec change cannot be applied', () => {
    const object = edited(settledObject(), { throughput: { tokensPerSecond: { min: 1960, max: 3000 } } });
    const plan = reconcile(object, { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({ type: 'none' });
    // Two sentences: the refusal (its advice ends without a full stop), then what serves.
    expect(condition(plan, 'Ready')?.message).toMatch(/or throughput\.chunks\. Databricks still serves version 3 at 1960-2940 tokens\/s\.$/);
    expect(condition(plan, 'Synced')?.message).toContain('2940 or 3920');
  });

  it('records what Databricks reported for the model', () => {
    expect(reconcile(endpointObject(), { model: MODEL_UNIT_MODEL }).status.optimization).toEqual({ modelType: 'llama', modelUnitChunkSize: 50 });
    expect(reconcile(endpointObject()).status.optimization).toEqual({ modelType: 'llama', chunkSize: 980 });
  });
});

// Admission (CEL) and this second look must agree: a value kube-apiserver admits is not refused here.
describe('edge values admission takes are applied, not refused as InvalidSpec', () => {
  it.each(edgeObjects.filter(({ object }) => object['kind'] === 'ProvisionedThroughputEndpoint'))('$name', ({ object }) => {
    const spec = object['spec'] as SpecInput;
    const plan = reconcile(endpointObject({ spec }), { endpoint: NOT_FOUND, model: spec.throughput?.modelUnits === undefined ? TOKEN_BAND_MODEL : MODEL_UNIT_MODEL });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True' });
    expect(plan.action.type).toBe('create');
  });
});
