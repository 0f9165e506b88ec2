// The generated CRDs as a user meets them through kubectl and a real API server: installed,
// documented by `kubectl explain`, shown with printer columns, accepting every example and
// refusing every object of the bad-object catalog with a message that says what to fix.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { admittedUnusualObjects, badObjects, badObjectsAtAdmission, badUpdates, edgeObjects } from '../../fixtures/bad-objects.js';
import { apply, applyOk, ensureNamespace, eventually, kubectlOk, repoRoot, uniqueNamespace } from '../../support/cluster.js';

interface PrinterColumn {
  name: string;
  priority?: number;
}
interface Crd {
  metadata: { name: string };
  spec: {
    names: { plural: string; kind: string };
    versions: {
      name: string;
      additionalPrinterColumns?: PrinterColumn[];
      schema: { openAPIV3Schema: SchemaNode };
    }[];
  };
}
interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
}
type KubeObject = Record<string, unknown> & { metadata: Record<string, unknown> };

const crdDirectory = join(repoRoot, 'crds');
const crds: Crd[] = readdirSync(crdDirectory)
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => parse(readFileSync(join(crdDirectory, file), 'utf8')) as Crd);
const endpointCrd = crds.find((crd) => crd.spec.names.kind === 'ProvisionedThroughputEndpoint');

const examplesDirectory = join(repoRoot, 'deploy/examples');
const examples = readdirSync(examplesDirectory)
  .filter((file) => file.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(examplesDirectory, file), 'utf8'))
      .map((document) => document.toJS() as KubeObject | null)
      // The directory also holds a kustomization and its Namespace; only our kinds are examples of the API.
      .filter((object): object is KubeObject => String(object?.apiVersion).startsWith('serving.ptoperator.io/'))
      .map((object) => ({ file, object })),
  );

/**
 * The manifests and spec snippets README.md and docs/ show, as a reader copies them: whole objects of our kinds, and
 * `spec:` fragments of an endpoint (laid over the llama-chat example's spec). Status excerpts and other tools' YAML
 * (Argo CD) are not ours to apply.
 */
const endpointSpecFields = Object.keys(
  ((endpointCrd?.spec.versions[0]?.schema.openAPIV3Schema.properties?.['spec'] ?? {}) as SchemaNode).properties ?? {},
);
const docSnippets = ['README.md', ...readdirSync(join(repoRoot, 'docs')).map((file) => `docs/${file}`)]
  .filter((file) => file.endsWith('.md'))
  .flatMap((file) =>
    [...readFileSync(join(repoRoot, file), 'utf8').matchAll(/^```yaml\n([\s\S]*?)^```/gm)].map((match) => ({
      where: `${file}:${readFileSync(join(repoRoot, file), 'utf8').slice(0, match.index).split('\n').length}`,
      object: parse(match[1] ?? '') as Record<string, unknown> | null,
    })),
  )
  .flatMap(({ where, object }) => {
    if (!object || typeof object !== 'object') return [];
    if (String(object['apiVersion']).startsWith('serving.ptoperator.io/')) return [{ where, object: object as KubeObject }];
    const spec = object['spec'] as Record<string, unknown> | undefined;
    const onlySpec = Object.keys(object).length === 1 && spec !== undefined && Object.keys(spec).every((field) => endpointSpecFields.includes(field));
    if (!onlySpec) return [];
    const base = examples.find(({ file }) => file === 'llama-chat.yaml')?.object as KubeObject;
    return [{ where, object: { ...base, spec: { ...(base['spec'] as object), ...spec } } as KubeObject }];
  });

function inNamespace(object: Record<string, unknown>, namespace: string): KubeObject {
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  return { ...object, metadata: { ...metadata, namespace } };
}

/**
 * `kubectl explain`, once the API server publishes the CRD's schema again: after any change to a CRD (a test tier
 * re-applying it, a chart install labelling it) its OpenAPI document is rebuilt asynchronously, and meanwhile explain
 * answers "couldn't find resource" (a review saw 2-4 of these tests fail so in one run of this file on a reused,
 * loaded control plane).
 */
