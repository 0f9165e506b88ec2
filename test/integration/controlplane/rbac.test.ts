// The chart's RBAC, rendered by helm and applied by the global setup, is all the operator gets:
// every request below is a real request made with the operator's own credentials.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { attemptName } from '../../support/attempt.js';
import {
  applyOk,
  canI,
  cluster,
  ensureNamespace,
  eventually,
  kubectl,
  kubectlOk,
  rbacTemplates,
  renderChart,
  repoRoot,
  serviceAccountKubeconfig,
  toYaml,
  uniqueNamespace,
  type Identity,
} from '../../support/cluster.js';

const forbidden = /forbidden/i;

function exampleObject(file: string, namespace: string): Record<string, unknown> {
  const document = parseAllDocuments(readFileSync(join(repoRoot, 'deploy/examples', file), 'utf8'))[0];
  const object = document?.toJS() as { metadata: Record<string, unknown> };
  return { ...object, metadata: { ...object.metadata, namespace } };
}

function secret(name: string, namespace: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: { token: 'not-a-real-token' } };
}

/** Sets up a namespace holding what the operator works with: an endpoint, a workspace and a Secret. */
async function seedNamespace(namespace: string): Promise<void> {
  await ensureNamespace(namespace);
  await applyOk([
    exampleObject('llama-chat.yaml', namespace),
    exampleObject('workspace-pat.yaml', namespace),
    secret('dbx-pat', namespace),
  ]);
}

async function expectAllowed(args: string[], as: Identity = 'operator', input?: string): Promise<string> {
  const result = await kubectl(args, { as, input });
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
}

async function expectForbidden(args: string[], as: Identity = 'operator', input?: string): Promise<void> {
  const result = await kubectl(args, { as, input });
  expect(result.exitCode, result.stdout).not.toBe(0);
  expect(result.stderr).toMatch(forbidden);
}

