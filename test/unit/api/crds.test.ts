import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderCrds } from '../../../src/api/v1alpha1/crd.js';

const rendered = renderCrds();

type Schema = { type?: string; properties?: Record<string, Schema>; items?: Schema; additionalProperties?: Schema | boolean; description?: string; $ref?: string };

/** Every property path below `schema` that lacks a description, type, or uses $ref. */
function structuralProblems(schema: Schema, path: string): string[] {
  const problems: string[] = [];
  // metadata's schema belongs to the API server, which documents it (and refuses a description here).
  if (path.endsWith('.metadata') && path.split('.').length === 2) return schema.type === 'object' ? [] : [`${path}: not an object`];
  if (!schema.description) problems.push(`${path}: no description`);
  if (!schema.type) problems.push(`${path}: no type`);
  if (schema.$ref) problems.push(`${path}: uses $ref`);
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    problems.push(...structuralProblems(child, `${path}.${name}`));
  }
  if (schema.items) problems.push(...structuralProblems({ description: 'items', ...schema.items }, `${path}[]`));
  return problems;
}

describe('generated CRDs', () => {
  // The same files ship in crds/ (kubectl), the Helm chart's crds/ and the kustomize base.
  const copies = ['crds', 'charts/pt-operator/files/crds', 'deploy/crds'].flatMap((dir) => [...rendered.keys()].map((file) => join(dir, file)));
  it.each(copies)('%s is up to date (run `npm run gen` when this fails)', (path) => {
    const checkedIn = readFileSync(path, 'utf8');
    expect(checkedIn).toBe(rendered.get(path.split('/').pop() as string));
  });

  it.each([...rendered.entries()])('%s: every property is typed and described, with no $ref', (_file, text) => {
    const crd = parse(text);
    const schema = crd.spec.versions[0].schema.openAPIV3Schema as Schema;
    expect(structuralProblems(schema, crd.spec.names.kind)).toEqual([]);
    expect(text).not.toContain('additionalProperties: false');
  });

  it('give the endpoint the short name, categories, status subresource and printer columns of the API', () => {
    const crd = parse(rendered.get('serving.ptoperator.io_provisionedthroughputendpoints.yaml') ?? '');
    expect(crd.spec.names.shortNames).toEqual(['pte']);
    expect(crd.spec.names.categories).toEqual(['databricks', 'serving']);
    const version = crd.spec.versions[0];
    expect(version.subresources).toEqual({ status: {} });
    const columns = version.additionalPrinterColumns.map((c: { name: string; priority?: number }) => [c.name.toUpperCase(), c.priority ?? 0]);
    expect(columns).toEqual([
      ['READY', 0], ['SYNCED', 0], ['MODEL', 0], ['VERSION', 0], ['MIN-TPS', 0], ['MAX-TPS', 0], ['UNITS', 0], ['STATE', 0], ['AGE', 0],
      ['ENDPOINT-ID', 1], ['REASON', 1], ['WINDOW', 1], ['NEXT-CHANGE', 1],
    ]);
  });

  it('carry the CEL rules with their messages', () => {
    const text = rendered.get('serving.ptoperator.io_provisionedthroughputendpoints.yaml') ?? '';
    for (const message of [
      'set exactly one of chunks, tokensPerSecond or modelUnits',
      'min must be less than or equal to max',
      'endpointName is immutable',
      'workspaceRef is immutable',
      'three dot-separated parts',
      'must be a positive integer written as a string',
      'must be a duration',
    ]) {
      expect(text).toContain(message);
    }
  });
});
