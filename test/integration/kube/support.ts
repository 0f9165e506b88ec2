// Shared helpers for the runtime's tests against the real kube-apiserver (cluster from test/controlplane).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeClient } from '../../../src/kube/client.js';
import { isAlreadyExists, isNotFound } from '../../../src/kube/errors.js';
import { CoreResources, type KubeObject, type ResourceType } from '../../../src/kube/types.js';
import { cluster, repoRoot } from '../../support/cluster.js';

export type ConfigMap = KubeObject & { data?: Record<string, string> };

/** A client with admin rights that counts the requests it sends, by method. */
export async function adminClient(): Promise<{ client: KubeClient; requests: Array<{ method: string; path: string }> }> {
  const requests: Array<{ method: string; path: string }> = [];
  const client = await KubeClient.fromFile(cluster().kubeconfigAdmin, { onRequest: (method, path) => requests.push({ method, path }) });
  return { client, requests };
}

export async function createNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await client.create(CoreResources.namespace, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

export async function deleteNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.delete(CoreResources.namespace, undefined, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export const configMap = (namespace: string, name: string, data: Record<string, string> = {}, labels?: Record<string, string>): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, ...(labels && { labels }) },
  data,
});

export async function eventually<T>(probe: () => T | Promise<T>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills the kube-apiserver and starts it again with the same flags (etcd keeps the data). */
export async function restartApiserver(downSeconds = 0): Promise<void> {
  await promisify(execFile)('bash', [join(repoRoot, 'test/controlplane/restart-apiserver.sh'), String(downSeconds)], {
    env: process.env,
    timeout: 150_000,
  });
}

/** A namespaced test CRD with a status subresource, so the runtime is tested without the operator's own CRDs. */
export const widgetResource: ResourceType = {
  group: 'kubetest.ptoperator.io',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
};
export type Widget = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

const crdResource: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false };

export async function ensureWidgetCrd(client: KubeClient): Promise<void> {
  await ensureCrd(client, widgetResource);
}

/** Installs a schemaless CRD for `rt` (spec and status preserve unknown fields) and waits until it is established. */
export async function ensureCrd(client: KubeClient, rt: ResourceType): Promise<void> {
  const name = `${rt.plural}.${rt.group}`;
  try {
    await client.create(crdResource, undefined, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name },
      spec: {
        group: rt.group,
        scope: 'Namespaced',
        names: { plural: rt.plural, singular: rt.kind.toLowerCase(), kind: rt.kind, listKind: `${rt.kind}List` },
        versions: [
          {
            name: rt.version,
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                },
              },
            },
          },
        ],
      },
    } as KubeObject);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  await eventually(
    async () => {
      const crd = await client.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(crdResource, undefined, name);
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    },
    30_000,
    `the ${rt.kind} CRD to be established`,
  );
}

export const deleteCrd = (client: KubeClient, rt: ResourceType) => client.delete(crdResource, undefined, `${rt.plural}.${rt.group}`);