describe('operator RBAC from the chart (watchNamespaces empty: cluster-wide)', () => {
  const namespace = uniqueNamespace('rbac');

  beforeAll(async () => {
    await seedNamespace(namespace);
  });

  it('lists and watches its custom resources in every namespace', async () => {
    const names = await expectAllowed(['get', 'provisionedthroughputendpoints', '--all-namespaces', '-o', 'name']);
    expect(names).toContain('provisionedthroughputendpoint.serving.ptoperator.io/llama-chat');
    await expectAllowed(['get', 'databricksworkspaces', '-n', namespace, 'prod']);
    expect(await canI('watch', 'provisionedthroughputendpoints.serving.ptoperator.io', { allNamespaces: true })).toBe(true);
    expect(await canI('watch', 'databricksworkspaces.serving.ptoperator.io', { allNamespaces: true })).toBe(true);
  });

  it('patches status and finalizers, but cannot create or delete its custom resources', async () => {
    // The operator PATCHes status blind (kubectl patch would GET the subresource first, which is not granted).
    expect(await canI('patch', 'provisionedthroughputendpoints.serving.ptoperator.io', { namespace, subresource: 'status' })).toBe(true);
    expect(await canI('patch', 'databricksworkspaces.serving.ptoperator.io', { namespace, subresource: 'status' })).toBe(true);

    const finalizer = 'serving.ptoperator.io/test-finalizer';
    await expectAllowed(['patch', 'pte', 'llama-chat', '-n', namespace, '--type=merge', '-p', JSON.stringify({ metadata: { finalizers: [finalizer] } })]);
    await expectAllowed(['patch', 'pte', 'llama-chat', '-n', namespace, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);

    await expectForbidden(['delete', 'pte', 'llama-chat', '-n', namespace]);
    await expectForbidden(['create', '-f', '-'], 'operator', toYaml(exampleObject('gpt-oss-model-units.yaml', namespace)));
  });

  it('reads a Secret by name, but cannot list, watch or write Secrets (issue 11, finding 9)', async () => {
    await expectAllowed(['get', 'secret', 'dbx-pat', '-n', namespace, '-o', 'name']);
    await expectForbidden(['get', 'secrets', '-n', namespace]);
    await expectForbidden(['get', 'secrets', '--all-namespaces']);
    expect(await canI('list', 'secrets', { allNamespaces: true })).toBe(false);
    expect(await canI('watch', 'secrets', { allNamespaces: true })).toBe(false);
    expect(await canI('watch', 'secrets', { namespace })).toBe(false);
    await expectForbidden(['create', 'secret', 'generic', 'stolen', '-n', namespace, '--from-literal=a=b']);
    await expectForbidden(['delete', 'secret', 'dbx-pat', '-n', namespace]);
  });

  it('reads its own two CRDs by name (to tell a CRD deletion from a user deletion), and no other CRD', async () => {
    await expectAllowed(['get', 'crd', 'provisionedthroughputendpoints.serving.ptoperator.io', '-o', 'name']);
    await expectAllowed(['get', 'crd', 'databricksworkspaces.serving.ptoperator.io', '-o', 'name']);
    await expectForbidden(['get', 'crd']);
    await expectForbidden(['get', 'crd', 'widgets.kubetest.ptoperator.io']);
    expect(await canI('delete', 'customresourcedefinitions.apiextensions.k8s.io/provisionedthroughputendpoints.serving.ptoperator.io')).toBe(false);
    expect(await canI('update', 'customresourcedefinitions.apiextensions.k8s.io/provisionedthroughputendpoints.serving.ptoperator.io')).toBe(false);
  });

  it('is granted no verb the code does not use: no update of its resources or their status', async () => {
    expect(await canI('update', 'provisionedthroughputendpoints.serving.ptoperator.io', { namespace })).toBe(false);
    expect(await canI('update', 'provisionedthroughputendpoints.serving.ptoperator.io', { namespace, subresource: 'status' })).toBe(false);
    expect(await canI('update', 'provisionedthroughputendpoints.serving.ptoperator.io', { namespace, subresource: 'finalizers' })).toBe(false);
    expect(await canI('create', 'events.events.k8s.io', { namespace })).toBe(false);
  });

  it("reads /version, whose Date header bounds the API server's clock (ClockProbe), with no grant of its own", async () => {
    const version = JSON.parse(await expectAllowed(['get', '--raw', '/version'])) as { gitVersion?: string };
    expect(version.gitVersion).toMatch(/^v1\./);
  });

  it('records core Events (the API the recorder uses)', async (context) => {
    // Names of this attempt's own: a retry would find the first attempt's Event (create: AlreadyExists).
    const coreName = attemptName(context, 'llama-chat.core');
    const involvedObject = { apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'ProvisionedThroughputEndpoint', name: 'llama-chat', namespace };
    const coreEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: coreName, namespace },
      involvedObject,
      reason: 'Creating',
      message: 'creating the serving endpoint',
      type: 'Normal',
      source: { component: 'pt-operator' },
    };
    const eventsApiEvent = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: attemptName(context, 'llama-chat.events'), namespace },
      regarding: involvedObject,
      reason: 'Creating',
      action: 'Create',
      note: 'creating the serving endpoint',
      type: 'Normal',
      eventTime: new Date().toISOString().replace(/\.\d+Z$/, '.000000Z'),
      reportingController: 'ptoperator.io/pt-operator',
      reportingInstance: 'pt-operator-test',
    };
    await expectAllowed(['create', '-f', '-'], 'operator', toYaml(coreEvent));
    await expectForbidden(['create', '-f', '-'], 'operator', toYaml(eventsApiEvent));
    // Recorders PATCH a repeated event blind; kubectl patch would GET first, which the role does not grant.
    expect(await canI('patch', 'events', { namespace })).toBe(true);
    expect(await canI('patch', 'events.events.k8s.io', { namespace })).toBe(false);
    await expectForbidden(['get', 'events.v1.', coreName, '-n', namespace]);
    await expectForbidden(['delete', 'events.v1.', coreName, '-n', namespace]);
  });

  // Its get and update of this Lease of the run's come from the tests' own Role (global-setup: a Lease per test);
  // the chart's rule, its release's Lease only, is asserted with the scoped release below.
  it('holds a leader-election Lease in its own namespace only', async (context) => {
    const { operatorNamespace } = cluster();
    // A Lease of this attempt's own: a retry would find the first attempt's (create: AlreadyExists).
    const leaseName = attemptName(context, `pt-operator-leader-${process.pid}`);
    const lease = (holder: string) =>
      toYaml({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: leaseName, namespace: operatorNamespace },
        spec: { holderIdentity: holder, leaseDurationSeconds: 15 },
      });
    await expectAllowed(['create', '-f', '-'], 'operator', lease('replica-a'));
    await expectAllowed(['get', 'lease', leaseName, '-n', operatorNamespace]);
    await expectAllowed(['replace', '-f', '-'], 'operator', lease('replica-b'));
    const holder = await kubectlOk(['get', 'lease', leaseName, '-n', operatorNamespace, '-o', 'jsonpath={.spec.holderIdentity}']);
    expect(holder).toBe('replica-b');

    expect(await canI('delete', 'leases.coordination.k8s.io', { namespace: operatorNamespace })).toBe(false);
    expect(await canI('create', 'leases.coordination.k8s.io', { namespace })).toBe(false);
  });

  it('is refused everything else', async () => {
    await expectForbidden(['delete', 'namespace', namespace]);
    await expectForbidden(['get', 'configmaps', '-n', namespace]);
    await expectForbidden(['get', 'pods', '--all-namespaces']);
    await expectForbidden(['create', '-f', '-'], 'operator', readFileSync(join(repoRoot, 'crds', 'serving.ptoperator.io_databricksworkspaces.yaml'), 'utf8'));
    await expectForbidden(['create', 'clusterrolebinding', 'escalate', '--clusterrole=cluster-admin', `--user=${cluster().operatorUser}`]);
    expect(await canI('*', '*', { allNamespaces: true })).toBe(false);
    expect(await canI('create', 'serviceaccounts', { namespace: cluster().operatorNamespace, subresource: 'token' })).toBe(false);
  });
});

