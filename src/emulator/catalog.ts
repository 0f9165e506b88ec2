// The model catalog: which Unity Catalog models exist, at which versions, and how they may be served
// with provisioned throughput (the answer of get-model-optimization-info). Chunk sizes here are
// illustrative: the real service changes them over time, which is why clients must ask, not hard-code.
import { z } from 'zod';
import { EntityVersionSchema, type ModelOptimizationInfo } from '../databricks/api-types.js';

export const CatalogModelSchema = z
  .object({
    /** full UC name, catalog.schema.model */
    name: z.string().regex(/^[^./]+\.[^./]+\.[^/]+$/, 'a model name is catalog.schema.model'),
    versions: z.array(EntityVersionSchema).min(1),
    optimizable: z.boolean().default(true),
    model_type: z.string().optional(),
    /** token-band PT: min/max_provisioned_throughput must be multiples of this */
    throughput_chunk_size: z.number().int().positive().optional(),
    /** model-unit PT: provisioned_model_units must be multiples of this */
    model_unit_chunk_size: z.number().int().positive().optional(),
    /** the GPU type the backend picks for this model (server-filled on entities) */
    workload_type: z.string().default('GPU_MEDIUM'),
    display_name: z.string().optional(),
    description: z.string().optional(),
  })
  .refine((m) => !m.optimizable || (m.throughput_chunk_size === undefined) !== (m.model_unit_chunk_size === undefined), {
    message: 'an optimizable model has exactly one of throughput_chunk_size or model_unit_chunk_size',
  });
export type CatalogModel = z.infer<typeof CatalogModelSchema>;
export type CatalogModelInput = z.input<typeof CatalogModelSchema>;

/** Used when no scenario gives a catalog: real system.ai names of the PT families, plus a custom UC model. */
export const DEFAULT_CATALOG: readonly CatalogModelInput[] = [
  {
    name: 'system.ai.meta_llama_v3_1_8b_instruct',
    versions: ['1', '2', '3'],
    model_type: 'llama',
    throughput_chunk_size: 980,
    workload_type: 'GPU_XLARGE_8',
    display_name: 'Meta Llama 3.1 8B Instruct',
  },
  {
    name: 'system.ai.meta_llama_v3_3_70b_instruct',
    versions: ['1', '2'],
    model_type: 'llama',
    throughput_chunk_size: 9500,
    workload_type: 'GPU_XLARGE_8',
    display_name: 'Meta Llama 3.3 70B Instruct',
  },
  { name: 'system.ai.gte_large_en_v1_5', versions: ['1', '2'], model_type: 'gte', throughput_chunk_size: 980, display_name: 'GTE Large (En)' },
  { name: 'system.ai.bge_large_en_v1_5', versions: ['1'], model_type: 'bge', throughput_chunk_size: 980, display_name: 'BGE Large (En)' },
  {
    name: 'system.ai.mistral_7b_instruct_v0_2',
    versions: ['1', '2'],
    model_type: 'mistral',
    throughput_chunk_size: 970,
    display_name: 'Mistral 7B Instruct v0.2',
  },
  { name: 'system.ai.mpt_7b_instruct', versions: ['1'], model_type: 'mpt', throughput_chunk_size: 970, display_name: 'MPT 7B Instruct' },
  {
    name: 'system.ai.dbrx_instruct',
    versions: ['1', '2', '3'],
    model_type: 'dbrx',
    throughput_chunk_size: 1800,
    workload_type: 'GPU_XLARGE_8',
    display_name: 'DBRX Instruct',
  },
  // Base (non-instruct) Llama: "Base versions … are not supported" for PT (DOC-PT).
  { name: 'system.ai.meta_llama_v3_1_8b', versions: ['1', '2'], optimizable: false, display_name: 'Meta Llama 3.1 8B' },
  // Model-unit models: only provisioned_model_units (THIRD-PARTY observation: chunk 50).
  { name: 'system.ai.gpt-oss-120b', versions: ['1', '2'], model_type: 'gpt_oss', model_unit_chunk_size: 50, display_name: 'GPT OSS 120B' },
  {
    name: 'system.ai.llama-4-maverick',
    versions: ['1'],
    model_type: 'llama4',
    model_unit_chunk_size: 50,
    display_name: 'Llama 4 Maverick',
  },
  // A customer's fine-tuned model in Unity Catalog.
  { name: 'main.default.support_bot_llama', versions: ['1', '2', '3'], model_type: 'llama', throughput_chunk_size: 980 },
];

export type PtFlavour = 'throughput' | 'model_units';

/** A chunk size changed at run time (POST /__emulator/catalog/{model}): the real service changes them too. */
export const ChunkSizeChangeSchema = z.strictObject({
  throughput_chunk_size: z.number().int().positive().optional(),
  model_unit_chunk_size: z.number().int().positive().optional(),
});
export type ChunkSizeChange = z.infer<typeof ChunkSizeChangeSchema>;

export class ModelCatalog {
  readonly #initial: readonly CatalogModel[];
  #models: Map<string, CatalogModel>;

  constructor(models: readonly CatalogModelInput[]) {
    this.#initial = models.map((m) => CatalogModelSchema.parse(m));
    this.#models = new Map(this.#initial.map((m) => [m.name, m]));
  }

  /** Changes a model's chunk sizes for every version; a model keeps its flavour (token band or model units). */
  changeChunkSizes(name: string, change: ChunkSizeChange): CatalogModel {
    const model = this.#models.get(name);
    if (!model) throw new Error(`no model ${name} in the catalog`);
    const changed = CatalogModelSchema.parse({ ...model, ...change });
    this.#models.set(name, changed);
    return changed;
  }

  /** Back to the scenario's catalog. */
  reset(): void {
    this.#models = new Map(this.#initial.map((m) => [m.name, m]));
  }

  /** The model if it exists at that version, otherwise undefined. */
  find(name: string, version: string): CatalogModel | undefined {
    const model = this.#models.get(name);
    return model && model.versions.includes(version) ? model : undefined;
  }

  list(): CatalogModel[] {
    return [...this.#models.values()];
  }
}

/** The body of get-model-optimization-info for a model that exists. */
export function optimizationInfo(model: CatalogModel): ModelOptimizationInfo {
  if (!model.optimizable) return { optimizable: false };
  const info: ModelOptimizationInfo = { optimizable: true };
  if (model.model_type !== undefined) info.model_type = model.model_type;
  if (model.throughput_chunk_size !== undefined) info.throughput_chunk_size = model.throughput_chunk_size;
  if (model.model_unit_chunk_size !== undefined) info.model_unit_chunk_size = model.model_unit_chunk_size;
  return info;
}

/** Which PT flavour a model supports, or undefined when it is not eligible for PT. */
export function ptFlavour(model: CatalogModel): PtFlavour | undefined {
  if (!model.optimizable) return undefined;
  return model.model_unit_chunk_size !== undefined ? 'model_units' : 'throughput';
}
