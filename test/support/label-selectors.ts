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
] as const;

export const invalidLabelSelectors = [
  'team in (a',
  '=ml',
  'team=ml,',
  'team=a b',
  'team: ml',
] as const;
