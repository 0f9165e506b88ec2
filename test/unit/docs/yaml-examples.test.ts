// The YAML a reader copies out of README.md and docs/ is YAML the API server admits: every ProvisionedThroughputEndpoint
// and DatabricksWorkspace in a ```yaml block, and every `spec:` of an endpoint shown alone (the schedule and canary
// examples), is checked with the zod schemas the CRDs are generated from. A field renamed or a rule tightened in the
// schema and not in the docs fails here.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DatabricksWorkspace, ProvisionedThroughputEndpoint } from '../../../src/api/v1alpha1/index.js';
import { ScenarioSchema } from '../../../src/emulator/scenario.js';

const root = new URL('../../../', import.meta.url);
const docs = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

type Example = Record<string, unknown> & { kind?: string; spec?: Record<string, unknown> };

const blocks = docs.flatMap((path) => {
  const text = readFileSync(new URL(path, root), 'utf8');
  return [...text.matchAll(/```ya?ml\n([^]*?)```/g)].map((m) => ({ where: `${path}:${text.slice(0, m.index).split('\n').length}`, yaml: m[1] as string }));
});

const objects = blocks.flatMap(({ where, yaml }) =>
  parseAllDocuments(yaml)
    .map((doc) => doc.toJS() as Example | null)
    .filter((obj): obj is Example => obj !== null && typeof obj === 'object')
    .map((obj) => ({ where, obj })),
);

/** An endpoint's spec shown alone (`spec:` with a model), made a whole object to check it. */
const asEndpoint = (spec: Record<string, unknown>) => ({
  apiVersion: 'serving.ptoperator.io/v1alpha1',
  kind: 'ProvisionedThroughputEndpoint',
  metadata: { name: 'example', namespace: 'ml' },
  spec,
});

interface Schema {
  safeParse(value: unknown): { error?: { issues: unknown[] } };
}

const checked = objects.flatMap(({ where, obj }): [string, Schema, unknown][] => {
  if (obj.kind === 'ProvisionedThroughputEndpoint') return [[`${where} ${obj.kind}`, ProvisionedThroughputEndpoint, obj]];
  if (obj.kind === 'DatabricksWorkspace') return [[`${where} ${obj.kind}`, DatabricksWorkspace, obj]];
  if (obj.kind === undefined && obj.spec && 'model' in obj.spec) return [[`${where} endpoint spec`, ProvisionedThroughputEndpoint, asEndpoint(obj.spec)]];
  return [];
});

describe('YAML examples in the docs', () => {
  it('are found (README, the schedule and canary specs, the imported object)', () => {
    expect(checked.length).toBeGreaterThanOrEqual(4);
  });

  it.each(checked)('%s is admitted', (_where, schema, obj) => {
    expect(schema.safeParse(obj).error?.issues ?? []).toEqual([]);
  });
});

// docs/emulator.md's scenario file, every field shown, is one `pt-operator emulator --scenario` reads.
describe("docs/emulator.md's scenario file", () => {
  const scenario = objects.find(({ where, obj }) => where.startsWith('docs/emulator.md') && 'faults' in obj)?.obj;

  it('is there', () => {
    expect(scenario).toBeDefined();
  });

  it('has only fields the emulator knows, and values it takes', () => {
    expect(Object.keys(scenario ?? {}).filter((key) => !(key in ScenarioSchema.shape))).toEqual([]);
    expect(ScenarioSchema.safeParse(scenario).error?.issues ?? []).toEqual([]);
  });
});
