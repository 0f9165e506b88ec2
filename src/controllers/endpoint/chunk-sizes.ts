// Databricks changes a model's chunk sizes over time (reference §8: llama 3.1 8B went from 970 to 19000).
// A changed chunk size alone is no request from the user: while the generation is unchanged and Databricks
// serves (or rolls out) what the spec gave at the chunk size it was applied with, the spec is read in that
// chunk size, so nothing is sent and a served spec is not declared invalid. A new generation or requested-at
// reads it in the chunk size of now. Pure: no I/O, no clock.
import type { EndpointSpec, EndpointStatus } from '../../api/v1alpha1/index.js';
import type { ModelOptimizationInfo, ServingEndpointDetailed } from '../../databricks/api-types.js';
import { shortLine } from '../../databricks/host-text.js';
import { type CanarySplit, type Resolution, describeServing, diffServing, observeConfig, resolveDesired, withSplit } from './desired.js';

type Optimization = NonNullable<EndpointStatus['optimization']>;

export interface ChunkSizeResolution {
  resolution: Resolution;
  /** What status.optimization says: the chunk sizes reported now and, when they differ, the applied ones. */
  optimization: Optimization;
  /** The message of a Warning, given when the change is first seen. */
  changed?: string;
  /** The model's answer with the chunk sizes the spec was read in (the applied ones while they hold). */
  readIn: ModelOptimizationInfo;
}

export interface ChunkSizeInput {
  spec: EndpointSpec;
  info: ModelOptimizationInfo;
  /** status.optimization as the last reconcile left it. */
  recorded: Optimization | undefined;
  /** A new generation or requested-at: the user asked for something, in the chunk sizes of now. */
  fresh: boolean;
  endpoint: ServingEndpointDetailed | undefined;
  split: CanarySplit | undefined;
}

export function resolveWithAppliedChunkSizes({ spec, info, recorded, fresh, endpoint, split }: ChunkSizeInput): ChunkSizeResolution {
  const reported: Optimization = {
    modelType: shortLine(info.model_type),
    ...(info.throughput_chunk_size !== undefined && { chunkSize: info.throughput_chunk_size }),
    ...(info.model_unit_chunk_size !== undefined && { modelUnitChunkSize: info.model_unit_chunk_size }),
  };
  const current = resolveDesired(spec, info);
  // Objects written before appliedChunkSize existed: the chunk size last reported is the one applied.
  const appliedChunk = recorded?.appliedChunkSize ?? recorded?.chunkSize;
  const appliedUnit = recorded?.appliedModelUnitChunkSize ?? recorded?.modelUnitChunkSize;
  const chunkChanged = appliedChunk !== undefined && appliedChunk !== info.throughput_chunk_size;
  const unitChanged = appliedUnit !== undefined && appliedUnit !== info.model_unit_chunk_size;
  const readNow = { resolution: current, optimization: reported, readIn: info };
  if (fresh || (!chunkChanged && !unitChanged)) return readNow;

  const appliedInfo: ModelOptimizationInfo = {
    ...info,
    ...(chunkChanged && { throughput_chunk_size: appliedChunk }),
    ...(unitChanged && { model_unit_chunk_size: appliedUnit }),
  };
  const held = resolveDesired(spec, appliedInfo);
  if (!held.ok) return readNow;
  const desired = withSplit(held.desired, split);
  const served = [endpoint?.config, endpoint?.pending_config].map((config) => observeConfig(config));
  if (!served.some((config) => config !== undefined && diffServing(desired, config).length === 0)) {
    return readNow; // drift or no endpoint: a change is due anyway
  }

  const optimization: Optimization = {
    ...reported,
    ...(chunkChanged && { appliedChunkSize: appliedChunk }),
    ...(unitChanged && { appliedModelUnitChunkSize: appliedUnit }),
  };
  const seenBefore =
    recorded?.chunkSize === info.throughput_chunk_size && recorded?.modelUnitChunkSize === info.model_unit_chunk_size;
  if (seenBefore) return { resolution: held, optimization, readIn: appliedInfo };
  return { resolution: held, optimization, readIn: appliedInfo, changed: changedMessage(spec, info, current, describeServing(held.desired), { appliedChunk, appliedUnit, chunkChanged }) };
}

function changedMessage(
  spec: EndpointSpec,
  info: ModelOptimizationInfo,
  current: Resolution,
  serving: string,
  applied: { appliedChunk: number | undefined; appliedUnit: number | undefined; chunkChanged: boolean },
): string {
  const what = applied.chunkChanged
    ? `throughput chunk size from ${applied.appliedChunk} to ${info.throughput_chunk_size ?? 'none'} tokens/s`
    : `model-unit chunk size from ${applied.appliedUnit} to ${info.model_unit_chunk_size ?? 'none'}`;
  const next = current.ok
    ? `this spec would then provision ${describeServing(current.desired)}`
    : `this spec would then be refused: ${current.message}`;
  return (
    `Databricks changed the ${what} for model ${spec.model.name} version ${spec.model.version}. ` +
    `The endpoint keeps serving ${serving} as applied; nothing is changed in Databricks. ` +
    `The next spec change or requested-at reads the spec in the new chunk size: ${next}`
  );
}
