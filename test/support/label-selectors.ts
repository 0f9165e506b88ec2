// Label selectors the operator's flags accept or refuse; the chart's values.schema.json must agree (a selector the
// schema lets through and the operator refuses crash-loops the pod instead of failing `helm install`).
export const validLabelSelectors = [
  'ptoperator.io/default-workspace=allowed',
  'team',
  '!team',
  'team==ml',
  'team!=ml',
  'team in (a, b)',
  'team notin (a),tier=gold',
  'example.com/shard=',
  `tier=${'a'.repeat(63)}`,
  `${'k'.repeat(63)}=x`,
  'a.b-c.example.com/t_x.y-z=V_1.2',
] as const;

export const invalidLabelSelectors = [
  'team in (a',
  '=ml',
  'team=ml,',
  'team=a b',
  'team: ml',
  // The grammar took these, and the API server refused them at every list: the operator ran and never became ready.
  `tier=${'a'.repeat(64)}`,
  `${'k'.repeat(64)}=x`,
  'Example.com/tier=a',
  'ex_ample.com/tier=a',
  'a..b/tier=x',
  `team in (a, ${'b'.repeat(64)})`,
] as const;
