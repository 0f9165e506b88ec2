// Helpers the tests split from canary.test.ts share.
import type { EndpointStatus } from '../../../../src/api/v1alpha1/index.js';
import type { EndpointObject } from '../../../../src/controllers/endpoint/plan-types.js';
import type { ServingEndpointDetailed } from '../../../../src/databricks/api-types.js';
import { type CanaryInput, type CanaryStatus, canaryKept, canaryPlanFields, decideCanary, withCanary } from '../../../../src/controllers/endpoint/canary.js';
import { observeConfig } from '../../../../src/controllers/endpoint/desired.js';
import type { EndpointCoreConfigOutput } from '../../../../src/databricks/api-types.js';
import { planEndpoint } from '../../../../src/controllers/endpoint/plan.js';
import type {
  NOT_FOUND} from '../fixtures.js';
import { type InputOptions, NOW, endpointObject, endpointSpec, planInput, servedEntity } from '../fixtures.js';

export const CANARY = { steps: [50, 10], pause: '10m' }; // sorted: 10 → 50

export const spec = (version = '4', canary: Record<string, unknown> = CANARY) => endpointSpec({ model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version }, canary: canary as never });

/** A served config with the given versions and traffic shares (entities named as Databricks does). */
export function served(shares: Record<string, number>): EndpointCoreConfigOutput {
  const entities = Object.keys(shares).map((version) => servedEntity({ version }));
  return {
    served_entities: entities,
    traffic_config: { routes: entities.map((e) => ({ served_entity_name: e.name, served_model_name: e.name, traffic_percentage: shares[e.entity_version as string] as number })) },
    config_version: 3,
  };
}

export const running = (overrides: Partial<CanaryStatus>): CanaryStatus => ({
  phase: 'Progressing',
  fromVersion: '3',
  toVersion: '4',
  from: { entityName: 'meta_llama_v3_1_8b_instruct-3', minTokensPerSecond: 1960, maxTokensPerSecond: 2940 },
  step: 1,
  share: 10,
  ...overrides,
});

export function input(overrides: Partial<CanaryInput> & { config?: EndpointCoreConfigOutput; canary?: CanaryStatus }): CanaryInput {
  const status: EndpointStatus = overrides.canary ? { canary: overrides.canary } : {};
  return { spec: spec(), annotations: {}, status, served: observeConfig(overrides.config ?? served({ '3': 100 })), updating: false, now: NOW, ...overrides };
}

/** One reconcile as the reconciler runs it: the canary decides the config to aim for, the planner the rest. */
export function reconcileCanary(object: EndpointObject, endpoint: ServingEndpointDetailed | typeof NOT_FOUND, workspaceHost?: string, options: Pick<InputOptions, 'model' | 'now'> = {}) {
  const now = options.now ?? NOW;
  const observed = planInput(object, { endpoint }).endpoint;
  const decision = decideCanary(object, observed, observed.kind === 'found', now);
  const input = planInput({ ...object, spec: decision.spec }, { endpoint, ...options });
  const plan = planEndpoint({ ...input, ...(workspaceHost && { workspace: { ready: true, host: workspaceHost } }), desiredChanged: decision.changed, ...canaryPlanFields(decision) });
  return withCanary(plan, object.status, decision, canaryKept(false, observed, plan), now);
}

export const canaryObject = (version: string, canary: CanaryStatus | undefined, annotations: Record<string, string> = {}) =>
  endpointObject({ spec: { model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version }, canary: CANARY }, annotations, status: { observedGeneration: 1, ...(canary && { canary }) } });

export const conditions = (plan: ReturnType<typeof reconcileCanary>) => Object.fromEntries((plan.status.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]));
