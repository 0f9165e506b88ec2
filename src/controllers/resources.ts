import {
  ENDPOINT_KIND,
  ENDPOINT_PLURAL,
  GROUP,
  VERSION,
  WORKSPACE_KIND,
  WORKSPACE_PLURAL,
} from '../api/v1alpha1/index.js';
import type { ResourceType } from '../kube/index.js';

export const EndpointResource: ResourceType = { group: GROUP, version: VERSION, kind: ENDPOINT_KIND, plural: ENDPOINT_PLURAL, namespaced: true };
export const WorkspaceResource: ResourceType = { group: GROUP, version: VERSION, kind: WORKSPACE_KIND, plural: WORKSPACE_PLURAL, namespaced: true };

/** Held by every ProvisionedThroughputEndpoint while a Databricks endpoint may exist for it. */
export const ENDPOINT_FINALIZER = 'serving.ptoperator.io/endpoint';

/** Held by every DatabricksWorkspace until no endpoint object uses it any more. */
export const WORKSPACE_FINALIZER = 'serving.ptoperator.io/workspace';

/** The name endpoints use for the workspace configured by the operator's environment. */
export const DEFAULT_WORKSPACE = '(default)';