const explain = (path: string): Promise<string> =>
  eventually(async () => kubectlOk(['explain', path]), { timeoutMs: 30_000, intervalMs: 500 });

/** kubectl wraps descriptions to the terminal width; compare word sequences, not line breaks. */
const words = (text: string): string => text.replace(/\s+/g, ' ').trim();

describe('CRDs on a real API server', () => {
  const namespace = uniqueNamespace('crds');

  beforeAll(async () => {
    await ensureNamespace(namespace);
  });

  it('ships both kinds', () => {
    expect(crds.map((crd) => crd.spec.names.kind).sort()).toEqual(['DatabricksWorkspace', 'ProvisionedThroughputEndpoint']);
  });

  it.each(crds.map((crd) => crd.metadata.name))('%s is Established and NamesAccepted', async (name) => {
    const conditions = JSON.parse(await kubectlOk(['get', 'crd', name, '-o', 'jsonpath={.status.conditions}'])) as {
      type: string;
      status: string;
    }[];
    expect(conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Established', status: 'True' }),
        expect.objectContaining({ type: 'NamesAccepted', status: 'True' }),
      ]),
    );
  });

  it('kubectl explain prints the throughput field descriptions', async () => {
    const throughput = endpointCrd?.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec?.properties?.throughput;
    expect(throughput?.description).toBeTruthy();
    const output = words(await explain('provisionedthroughputendpoints.spec.throughput'));
    expect(output).toContain(words(throughput?.description ?? ''));
    const fields = Object.entries(throughput?.properties ?? {});
    expect(fields.map(([field]) => field).sort()).toEqual(['chunks', 'modelUnits', 'tokensPerSecond']);
    for (const [field, schema] of fields) {
      expect(output).toContain(field);
      expect(output).toContain(words(schema.description ?? `no description for ${field}`));
    }
  });

  it.each(['aiGateway', 'permissions', 'notifications'])('kubectl explain teaches spec.%s and its fields', async (part) => {
    const node = endpointCrd?.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec?.properties?.[part] as SchemaNode & { items?: SchemaNode };
    expect(node?.description).toBeTruthy();
    const output = words(await explain(`provisionedthroughputendpoints.spec.${part}`));
    expect(output).toContain(words(node?.description ?? ''));
    const fields = Object.entries((node?.items ?? node)?.properties ?? {});
    expect(fields.length).toBeGreaterThan(1);
    for (const [field, schema] of fields) {
      expect(output).toContain(field);
      expect(schema.description, `spec.${part}.${field} has a description`).toBeTruthy();
    }
  });

  it('kubectl get pte shows the printer columns', async () => {
    const llama = examples.find(({ object }) => object.kind === 'ProvisionedThroughputEndpoint');
    expect(llama).toBeDefined();
    await applyOk(inNamespace(llama?.object ?? {}, namespace));
    const columns = endpointCrd?.spec.versions[0]?.additionalPrinterColumns ?? [];
    expect(columns.length).toBeGreaterThan(0);

    const header = (output: string): string[] => (output.split('\n')[0] ?? '').trim().split(/\s+/);
    const normal = header(await kubectlOk(['get', 'pte', '-n', namespace]));
    expect(normal).toEqual(['NAME', ...columns.filter((column) => !column.priority).map((column) => column.name.toUpperCase())]);
    const wide = header(await kubectlOk(['get', 'pte', '-n', namespace, '-o', 'wide']));
    expect(wide).toEqual(['NAME', ...columns.map((column) => column.name.toUpperCase())]);
  });

  // Between `kubectl apply` and the operator's first look there is no status of the operator's. kstatus (Flux health
  // checks, Helm 4 --wait) reads an object without status.observedGeneration nor conditions as Current: a release or
  // Kustomization would be ready before anything was created. An observedGeneration older than the generation is
  // InProgress (sigs.k8s.io/cli-utils, checkGeneration); the API server writes it, for the operator cannot yet.
  it.each(['ProvisionedThroughputEndpoint', 'DatabricksWorkspace'])('a %s just created says it is not observed yet', async (kind) => {
    const example = examples.find(({ object }) => object.kind === kind);
    expect(example).toBeDefined();
    const unobserved = uniqueNamespace('unobserved');
    await ensureNamespace(unobserved);
    const created = JSON.parse(await kubectlOk(['create', '-o', 'json', '-f', '-'], { input: JSON.stringify(inNamespace(example?.object ?? {}, unobserved)) })) as KubeObject;
    const read = JSON.parse(await kubectlOk(['get', kind.toLowerCase(), '-n', unobserved, String(created.metadata['name']), '-o', 'json'])) as KubeObject;
    for (const object of [created, read]) {
      const status = object['status'] as { observedGeneration?: number; conditions?: unknown } | undefined;
      expect(status?.observedGeneration, JSON.stringify(object['status'])).toBeTypeOf('number');
      expect(status?.observedGeneration).toBeLessThan(object.metadata['generation'] as number);
      expect(status?.conditions).toBeUndefined(); // kubectl wait --for=condition=Ready keeps waiting
    }
  });

  it('accepts every example in deploy/examples', async () => {
    expect(examples.length).toBeGreaterThan(0);
    const exampleNamespace = uniqueNamespace('examples');
    await ensureNamespace(exampleNamespace);
    for (const { file, object } of examples) {
      const result = await apply(inNamespace(object, exampleNamespace));
      expect(result.exitCode, `${file}: ${result.stderr}`).toBe(0);
    }
    const stored = await kubectlOk(['get', 'pte,dbws', '-n', exampleNamespace, '-o', 'name']);
    expect(stored.trim().split('\n')).toHaveLength(examples.length);
  });

  // A reader copies these: one the API server refuses (a field renamed, a rule added since) is a broken promise.
  it('accepts every manifest and endpoint spec snippet shown in README.md and docs/', async () => {
    expect(docSnippets.map(({ where }) => where.split(':')[0])).toEqual(expect.arrayContaining(['README.md', 'docs/concepts.md']));
    const namespace = uniqueNamespace('doc-snippets');
    await ensureNamespace(namespace);
    for (const [i, { where, object }] of docSnippets.entries()) {
      const named = { ...object, metadata: { ...object.metadata, name: `snippet-${i}` } };
      const result = await apply(inNamespace(named, namespace));
      expect(result.exitCode, `${where}: ${result.stderr}`).toBe(0);
    }
  });

  it('has a catalog of at least 20 bad objects', () => {
    expect(badObjects.length).toBeGreaterThanOrEqual(20);
  });

  it.each(badObjects)('refuses $name', async ({ object, message, serverMessage }) => {
    const expected = serverMessage ?? message;
    expect(expected, 'the catalog entry needs message or serverMessage').toBeTruthy();
    const result = await apply(inNamespace(object, namespace));
    expect(result.exitCode, result.stdout).not.toBe(0);
    expect(result.stderr).toContain(expected);
  });

  it.each(badObjectsAtAdmission)('refuses at admission $name', async ({ object, serverMessage }) => {
    const result = await apply(inNamespace(object, namespace));
    expect(result.exitCode, result.stdout).not.toBe(0);
    expect(result.stderr).toContain(serverMessage);
  });

  it.each([...edgeObjects, ...admittedUnusualObjects])('admits the edge value: $name', async ({ object }) => {
    const result = await apply(inNamespace(object, namespace));
    expect(result.exitCode, result.stderr).toBe(0);
  });

  it.each(badUpdates)('refuses the update: $name', async ({ before, after, serverMessage }) => {
    await applyOk(inNamespace(before, namespace));
    const name = (before.metadata as { name: string }).name;
    const stored = await kubectlOk(['get', 'pte', name, '-n', namespace, '-o', 'jsonpath={.spec}']);
    const result = await apply(inNamespace(after, namespace));
    expect(result.exitCode, result.stdout).not.toBe(0);
    expect(result.stderr).toContain(serverMessage);
    expect(await kubectlOk(['get', 'pte', name, '-n', namespace, '-o', 'jsonpath={.spec}'])).toBe(stored);
  });
});
