// Databricks changes a model's chunk size over time (reference §8: llama 3.1 8B went from 970/980 to 19000).
// A settled endpoint that serves its spec stays as it is and Ready; only a new spec or requested-at reads the
// spec with the new chunk size.
import { describe, expect, it } from 'vitest';
import { EndpointAnnotation } from '../../../../src/api/v1alpha1/index.js';
import type { Plan } from '../../../../src/controllers/endpoint/plan.js';
import {
  MODEL_UNIT_MODEL,
  TOKEN_BAND_MODEL,
  type SpecInput,
  afterPlan,
  annotated,
  condition,
  edited,
  endpointObject,
  readyEndpoint,
  reconcile,
  updatingEndpoint,
  type ServingOptions,
} from '../fixtures.js';

const warnings = (plan: Pick<Plan, 'events'>) => plan.events.filter((e) => e.type === 'Warning');
const BIGGER_CHUNK = { ...TOKEN_BAND_MODEL, throughput_chunk_size: 1960 };
const BIGGER_UNIT = { ...MODEL_UNIT_MODEL, model_unit_chunk_size: 100 };

/** The object after it was applied and settled at the model's first chunk size. */
function settled(spec: SpecInput, served: ServingOptions, model = TOKEN_BAND_MODEL) {
  const object = endpointObject({ spec });
  const plan = reconcile(object, { endpoint: readyEndpoint(served), model });
  expect(plan.action).toEqual({ type: 'none' });
  expect(condition(plan, 'Ready')?.status).toBe('True');
  return afterPlan(object, plan);
}

describe('the model chunk size changes under a settled endpoint: nothing changes in Databricks, the endpoint stays Ready', () => {
  const cases: { name: string; spec: SpecInput; served: ServingOptions; before: typeof TOKEN_BAND_MODEL; after: typeof TOKEN_BAND_MODEL; next: string }[] = [
    {
      name: 'chunks 1-2 served at 980-1960',
      spec: { throughput: { chunks: { min: 1, max: 2 } } },
      served: { min: 980, max: 1960 },
      before: TOKEN_BAND_MODEL,
      after: BIGGER_CHUNK,
      next: 'this spec would then provision version 3 at 1960-3920 tokens/s',
    },
    {
      name: 'tokensPerSecond 980-1960',
      spec: { throughput: { tokensPerSecond: { min: 980, max: 1960 } } },
      served: { min: 980, max: 1960 },
      before: TOKEN_BAND_MODEL,
      after: BIGGER_CHUNK,
      next: 'throughput.tokensPerSecond.min 980 is not a multiple of the model\'s chunk size 1960 tokens/s',
    },
    {
      // The window is read in the applied chunk size too: it is InvalidSpec only once a new spec or its opening asks.
      name: 'chunks 1-2 with a schedule window at 980-2940 tokens/s',
      spec: {
        throughput: { chunks: { min: 1, max: 2 } },
        schedule: { windows: [{ name: 'peak', start: '0 3 * * *', end: '0 4 * * *', throughput: { tokensPerSecond: { min: 980, max: 2940 } } }] },
      },
      served: { min: 980, max: 1960 },
      before: TOKEN_BAND_MODEL,
      after: BIGGER_CHUNK,
      next: 'this spec would then provision version 3 at 1960-3920 tokens/s',
    },
    {
      name: 'modelUnits 50',
      spec: { throughput: { modelUnits: 50 } },
      served: { units: 50 },
      before: MODEL_UNIT_MODEL,
      after: BIGGER_UNIT,
      next: 'throughput.modelUnits 50 is not a multiple of the model\'s model-unit chunk size 100',
    },
  ];

  it.each(cases)('$name: no action, Ready and Synced True, one ChunkSizeChanged Warning saying what the next spec change must use', ({ spec, served, before, after, next }) => {
    const object = settled(spec, served, before);
    const plan = reconcile(object, { endpoint: readyEndpoint(served), model: after });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Ready')).toMatchObject({ status: 'True', reason: 'Available' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'True' });
    expect(plan.status.conditions?.find((c) => c.type === 'Stalled')).toBeUndefined();
    expect(warnings(plan)).toHaveLength(1);
    expect(warnings(plan)[0]).toMatchObject({ reason: 'ChunkSizeChanged' });
    expect(warnings(plan)[0]?.message).toContain(next);

    // The next poll: still nothing to do, and the Warning is not repeated.
    const again = reconcile(afterPlan(object, plan), { endpoint: readyEndpoint(served), model: after });
    expect(again.action).toEqual({ type: 'none' });
    expect(again.events).toEqual([]);
    expect(condition(again, 'Ready')?.status).toBe('True');
  });

  it('the status tells both chunk sizes: the one Databricks reports now and the one the spec was applied with', () => {
    const object = settled({ throughput: { chunks: { min: 1, max: 2 } } }, { min: 980, max: 1960 });
    const plan = reconcile(object, { endpoint: readyEndpoint({ min: 980, max: 1960 }), model: BIGGER_CHUNK });
    expect(plan.status.optimization).toEqual({ modelType: 'llama', chunkSize: 1960, appliedChunkSize: 980 });
  });

  it('a rollout the operator asked for at the old chunk size finishes as asked', () => {
    const object = settled({ throughput: { chunks: { min: 2, max: 3 } } }, {});
    const requested = edited(object, { throughput: { chunks: { min: 1, max: 2 } } });
    const update = reconcile(requested, { endpoint: readyEndpoint() });
    expect(update.action.type).toBe('updateConfig');
    const rolling = reconcile(afterPlan(requested, update), { endpoint: updatingEndpoint({}, { min: 980, max: 1960 }), model: BIGGER_CHUNK });
    expect(rolling.action).toEqual({ type: 'none' });
    expect(condition(rolling, 'Synced')?.status).toBe('True');
    const landed = reconcile(afterPlan(requested, rolling), { endpoint: readyEndpoint({ min: 980, max: 1960 }), model: BIGGER_CHUNK });
    expect(landed.action).toEqual({ type: 'none' });
    expect(condition(landed, 'Ready')?.status).toBe('True');
  });
});

