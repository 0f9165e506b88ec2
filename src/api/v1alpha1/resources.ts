import { z } from 'zod';
import { API_VERSION } from './common.js';
import { ENDPOINT_KIND, ENDPOINT_PLURAL, EndpointSpec, endpointNameFromMetadataRule } from './endpoint.js';
import { EndpointStatus } from './endpoint-status.js';
import { WORKSPACE_KIND, WORKSPACE_PLURAL, WorkspaceSpec, WorkspaceStatus } from './workspace.js';

/** The parts of metadata the operator reads; the API server owns the rest. */
export const ObjectMeta = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.int().optional(),
  resourceVersion: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  deletionTimestamp: z.string().optional(),
  creationTimestamp: z.string().optional(),
});

const resource = <K extends string, S extends z.ZodType, T extends z.ZodType>(kind: K, spec: S, status: T) =>
  z.object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: ObjectMeta,
    spec,
    status: status.optional(),
  });

export const ProvisionedThroughputEndpoint = resource(ENDPOINT_KIND, EndpointSpec, EndpointStatus).refine(
  endpointNameFromMetadataRule.check,
  { message: endpointNameFromMetadataRule.message, path: ['metadata', 'name'] },
);
export type ProvisionedThroughputEndpoint = z.infer<typeof ProvisionedThroughputEndpoint>;
export const DatabricksWorkspace = resource(WORKSPACE_KIND, WorkspaceSpec, WorkspaceStatus);
export type DatabricksWorkspace = z.infer<typeof DatabricksWorkspace>;

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
  jsonPath: string;
  description: string;
  priority?: number;
}

/** Everything the CRD generator needs to know about one kind. */
export interface ResourceDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
  /** CEL rules on the whole object (they may read metadata.name). */
  objectRules?: { cel: string; message: string; optionalOldSelf?: boolean }[];
}

const condition = (type: string, field: 'status' | 'reason') => `.status.conditions[?(@.type=="${type}")].${field}`;

export const resourceDefinitions: ResourceDefinition[] = [
  {
    kind: ENDPOINT_KIND,
    plural: ENDPOINT_PLURAL,
    singular: 'provisionedthroughputendpoint',
    shortNames: ['pte'],
    categories: ['databricks', 'serving'],
    description:
      'A Databricks model serving endpoint with provisioned throughput for a Unity Catalog model. The operator creates, updates and follows the endpoint, retries GPU-capacity failures, and reports progress in status.conditions.',
    spec: EndpointSpec,
    status: EndpointStatus,
    objectRules: [endpointNameFromMetadataRule],
    printerColumns: [
      { name: 'Ready', type: 'string', jsonPath: condition('Ready', 'status'), description: 'The desired config serves and the endpoint is READY.' },
      { name: 'Synced', type: 'string', jsonPath: condition('Synced', 'status'), description: 'The last reconcile could drive toward the desired state.' },
      { name: 'Model', type: 'string', jsonPath: '.spec.model.name', description: 'Unity Catalog model.' },
      { name: 'Version', type: 'string', jsonPath: '.status.served.modelVersion', description: 'Model version Databricks serves now; during a canary, the one with the most traffic (status.canary lists both).' },
      { name: 'Min-TPS', type: 'integer', jsonPath: '.status.served.minTokensPerSecond', description: 'Served minimum tokens per second.' },
      { name: 'Max-TPS', type: 'integer', jsonPath: '.status.served.maxTokensPerSecond', description: 'Served maximum tokens per second.' },
      { name: 'Units', type: 'integer', jsonPath: '.status.served.modelUnits', description: 'Served model units (model-unit models).' },
      { name: 'State', type: 'string', jsonPath: '.status.state.configUpdate', description: 'Databricks config_update state.' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age of the object.' },
      { name: 'Endpoint-ID', type: 'string', jsonPath: '.status.endpointId', description: 'Databricks endpoint id.', priority: 1 },
      { name: 'Reason', type: 'string', jsonPath: condition('Ready', 'reason'), description: 'Why Ready has its status.', priority: 1 },
      { name: 'Window', type: 'string', jsonPath: '.status.schedule.activeWindow', description: 'The schedule window that applies now.', priority: 1 },
      { name: 'Next-Change', type: 'string', jsonPath: '.status.schedule.nextChangeTime', description: 'When the scheduled throughput changes next.', priority: 1 },
    ],
  },
  {
    kind: WORKSPACE_KIND,
    plural: WORKSPACE_PLURAL,
    singular: 'databricksworkspace',
    shortNames: ['dbws'],
    categories: ['databricks'],
    description: 'A connection to one Databricks workspace: its URL, how to authenticate, and its rate budgets. Shared by the endpoints of its namespace.',
    spec: WorkspaceSpec,
    status: WorkspaceStatus,
    printerColumns: [
      { name: 'Ready', type: 'string', jsonPath: condition('Ready', 'status'), description: 'Credentials were verified against the workspace.' },
      { name: 'Reason', type: 'string', jsonPath: condition('Ready', 'reason'), description: 'Why Ready has its status.' },
      { name: 'Host', type: 'string', jsonPath: '.spec.host', description: 'Workspace URL.' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age of the object.' },
    ],
  },
];
