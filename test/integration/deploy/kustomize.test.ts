// Installing pt-operator the ways users do: Helm and kustomize, checked by the real API server.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
