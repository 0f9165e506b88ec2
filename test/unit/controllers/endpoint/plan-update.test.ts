// The decision table of docs/architecture ("The reconcile decisions"), row by row.
import { describe, expect, it } from 'vitest';
import { MODEL, MODEL_UNIT_MODEL, NOW, condition, edited, endpointObject, iso, readyEndpoint, reconcile } from '../fixtures.js';
import { firstLookWindow, requeueAfter, eventReasons, settledObject } from './plan-fixtures.js';

describe('config differs → updateConfig', () => {
  it.each([
    ['a new version', { model: { name: MODEL, version: '4' } }, 'version 3 → 4'],
    ['a new band', { throughput: { chunks: { min: 1, max: 4 } } }, 'throughput 1960-2940 → 980-3920 tokens/s'],
  ])('spec change (%s) → updateConfig, Ready False Updating while the old config serves, no drift event', (_, spec, what) => {
    const object = edited(settledObject(), spec);
    const plan = reconcile(object, { endpoint: readyEndpoint() });
    expect(plan.action).toMatchObject({ type: 'updateConfig', request: { api: 'config', name: 'llama-chat' } });
    expect(condition(plan, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Updating',
      message: `updating: ${what}; version 3 at 1960-2940 tokens/s still serves`,
    });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True', reason: 'ReconcileSuccess' });
    expect(eventReasons(plan)).toContain('Normal UpdatingConfig');
    expect(eventReasons(plan)).not.toContain('Warning DriftDetected');
    const after = requeueAfter(plan);
    expect(after).toBeGreaterThanOrEqual(firstLookWindow[0]);
    expect(after).toBeLessThanOrEqual(firstLookWindow[1]);
  });

  it('the update body is the whole desired config (the PUT replaces, it does not patch)', () => {
    const plan = reconcile(edited(settledObject(), { model: { name: MODEL, version: '4' } }), { endpoint: readyEndpoint() });
    expect(plan.action).toEqual({
      type: 'updateConfig',
      request: {
        api: 'config',
        name: 'llama-chat',
        body: { served_entities: [{ entity_name: MODEL, entity_version: '4', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] },
      },
    });
    expect(plan.status.pending).toMatchObject({ modelVersion: '4', startTime: iso(NOW) });
  });

  // An endpoint made outside the operator (Terraform's examples set name = "prod_model", and may set environment_vars):
  // the PUT replaces the served entities, so leaving out what the spec does not manage renamed the entity (its route
  // and its /served-models/<name> URL) and dropped its environment variables on the first change after adoption.
  describe('what the spec does not manage on the served entity is kept', () => {
    const custom = (version = '3') => {
      const endpoint = readyEndpoint({ version });
      const entity = endpoint.config?.served_entities?.[0];
      if (!entity) throw new Error('fixture has an entity');
      entity.name = 'prod_model';
      entity.environment_vars = { OPENAI_KEY: '{{secrets/scope/key}}' };
      entity.instance_profile_arn = 'arn:aws:iam::123456789012:instance-profile/genai-serving';
      if (endpoint.config?.traffic_config) endpoint.config.traffic_config = { routes: [{ served_entity_name: 'prod_model', traffic_percentage: 100 }] };
      return endpoint;
    };
    it.each([
      ['a new band', { throughput: { chunks: { min: 1, max: 4 } } }, '3', 980, 3920],
      ['a new version', { model: { name: MODEL, version: '4' } }, '4', 1960, 2940],
    ])('%s: the name, the environment variables and the instance profile go with the update', (_, spec, version, min, max) => {
      const plan = reconcile(edited(settledObject(), spec), { endpoint: custom() });
      expect(plan.action).toEqual({
        type: 'updateConfig',
        request: {
          api: 'config',
          name: 'llama-chat',
          body: {
            served_entities: [
              { name: 'prod_model', entity_name: MODEL, entity_version: version, min_provisioned_throughput: min, max_provisioned_throughput: max, environment_vars: { OPENAI_KEY: '{{secrets/scope/key}}' }, instance_profile_arn: 'arn:aws:iam::123456789012:instance-profile/genai-serving' },
            ],
          },
        },
      });
    });

    it("a name in Databricks' default form (model-version) is not kept: the new version gets its own", () => {
      const plan = reconcile(edited(settledObject(), { model: { name: MODEL, version: '4' } }), { endpoint: readyEndpoint() });
      expect(plan.action).toMatchObject({ request: { body: { served_entities: [expect.not.objectContaining({ name: expect.anything() })] } } });
    });
  });

  it('a model-unit change goes through the /pt flavour', () => {
    const object = endpointObject({ spec: { throughput: { modelUnits: 150 } } });
    const plan = reconcile(object, { endpoint: readyEndpoint({ units: 100 }), model: MODEL_UNIT_MODEL });
    expect(plan.action).toEqual({
      type: 'updateConfig',
      request: {
        api: 'ptConfig',
        name: 'llama-chat',
        body: { config: { served_entities: [{ entity_name: MODEL, entity_version: '3', provisioned_model_units: 150, burst_scaling_enabled: true }] } },
      },
    });
  });

  it.each([
    ['version changed out of band', readyEndpoint({ version: '2' }), 'version 2 → 3'],
    ['band changed out of band', readyEndpoint({ min: 980, max: 980 }), 'throughput 980-980 → 1960-2940 tokens/s'],
  ])('drift (%s, same generation) → updateConfig and a DriftDetected Warning', (_, endpoint, what) => {
    const plan = reconcile(settledObject(), { endpoint });
    expect(plan.action.type).toBe('updateConfig');
    expect(plan.events).toContainEqual({ type: 'Warning', reason: 'DriftDetected', message: expect.stringContaining(what) });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'False', reason: 'Updating' });
  });
});
