// Installing pt-operator the ways users do: Helm and kustomize, checked by the real API server.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseOperatorConfig } from '../../../src/controllers/config.js';
import { kubectl, repoRoot } from '../../support/cluster.js';
import { exampleManifests } from '../../support/examples.js';
import { } from './install-support.js';

describe('kustomize', () => {
  it('deploy/base/pt-operator.yaml is what the chart renders (run `npm run gen:manifests` when this fails)', () => {
    const check = () => execFileSync(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'scripts/render-manifests.ts'), '--check'], { cwd: repoRoot, encoding: 'utf8', stdio: 'pipe' });
    expect(check).not.toThrow();
  });

  it('keeps the CRDs apart: deleting deploy/base cannot delete a CRD (issue 11, finding 7)', async () => {
    const base = await kubectl(['kustomize', join(repoRoot, 'deploy/base')]);
    expect(base.exitCode).toBe(0);
    expect(base.stdout).toMatch(/kind: Deployment/);
    expect(base.stdout).not.toMatch(/kind: CustomResourceDefinition/);
    const crds = await kubectl(['kustomize', join(repoRoot, 'deploy/crds')]);
    expect(crds.stdout.match(/^kind: CustomResourceDefinition$/gm)).toHaveLength(2);
    // Helm keeps them on uninstall; Argo CD neither prunes nor deletes them.
    expect(crds.stdout.match(/helm\.sh\/resource-policy: keep/g)).toHaveLength(2);
    expect(crds.stdout.match(/argocd\.argoproj\.io\/sync-options: Prune=false,Delete=false/g)).toHaveLength(2);
    const deleteBase = await kubectl(['delete', '-k', join(repoRoot, 'deploy/base'), '--dry-run=server']);
    expect(deleteBase.stdout).not.toMatch(/customresourcedefinition/);
  });

  // A platform team's overlay moves deploy/base to a namespace of its own (`namespace:`): kustomize moves every object
  // and the RBAC subjects, not a namespace written in the Deployment's flags. --leader-election-namespace named
  // pt-operator-system, where the operator may hold no Lease: no replica ever led, and nothing was reconciled.
  it('deploy/base moved to another namespace by an overlay: the operator leads on a Lease of that namespace, where its Role grants it', async () => {
    const overlay = mkdtempSync(join(tmpdir(), 'pt-operator-overlay-'));
    try {
      const base = relative(overlay, join(repoRoot, 'deploy/base'));
      writeFileSync(join(overlay, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: platform-operators\nresources:\n  - ${base}\n`);
      const rendered = await kubectl(['kustomize', overlay]);
      expect(rendered.stderr).toBe('');
      type Rule = { resources?: string[]; verbs?: string[]; resourceNames?: string[] };
      type Container = { args: string[]; env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[] };
      type Manifest = {
        kind: string;
        metadata: { name: string; namespace?: string };
        rules?: Rule[];
        subjects?: { kind: string; name: string; namespace: string }[];
        spec?: { template: { spec: { serviceAccountName: string; containers: Container[] } } };
      };
      const manifests = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as Manifest);
      const deployment = manifests.find((m) => m.kind === 'Deployment')!;
      expect(deployment.metadata.namespace).toBe('platform-operators');
      const [container] = deployment.spec!.template.spec.containers;
      // The environment as the kubelet fills it: a fieldRef metadata.namespace is the Pod's namespace.
      const env = Object.fromEntries(container!.env.flatMap((e) =>
        e.value !== undefined ? [[e.name, e.value]] : e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace' ? [[e.name, deployment.metadata.namespace]] : []));
      const config = parseOperatorConfig(container!.args.slice(1), env);
      // The Role that grants the operator's Lease, bound to the Deployment's ServiceAccount.
      const role = manifests.find((m) => m.kind === 'Role' && m.rules?.some((r) => r.resources?.includes('leases') && r.resourceNames?.includes(config.leaderElectionId)));
      expect(role).toBeDefined();
      const binding = manifests.find((m) => m.kind === 'RoleBinding' && m.metadata.namespace === role!.metadata.namespace);
      expect(binding?.subjects).toContainEqual({ kind: 'ServiceAccount', name: deployment.spec!.template.spec.serviceAccountName, namespace: 'platform-operators' });
      expect(config.leaderElectionNamespace).toBe(role!.metadata.namespace);
    } finally {
      rmSync(overlay, { recursive: true, force: true });
    }
  });

  it('kubectl kustomize deploy/ renders, and kubectl apply -k deploy/ installs it on the real control plane', async () => {
    const rendered = await kubectl(['kustomize', join(repoRoot, 'deploy')]);
    expect(rendered.exitCode).toBe(0);
    expect(rendered.stdout).toMatch(/kind: Deployment/);
    expect(rendered.stdout).toMatch(/kind: ProvisionedThroughputEndpoint/);
    const applied = await kubectl(['apply', '--server-side', '--force-conflicts', '-k', join(repoRoot, 'deploy')]);
    expect(applied.stderr).toBe('');
    expect(applied.exitCode).toBe(0);
    // Every example file's endpoint, so an example left out of deploy/examples/kustomization.yaml fails here.
    const expected = exampleManifests('https://unused.example.com')
      .filter((example) => example.kind === 'ProvisionedThroughputEndpoint')
      .map((example) => `provisionedthroughputendpoint.serving.ptoperator.io/${example.metadata.name}`);
    expect(expected.length).toBeGreaterThanOrEqual(3);
    const endpoints = await kubectl(['get', 'pte', '-n', 'ml', '-o', 'name']);
    expect(endpoints.stdout.trim().split('\n').sort()).toEqual(expected.sort());
    // An operator that watches every namespace: a later run's chart installs on a reused cluster would be refused
    // (another release reconciles them), so its Deployment goes; the RBAC stays, the global setup's own.
    await kubectl(['delete', 'deployment', 'pt-operator', '--namespace', 'pt-operator-system', '--ignore-not-found']);
  });
});