describe('operator RBAC from the chart (watchNamespaces set: namespaced)', () => {
  // A second release with its own ServiceAccount, so the cluster-wide binding above stays untouched.
  const release = 'pt-operator-scoped';
  const releaseNamespace = uniqueNamespace('pt-scoped-system');
  const watched = uniqueNamespace('watched');
  const unwatched = uniqueNamespace('unwatched');
  let scoped: Identity;

  beforeAll(async () => {
    await seedNamespace(watched);
    await seedNamespace(unwatched);
    await ensureNamespace(releaseNamespace);
    const manifest = await renderChart({ release, namespace: releaseNamespace, values: { watchNamespaces: [watched] }, showOnly: rbacTemplates });
    const bindings = parseAllDocuments(manifest)
      .map((document) => document.toJS() as { kind: string; metadata: { name: string } } | null)
      .filter((object) => object?.kind === 'ClusterRoleBinding')
      .map((object) => object?.metadata.name);
    // Only the CRD read (cluster-scoped by nature) is bound cluster-wide.
    expect(bindings).toEqual([`${release}-crds`]);
    await applyOk(manifest, { serverSide: true });
    // A real ServiceAccount token from the TokenRequest API.
    scoped = { kubeconfig: await serviceAccountKubeconfig(releaseNamespace, release) };
  });

  it('works in the watched namespace', async () => {
    await expectAllowed(['get', 'secret', 'dbx-pat', '-n', watched, '-o', 'name'], scoped);
    await expectAllowed(['get', 'pte', '-n', watched, '-o', 'name'], scoped);
    expect(await canI('patch', 'provisionedthroughputendpoints.serving.ptoperator.io', { as: scoped, namespace: watched, subresource: 'status' })).toBe(true);
  });

  it('reads its own CRDs (a ClusterRoleBinding for that one rule) but lists no Secrets even where it works', async () => {
    await expectAllowed(['get', 'crd', 'provisionedthroughputendpoints.serving.ptoperator.io', '-o', 'name'], scoped);
    await expectForbidden(['get', 'secrets', '-n', watched], scoped);
  });

  it('cannot read Secrets or custom resources anywhere else', async () => {
    await expectForbidden(['get', 'secret', 'dbx-pat', '-n', unwatched], scoped);
    await expectForbidden(['get', 'secrets', '--all-namespaces'], scoped);
    await expectForbidden(['get', 'pte', '-n', unwatched], scoped);
    await expectForbidden(['get', 'pte', '--all-namespaces'], scoped);
  });

  // Least privilege: the release namespace may hold other Leases (another release's, or kube-system's scheduler and
  // controller-manager when installed there); updating one of them takes over or breaks someone else's leader
  // election. create cannot be limited to a name (the name is not known when it is authorized).
  it("keeps its leader-election Lease rights in the release namespace, for its release's Lease only", async () => {
    const own = `leases.coordination.k8s.io/${release}-leader`;
    for (const verb of ['get', 'update']) expect(await canI(verb, own, { as: scoped, namespace: releaseNamespace }), verb).toBe(true);
    expect(await canI('create', 'leases.coordination.k8s.io', { as: scoped, namespace: releaseNamespace })).toBe(true);
    for (const other of ['kube-scheduler', 'pt-operator-other-leader']) {
      for (const verb of ['get', 'update']) expect(await canI(verb, `leases.coordination.k8s.io/${other}`, { as: scoped, namespace: releaseNamespace }), `${verb} ${other}`).toBe(false);
    }
    expect(await canI('update', own, { as: scoped, namespace: watched })).toBe(false);
  });
});

