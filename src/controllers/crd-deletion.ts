// Is one of our CustomResourceDefinitions being deleted? Then its objects are being deleted by the API
// server, not by a user who wants the Databricks endpoints gone: finalizers are released and nothing in
// Databricks is touched. A fresh GET (not a watch) so the answer is never older than the object's deletion,
// which the API server starts only after marking the CRD. The chart grants `get` on our two CRDs by name.
import { ENDPOINT_PLURAL, GROUP, WORKSPACE_PLURAL } from '../api/v1alpha1/index.js';
import { isNotFound, type KubeClient, type KubeObject, type ResourceType } from '../kube/index.js';

const CustomResourceDefinitionResource: ResourceType = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  namespaced: false,
};

export const ENDPOINT_CRD = `${ENDPOINT_PLURAL}.${GROUP}`;
export const WORKSPACE_CRD = `${WORKSPACE_PLURAL}.${GROUP}`;

export type CrdDeletionCheck = (crdName: string, signal?: AbortSignal) => Promise<boolean>;

export function crdDeletionCheck(client: Pick<KubeClient, 'get'>): CrdDeletionCheck {
  return async (crdName, signal) => {
    try {
      const crd = await client.get<KubeObject>(CustomResourceDefinitionResource, undefined, crdName, signal);
      return crd.metadata.deletionTimestamp !== undefined;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  };
}
