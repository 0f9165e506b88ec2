// The examples in deploy/examples, pointed at an emulator: what the demo applies and what the node tier
// drives through the in-cluster operator.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { CreateServingEndpoint } from '../../src/databricks/api-types.js';
import { ScenarioSchema } from '../../src/emulator/scenario.js';
import { repoRoot } from './cluster.js';

export interface ExampleObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** Every example object (not the namespace), as written. */
function readExamples(): ExampleObject[] {
  const dir = join(repoRoot, 'deploy/examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'namespace.yaml')
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as ExampleObject));
}

/** Every example object (not the namespace), with workspace hosts set to emulatorUrl and a short capacity backoff. */
export function exampleManifests(emulatorUrl: string): ExampleObject[] {
  const objects = readExamples();
  for (const obj of objects) {
    if (obj.kind === 'DatabricksWorkspace') obj.spec['host'] = emulatorUrl;
    if (obj.kind === 'ProvisionedThroughputEndpoint') obj.spec['capacityRetry'] = { initialBackoff: '5s', maxBackoff: '20s', timeout: '10m' };
  }
  return objects;
}

/**
 * The emulator's Unity Catalog as in a workspace the examples are meant for: its own schemas, and the schema of every
 * inference table the examples name (the examples say it must exist; without it their AI Gateway is Rejected).
 */
export function exampleUnityCatalog(): { schemas: string[] } {
  const tables = readExamples().flatMap((obj) => {
    const table = (obj.spec['aiGateway'] as { inferenceTables?: { catalogName: string; schemaName: string } } | undefined)?.inferenceTables;
    return table ? [`${table.catalogName}.${table.schemaName}`] : [];
  });
  return { schemas: [...new Set([...ScenarioSchema.parse({}).unityCatalog.schemas, ...tables])] };
}

/**
 * The endpoints made outside the operator that the adopting examples (ptoperator.io/adopt, as `pt-operator import`
 * writes them) take over, serving exactly what each example states, so that applying one adopts rather than creates.
 */
export function examplePreexistingEndpoints(): CreateServingEndpoint[] {
  return readExamples()
    .filter((obj) => obj.metadata.annotations?.['ptoperator.io/adopt'] === 'true')
    .map((obj) => {
      const spec = obj.spec as {
        endpointName?: string;
        model: { name: string; version: string };
        throughput: { tokensPerSecond?: { min: number; max: number }; modelUnits?: number };
        tags?: Record<string, string>;
      };
      const { tokensPerSecond, modelUnits } = spec.throughput;
      return {
        name: spec.endpointName ?? obj.metadata.name,
        config: {
          served_entities: [
            {
              entity_name: spec.model.name,
              entity_version: spec.model.version,
              ...(tokensPerSecond && { min_provisioned_throughput: tokensPerSecond.min, max_provisioned_throughput: tokensPerSecond.max }),
              ...(modelUnits !== undefined && { provisioned_model_units: modelUnits }),
            },
          ],
        },
        tags: Object.entries(spec.tags ?? {}).map(([key, value]) => ({ key, value })),
      };
    });
}