describe('tenant roles from the chart (aggregated into admin, edit and view)', () => {
  const namespace = uniqueNamespace('tenant-roles');
  const other = uniqueNamespace('tenant-other');
  let editor: Identity;
  let viewer: Identity;

  beforeAll(async () => {
    await seedNamespace(namespace);
    await seedNamespace(other);
    await applyOk([
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'editor', namespace } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'viewer', namespace } },
      binding('editor', 'edit', namespace),
      binding('viewer', 'view', namespace),
    ]);
    editor = { kubeconfig: await serviceAccountKubeconfig(namespace, 'editor') };
    viewer = { kubeconfig: await serviceAccountKubeconfig(namespace, 'viewer') };
    // kube-controller-manager folds the chart's roles into the built-in ones.
    await eventually(async () => {
      expect(await canI('create', 'provisionedthroughputendpoints.serving.ptoperator.io', { as: editor, namespace })).toBe(true);
      expect(await canI('list', 'databricksworkspaces.serving.ptoperator.io', { as: viewer, namespace })).toBe(true);
    });
  });

  it('lets a namespace editor write endpoints and workspaces there, and nowhere else', async () => {
    await expectAllowed(['apply', '-f', '-'], editor, toYaml(exampleObject('gpt-oss-model-units.yaml', namespace)));
    await expectAllowed(['patch', 'pte', 'llama-chat', '-n', namespace, '--type=merge', '-p', '{"metadata":{"labels":{"team":"a"}}}'], editor);
    await expectAllowed(['delete', 'pte', 'gpt-oss', '-n', namespace, '--wait=false'], editor);
    await expectForbidden(['get', 'pte', '-n', other], editor);
    await expectForbidden(['apply', '-f', '-'], editor, toYaml(exampleObject('gpt-oss-model-units.yaml', other)));
  });

  it('never lets a tenant write status, which the operator trusts (status.adoption)', async () => {
    const forged = JSON.stringify({ status: { adoption: { endpointId: 'victim-endpoint-id', time: '2026-01-01T00:00:00Z' } } });
    await expectForbidden(['patch', 'pte', 'llama-chat', '-n', namespace, '--subresource=status', '--type=merge', '-p', forged], editor);
    for (const verb of ['patch', 'update']) {
      expect(await canI(verb, 'provisionedthroughputendpoints.serving.ptoperator.io', { as: editor, namespace, subresource: 'status' })).toBe(false);
      expect(await canI(verb, 'databricksworkspaces.serving.ptoperator.io', { as: editor, namespace, subresource: 'status' })).toBe(false);
    }
  });

  it('lets a viewer read but not write', async () => {
    await expectAllowed(['get', 'pte,dbws', '-n', namespace, '-o', 'name'], viewer);
    await expectForbidden(['delete', 'pte', 'llama-chat', '-n', namespace], viewer);
    await expectForbidden(['apply', '-f', '-'], viewer, toYaml(exampleObject('gpt-oss-model-units.yaml', namespace)));
  });
});

function binding(serviceAccount: string, clusterRole: string, namespace: string): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `${serviceAccount}-${clusterRole}`, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
  };
}

describe('chart RBAC rules', () => {
  it('grant no wildcard verbs, resources or API groups', async () => {
    const rules = parseAllDocuments(await renderChart({ showOnly: ['templates/rbac.yaml', 'templates/leader-election-rbac.yaml', 'templates/tenant-rbac.yaml'] }))
      .map((document) => document.toJS() as { rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] })
      .flatMap((object) => object.rules ?? []);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
    }
  });
});
