// The examples in deploy/examples, pointed at an emulator: what the demo applies and what the node tier
// drives through the in-cluster operator.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './cluster.js';

export interface ExampleObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown>;
}

/** Every example object (not the namespace), with workspace hosts set to emulatorUrl and a short capacity backoff. */
export function exampleManifests(emulatorUrl: string): ExampleObject[] {
  const dir = join(repoRoot, 'deploy/examples');
  const objects = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'namespace.yaml')
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as ExampleObject));
  for (const obj of objects) {
    if (obj.kind === 'DatabricksWorkspace') obj.spec['host'] = emulatorUrl;
    if (obj.kind === 'ProvisionedThroughputEndpoint') obj.spec['capacityRetry'] = { initialBackoff: '5s', maxBackoff: '20s', timeout: '10m' };
  }
  return objects;
}
