// Upgrading the CRDs over stored objects (docs/upgrade.md): `kubectl apply --server-side` of this release's endpoint
// CRD over one without the newer rules (the refused model name with a slash, initialBackoff above maxBackoff) and without
// the status default. The CRD is a copy in a group of its own, so other tests keep theirs. An object stored before
// keeps working while its refused fields are left as they are: other edits, status writes, its deletion and the
// operator's release of its finalizer all go through, each with a warning naming the fields; an edit of a refused
// field is refused, naming it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { apply, applyOk, ensureNamespace, eventually, kubectl, kubectlOk, repoRoot, uniqueNamespace } from '../../support/cluster.js';

type Schema = { properties?: Record<string, Schema>; 'x-kubernetes-validations'?: { rule: string }[]; default?: unknown } & Record<string, unknown>;
interface Crd {
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: { group: string; names: Record<string, unknown>; versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
}

const group = `${uniqueNamespace('crdup').replace(/[^a-z0-9-]/g, '')}.ptoperator.io`;
const namespace = uniqueNamespace('crd-upgrade');
const FINALIZER = 'serving.ptoperator.io/endpoint';
const KIND = 'CrdUpgradeCheck';
const PLURAL = 'crdupgradechecks';

/**
 * This release's endpoint CRD, moved to `group` under names of its own: with the kind's names, short name (pte) or
 * categories, kubectl (whose discovery cache outlives the copy by minutes) could resolve `pte` to it in other tests.
 */
function released(): Crd {
  const crd = parse(readFileSync(join(repoRoot, 'crds/serving.ptoperator.io_provisionedthroughputendpoints.yaml'), 'utf8')) as Crd;
  crd.spec.group = group;
  crd.spec.names = { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: PLURAL.slice(0, -1) };
  crd.metadata = { name: `${PLURAL}.${group}` };
  return crd;
}

const schemaOf = (crd: Crd) => crd.spec.versions[0]?.schema.openAPIV3Schema as Schema;
const at = (schema: Schema, ...path: string[]) => path.reduce((node, key) => node.properties?.[key] as Schema, schema);

/** The CRD as an earlier release shipped it: without the rules named here and without the status default. */
function earlier(): Crd {
  const crd = released();
  const root = schemaOf(crd);
  delete at(root, 'status').default;
  delete at(root, 'spec', 'model', 'name')['x-kubernetes-validations'];
  const retry = at(root, 'spec', 'capacityRetry');
  retry['x-kubernetes-validations'] = (retry['x-kubernetes-validations'] ?? []).filter((v) => !v.rule.includes('maxBackoff'));
  return crd;
}

function endpoint(name: string, spec: Record<string, unknown> = {}): object {
  return {
    apiVersion: `${group}/v1alpha1`,
    kind: KIND,
    metadata: { name, namespace, finalizers: [FINALIZER] },
    spec: {
      model: { name: 'team/a.models.chat', version: '1' },
      throughput: { chunks: { min: 1, max: 2 } },
      capacityRetry: { initialBackoff: '10m', maxBackoff: '1m' },
      ...spec,
    },
  };
}

const resource = `${PLURAL}.${group}`;
const RATCHETED = [
  'Warning: spec.capacityRetry.maxBackoff: Invalid value: capacityRetry.maxBackoff must be at least capacityRetry.initialBackoff',
  'Warning: spec.model.name: Invalid value: "team/a.models.chat": must be a Unity Catalog name',
];

/** Accepted, with the API server's warning for each value it let stand (kubectl prints them): the user sees what to fix. */
function acceptedWithWarnings(result: { exitCode: number; stderr: string }): void {
  expect(result.exitCode, result.stderr).toBe(0);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(RATCHETED.length);
  for (const warning of RATCHETED) expect(lines.filter((line) => line.startsWith(warning))).toHaveLength(1);
}
const patch = (name: string, type: 'merge' | 'json', body: unknown, subresource?: string) =>
  kubectl(['-n', namespace, 'patch', resource, name, `--type=${type}`, '-p', JSON.stringify(body), ...(subresource ? [`--subresource=${subresource}`] : [])]);

beforeAll(async () => {
  await ensureNamespace(namespace);
  await applyOk(earlier(), { serverSide: true });
  await kubectlOk(['wait', '--for=condition=Established', `crd/${resource}`, '--timeout=60s']);
  // Stored under the earlier CRD: both values its rules admitted.
  await eventually(async () => applyOk(endpoint('stored'), { namespace }), { timeoutMs: 30_000 });
  await applyOk(released(), { serverSide: true });
  // The API server serves the new schema once a new object with those values is refused.
  await eventually(async () => {
    const fresh = await apply(endpoint('probe'), { namespace });
    if (fresh.exitCode === 0) throw new Error('the new CRD is not in force yet');
  });
}, 120_000);

afterAll(async () => {
  await kubectl(['-n', namespace, 'patch', resource, 'stored', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
  await kubectl(['delete', 'crd', resource]);
});

describe('the CRDs upgraded over an object stored with values a newer rule refuses', () => {
  it('serves the status default to the object stored without status', async () => {
    const stored = JSON.parse(await kubectlOk(['-n', namespace, 'get', resource, 'stored', '-o', 'json'])) as { status?: unknown };
    expect(stored.status).toEqual({ observedGeneration: 0 });
  });

  it('takes an edit of another field, and refuses one that keeps a refused value in the field edited', async () => {
    acceptedWithWarnings(await patch('stored', 'merge', { spec: { throughput: { chunks: { min: 1, max: 3 } } } }));
    const retry = await patch('stored', 'merge', { spec: { capacityRetry: { initialBackoff: '20m' } } });
    expect(retry.exitCode).not.toBe(0);
    expect(retry.stderr).toContain('spec.capacityRetry');
  });

  it("takes the operator's status writes, then its deletion and the release of its finalizer", async () => {
    const status = { observedGeneration: 2, conditions: [{ type: 'Synced', status: 'False', reason: 'InvalidSpec', message: 'spec.model.name: refused', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 2 }] };
    acceptedWithWarnings(await patch('stored', 'merge', { status }, 'status'));
    await kubectlOk(['-n', namespace, 'delete', resource, 'stored', '--wait=false']);
    acceptedWithWarnings(await patch('stored', 'json', [{ op: 'remove', path: '/metadata/finalizers' }]));
    await eventually(async () => {
      const gone = await kubectl(['-n', namespace, 'get', resource, 'stored']);
      if (gone.exitCode === 0) throw new Error('still there');
    });
  });
});