describe('a new spec or requested-at reads the spec with the new chunk size', () => {
  it('a spec edit in chunks is sent in the new chunk size', () => {
    const object = settled({ throughput: { chunks: { min: 1, max: 2 } } }, { min: 980, max: 1960 });
    const warned = afterPlan(object, reconcile(object, { endpoint: readyEndpoint({ min: 980, max: 1960 }), model: BIGGER_CHUNK }));
    const plan = reconcile(edited(warned, { throughput: { chunks: { min: 1, max: 3 } } }), { endpoint: readyEndpoint({ min: 980, max: 1960 }), model: BIGGER_CHUNK });
    expect(plan.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ min_provisioned_throughput: 1960, max_provisioned_throughput: 5880 }] } } });
    expect(plan.status.optimization).toEqual({ modelType: 'llama', chunkSize: 1960 });
  });

  it('a spec edit in tokens per second that is no multiple of the new chunk size is InvalidSpec, naming it', () => {
    const object = settled({ throughput: { tokensPerSecond: { min: 980, max: 1960 } } }, { min: 980, max: 1960 });
    const plan = reconcile(edited(object, { throughput: { tokensPerSecond: { min: 980, max: 2940 } } }), {
      endpoint: readyEndpoint({ min: 980, max: 1960 }),
      model: BIGGER_CHUNK,
    });
    expect(plan.action).toEqual({ type: 'none' });
    expect(condition(plan, 'Synced')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(condition(plan, 'Synced')?.message).toContain('chunk size 1960');
  });

  it('a requested-at token on the same generation resolves in the new chunk size', () => {
    const object = settled({ throughput: { chunks: { min: 1, max: 2 } } }, { min: 980, max: 1960 });
    const plan = reconcile(annotated(object, { [EndpointAnnotation.requestedAt]: '2026-03-01T12:00:00Z' }), {
      endpoint: readyEndpoint({ min: 980, max: 1960 }),
      model: BIGGER_CHUNK,
    });
    expect(plan.action).toMatchObject({ type: 'updateConfig', request: { body: { served_entities: [{ min_provisioned_throughput: 1960, max_provisioned_throughput: 3920 }] } } });
  });
});
