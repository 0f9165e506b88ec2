// The N endpoint objects both benchmarks start from: ep-00000 … with one model and a chunk band.
import { EndpointResource } from '../../src/controllers/resources.js';
import type { KubeClient, KubeObject } from '../../src/kube/index.js';
import { pool } from './stats.js';

export const endpointNames = (n: number): string[] => Array.from({ length: n }, (_, i) => `ep-${String(i).padStart(5, '0')}`);

export async function createEndpointObjects(
  admin: KubeClient,
  namespace: string,
  n: number,
  model: { name: string; version: string },
  chunks: { min: number; max: number },
): Promise<void> {
  await pool(endpointNames(n), 16, async (name) => {
    await admin.create(EndpointResource, namespace, {
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'ProvisionedThroughputEndpoint',
      metadata: { name, namespace },
      spec: { model, throughput: { chunks } },
    } as KubeObject);
  });
}
