// `helm upgrade --reuse-values` renders this chart with the values of the chart a release was installed with, not with
// this chart's defaults: a value added since is missing, and the templates crashed on it ("nil pointer evaluating
// interface {}.configMap") or rendered other than values.yaml says. values.schema.json requires every value values.yaml
// has, so such an upgrade stops before rendering, naming the value (docs/upgrade.md: --reset-then-reuse-values).
// Kubernetes objects passed through as they are may be left out (null: none, as Kubernetes reads them).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url);
const values = parse(readFileSync(new URL('charts/pt-operator/values.yaml', root), 'utf8')) as Record<string, unknown>;
interface Schema {
  $ref?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: unknown;
  definitions?: Record<string, Schema>;
}
const schema = JSON.parse(readFileSync(new URL('charts/pt-operator/values.schema.json', root), 'utf8')) as Schema;

const PASSED_THROUGH = [
  'nameOverride', 'fullnameOverride', 'imagePullSecrets', 'extraArgs', 'extraEnv', 'updateStrategy', 'resources', 'podAnnotations',
  'podLabels', 'podSecurityContext', 'securityContext', 'nodeSelector', 'tolerations', 'affinity', 'topologySpreadConstraints',
  'priorityClassName',
];

const resolve = (node: Schema): Schema => (node.$ref ? resolve(schema.definitions?.[node.$ref.replace('#/definitions/', '')] ?? {}) : node);

/** Each object of values.yaml that the schema closes (no other keys): its path, its keys, the keys the schema requires. */
function closedObjects(value: unknown, node: Schema, path: string): [string, string[], string[]][] {
  const closed = resolve(node);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || closed.additionalProperties !== false) return [];
  const keys = Object.keys(value).filter((key) => !(path === '' && PASSED_THROUGH.includes(key)));
  return [
    [path || '(top level)', keys.toSorted(), (closed.required ?? []).toSorted()],
    ...keys.flatMap((key) => closedObjects((value as Record<string, unknown>)[key], closed.properties?.[key] ?? {}, path ? `${path}.${key}` : key)),
  ];
}

describe('values.schema.json requires what values.yaml sets (helm upgrade --reuse-values from an earlier chart)', () => {
  const objects = closedObjects(values, schema, '');

  it('finds the objects, and the values passed through are values of values.yaml', () => {
    expect(objects.map(([path]) => path)).toEqual(expect.arrayContaining(['(top level)', 'caBundle', 'caBundle.configMap', 'metrics.secure', 'image']));
    for (const key of PASSED_THROUGH) expect(Object.keys(values)).toContain(key);
  });

  it.each(objects)('%s: every value of values.yaml is required', (_path, keys, required) => {
    expect(required).toEqual(keys);
  });
});
