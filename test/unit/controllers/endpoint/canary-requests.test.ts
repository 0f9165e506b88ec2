// The canary planner as tables: start, each step rolling out and pausing, advance, promote, hold,
// abort by the user and by the gate; the request bodies of a split; the gate's metric reading.
import { describe, expect, it } from 'vitest';
import { type CanaryStatus, canaryPlanFields, planCanary } from '../../../../src/controllers/endpoint/canary.js';
import { type DesiredServing, diffServing, observeConfig, updateRequest } from '../../../../src/controllers/endpoint/desired.js';
import type { EndpointCoreConfigOutput } from '../../../../src/databricks/api-types.js';
import { planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import { NOW, endpointObject, endpointSpec, iso, planInput, readyEndpoint, servedEntity } from '../fixtures.js';
import { CANARY, served, running, input } from './canary-fixtures.js';

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
      api: 'config',
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
    expect(units.api === 'ptConfig' && units.body.config.traffic_config?.routes.map((r) => r.traffic_percentage)).toEqual([90, 10]);
  });

  // Power-user review (session 14): the old version's entity went without burst_scaling_enabled, so during a canary it
  // got Databricks' default (burst scaling on) although the spec turned it off: capacity, and cost, nobody asked for.
  it("a model-unit canary sends the spec's burst scaling for both versions, the old one included", () => {
    const units = updateRequest('gpt', { ...desired, flavour: 'modelUnits', modelUnits: 100, burstScaling: false, split: { ...desired.split!, previous: { name: 'a-3', entityVersion: '3', modelUnits: 50 } } });
    expect(units.api === 'ptConfig' && units.body.config.served_entities.map((e) => e.burst_scaling_enabled)).toEqual([false, false]);
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
