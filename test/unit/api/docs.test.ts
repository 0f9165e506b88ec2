import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_DOC, renderConfigurationDoc, type Schema as Node } from '../../../scripts/gen-docs.js';
import { OPERATOR_OPTIONS } from '../../../src/controllers/config.js';
import { openApiSchema } from '../../../src/api/v1alpha1/crd.js';
import { resourceDefinitions } from '../../../src/api/v1alpha1/resources.js';

describe('docs/configuration.md', () => {
  it('is what the schemas generate (run `npm run gen` when this fails)', () => {
    expect(readFileSync(CONFIGURATION_DOC, 'utf8')).toBe(renderConfigurationDoc());
  });

  it('documents every operator flag and every spec field users touch', () => {
    const doc = renderConfigurationDoc();
    for (const flag of Object.keys(OPERATOR_OPTIONS)) expect(doc).toContain(`\`--${flag}\``);
    for (const field of ['spec.throughput.chunks.min', 'spec.capacityRetry.timeout', 'spec.auth.oauthM2M.secretRef.clientSecretKey', 'spec.rateLimits.mutationsPer5Minutes']) {
      expect(doc).toContain(`\`${field}\``);
    }
  });
});

/** Every node of a CRD schema with its path: fields, list items as `[]`, map values as `{}`. */
function nodes(schema: Node, path: string): [string, Node][] {
  return [
    [path, schema],
    ...Object.entries(schema.properties ?? {}).flatMap(([name, child]) => nodes(child, `${path}.${name}`)),
    ...(schema.items ? nodes(schema.items, `${path}[]`) : []),
    ...(typeof schema.additionalProperties === 'object' ? nodes(schema.additionalProperties, `${path}{}`) : []),
  ];
}

// The reference listed only the fields of objects: the fields of list items (permissions[].userName, schedule
// windows, canary gates, rate limits) and every list or map size limit were missing, so what the API server refuses
// (a 51st permission, a 17th window, a 41st tag) was nowhere in it.
describe('docs/configuration.md states what the CRD enforces', () => {
  const doc = renderConfigurationDoc();
  const rowOf = (path: string) => doc.split('\n').find((line) => line.startsWith(`| \`${path}\` |`));
  const cases = resourceDefinitions.flatMap((def) => nodes(openApiSchema(def.spec) as Node, 'spec').slice(1).map(([path, node]) => [`${def.kind} ${path}`, path, node] as const));

  it.each(cases)('%s', (_label, path, node) => {
    const row = rowOf(path);
    expect(row, `a row for ${path}`).toBeDefined();
    const stated = [
      ...(node.enum ?? []).map((value) => `\`${String(value)}\``),
      node.minimum !== undefined ? `≥ ${node.minimum}` : '',
      node.maximum !== undefined ? `≤ ${node.maximum}` : '',
      node.minLength !== undefined ? `at least ${node.minLength} character` : '',
      node.maxLength !== undefined ? `at most ${node.maxLength} characters` : '',
      node.minItems !== undefined ? `at least ${node.minItems} item` : '',
      node.maxItems !== undefined ? `at most ${node.maxItems} items` : '',
      node.maxProperties !== undefined ? `at most ${node.maxProperties} entries` : '',
      ...(node['x-kubernetes-validations'] ?? []).map((rule) => rule.message.replaceAll('|', '\\|')),
    ].filter(Boolean);
    for (const text of stated) expect(row, `${path} states ${text}`).toContain(text);
  });
});

// concepts.md listed a schedule.leadTime longer than a day among what gives Synced=False InvalidSpec at reconcile,
// though the CRD refuses it at admission (kubectl apply fails): a user looks for a condition that never comes.
describe('docs/concepts.md on schedule.leadTime', () => {
  const concepts = readFileSync(new URL('../../../docs/concepts.md', import.meta.url), 'utf8').replaceAll('\n', ' ');
  const rule = (openApiSchema(resourceDefinitions.find((def) => def.kind === 'ProvisionedThroughputEndpoint')!.spec) as Node).properties!['schedule']!['x-kubernetes-validations']!.find((r) => r.message.includes('leadTime'))!;

  it('says a leadTime above the CRD limit is refused at admission, with its message, not InvalidSpec', () => {
    const invalidSpecCauses = /an unknown time zone, an invalid cron field,([^]*?)gives `Synced=False InvalidSpec`/.exec(concepts)?.[1] ?? '';
    expect(invalidSpecCauses).not.toMatch(/longer than a day/);
    expect(concepts).toContain(rule.message);
  });
});
