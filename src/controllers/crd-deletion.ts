// Is one of our CustomResourceDefinitions being deleted? Then its objects are being deleted by the API
// server, not by a user who wants the Databricks endpoints gone: finalizers are released and nothing in
// Databricks is touched. A fresh GET (not a watch) so the answer is never older than the object's deletion,
// which the API server starts only after marking the CRD. The chart grants `get` on our two CRDs by name.
// The GET asks for the CRD's metadata only (its schema is tens of kilobytes), and deletions seen before a GET
// started share it: deleting a namespace of 1,000 endpoints costs a few GETs, not 1,000 (issue 12).
import { ENDPOINT_PLURAL, GROUP, WORKSPACE_PLURAL } from '../api/v1alpha1/index.js';
import { isNotFound, type KubeClient, type ResourceType } from '../kube/index.js';
import { SharedReads } from './shared-reads.js';

const CustomResourceDefinitionResource: ResourceType = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  namespaced: false,
};

export const ENDPOINT_CRD = `${ENDPOINT_PLURAL}.${GROUP}`;
export const WORKSPACE_CRD = `${WORKSPACE_PLURAL}.${GROUP}`;

/**
 * `after`: only a GET started after this moment answers (the caller saw its object's deletion then); by default
 * the moment of the call, i.e. a GET of its own.
 */
export type CrdDeletionCheck = (crdName: string, signal?: AbortSignal, after?: number) => Promise<boolean>;

/** How long an answer serves callers whose deletion was seen before its GET started. */
const ANSWER_KEEP_MS = 1_000;

export function crdDeletionCheck(client: Pick<KubeClient, 'getMetadata'>, now: () => number = Date.now): CrdDeletionCheck {
  const answers = new SharedReads<boolean>(now);
  const read = async (crdName: string, signal?: AbortSignal) => {
    try {
      const crd = await client.getMetadata(CustomResourceDefinitionResource, undefined, crdName, signal);
      return crd.metadata.deletionTimestamp !== undefined;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  };
  return (crdName, signal, after = now()) => answers.get(crdName, () => read(crdName, signal), () => ANSWER_KEEP_MS, after);
}
