// Shared builders for the settings part planners' tests: a settled endpoint (Ready, in sync) and a
// plan with the permissions read the reconciler would make.
import type { EndpointStatus } from '../../../../src/api/v1alpha1/index.js';
import { type EndpointObject, type Plan, planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import type { PartObserved, SchemaCheck } from '../../../../src/controllers/endpoint/settings.js';
import type { ServingEndpointDetailed, ServingEndpointPermissions } from '../../../../src/databricks/api-types.js';
import { type InputOptions, type SpecInput, ENDPOINT_ID, afterPlan, endpointObject, planInput, readyEndpoint } from '../fixtures.js';

export const CREATOR = 'pt-operator@company.com';

/** An ACL as GET /permissions/serving-endpoints/{id} shows it: direct entries, the creator, inherited admins. */
export function acl(direct: { user_name?: string; group_name?: string; service_principal_name?: string; level: string }[]): ServingEndpointPermissions {
  return {
    object_id: `/serving-endpoints/${ENDPOINT_ID}`,
    object_type: 'serving-endpoint',
    access_control_list: [
      { user_name: CREATOR, display_name: 'Operator', all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: false }] },
      ...direct.map(({ level, ...who }) => ({ ...who, all_permissions: [{ permission_level: level, inherited: false }] })),
      { group_name: 'admins', all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: true, inherited_from_object: ['/serving-endpoints/'] }] },
    ],
  };
}

export interface SettingsOptions extends InputOptions {
  permissions?: PartObserved<ServingEndpointPermissions>;
  /** what the reconciler's read of the inference table's target schema found (ai-gateway.ts inferenceTableTarget) */
  inferenceTableSchema?: SchemaCheck;
}

export function plan(object: EndpointObject, options: SettingsOptions = {}): Plan {
  return planEndpoint({
    ...planInput(object, options),
    permissions: options.permissions ?? { kind: 'skipped' },
    ...(options.inferenceTableSchema && { inferenceTableSchema: options.inferenceTableSchema }),
  });
}

/** The endpoint with these extra fields, serving the spec's config. */
export const endpointWith = (fields: Partial<ServingEndpointDetailed>): ServingEndpointDetailed => ({ ...readyEndpoint(), ...fields });

/** An object whose served config is settled (one reconcile against `endpoint`), with the given spec. */
export function settledWith(spec: SpecInput, endpoint: ServingEndpointDetailed, options: SettingsOptions = {}, status?: EndpointStatus): EndpointObject {
  const object = endpointObject({ spec, ...(status && { status }) });
  return afterPlan(object, plan(object, { endpoint, ...options }));
}

export const conditionOf = (p: Pick<Plan, 'status'>, type: string) => p.status.conditions?.find((c) => c.type === type);
export const reasons = (p: Pick<Plan, 'events'>) => p.events.map((e) => `${e.type} ${e.reason}`);
