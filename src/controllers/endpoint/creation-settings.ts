// The create-only part: spec.budgetPolicyId, spec.description and spec.routeOptimized. Databricks accepts them only
// in the create request and has no API to change them, so this part never acts: it reports whether the
// endpoint has them (an adopted endpoint, or a change made in the Databricks UI, may differ) and says
// what the user can do. Databricks echoes an unset description as "" (the CLI's fake notes it). Pure.
import { budgetPolicyOf } from '../../databricks/api-types.js';
import { capText } from '../../databricks/errors.js';
import { oneLine } from '../../databricks/host-text.js';
import { type PartContext, type PartPlan, type PartPlanner, PartReason, decidePart } from './settings-part.js';

const onOff = (on: boolean) => (on ? 'on' : 'off');

export const creationPart: PartPlanner = {
  key: 'creation',
  conditionType: 'CreationSettingsSynced',
  plan(context: PartContext): PartPlan {
    const { spec, endpoint } = context;
    const wanted = spec.budgetPolicyId !== undefined || spec.description !== undefined || spec.routeOptimized !== undefined;
    const diffs: string[] = [];
    // The host's text in a condition message: one visible line, short.
    const policy = budgetPolicyOf(endpoint);
    const observedPolicy = oneLine(capText(policy ?? 'none', 64));
    if (spec.budgetPolicyId !== undefined && policy !== spec.budgetPolicyId) diffs.push(`budget policy ${observedPolicy} → ${spec.budgetPolicyId}`);
    if (spec.description !== undefined && (endpoint.description ?? '') !== spec.description) diffs.push('description differs');
    const routeOptimized = endpoint.route_optimized === true;
    if (spec.routeOptimized !== undefined && routeOptimized !== spec.routeOptimized) diffs.push(`route optimization ${onOff(routeOptimized)} → ${onOff(spec.routeOptimized)}`);
    const applied =
      `budget policy ${observedPolicy}; description ${endpoint.description ? `"${oneLine(capText(endpoint.description, 60))}"` : 'none'}` +
      (spec.routeOptimized !== undefined || routeOptimized ? `; route optimization ${onOff(routeOptimized)}` : '');
    const message = `${diffs.join(', ')}. Databricks accepts the budget policy, the description and route optimization only when an endpoint is created, so the operator cannot change them: set them in the Databricks UI, or serve the spec from a new object with another spec.endpointName`;
    return decidePart({
      context,
      key: 'creation',
      wanted,
      what: 'the budget policy and description',
      plural: true,
      applied,
      diffs,
      action: undefined,
      blocked: { status: false, reason: PartReason.NotUpdatable, message },
    });
  },
};
