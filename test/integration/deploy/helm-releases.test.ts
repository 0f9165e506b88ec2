// Installing pt-operator the ways users do: Helm and kustomize, checked by the real API server.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { parse, stringify } from 'yaml';
import { cluster, ensureNamespace, kubectl, kubectlOk, uniqueNamespace } from '../../support/cluster.js';
import { helm, chart } from './install-support.js';

describe('a second release of the chart in the cluster (platform review)', () => {
  // Two operators acting on one object fight over it (each applies its changes, each writes status). The first
  // release is installed for real (no node runs its Pods here); the second is tried with --dry-run=server, which
  // renders against the live cluster as an install does.
  const first = uniqueNamespace('release-one');
  const second = uniqueNamespace('release-two');
  const tenantA = uniqueNamespace('tenant-a');
  const tenantB = uniqueNamespace('tenant-b');
  const admin = ['--kubeconfig', cluster().kubeconfigAdmin];
  const install = (release: string, namespace: string, ...values: string[]) =>
    helm(['install', release, chart, '--namespace', namespace, '--create-namespace', '--set', 'crds.install=false', '--set', 'tenantRoles.create=false', ...admin, ...values]);

  it('refuses a release whose namespaces overlap another release that reconciles them, naming it (also a shard beside a release without a selector); disjoint scopes or two shards install', async () => {
    // Uninstalled when the test ends, failed too: a retry installs it again from scratch (the failed attempt's release,
    // perhaps already made a shard, would refuse the install and answer the checks below in its place).
    onTestFinished(async () => {
      await helm(['uninstall', 'ops', '--namespace', first, '--ignore-not-found', ...admin]);
    });
    for (const namespace of [tenantA, tenantB]) await ensureNamespace(namespace);
    const one = await install('ops', first, '--set', `watchNamespaces={${tenantA}}`);
    expect(one.stderr).toBe('');

    const names = `release "ops" in namespace ${first}`;
    for (const values of [[], ['--set', `watchNamespaces={${tenantA},${tenantB}}`]]) {
      const refused = await install('ops-two', second, '--dry-run=server', ...values);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toContain(`another pt-operator, ${names}, already reconciles the endpoints of namespace ${tenantA}`);
    }
    const disjoint = await install('ops-two', second, '--dry-run=server', '--set', `watchNamespaces={${tenantB}}`);
    expect(disjoint.stderr).not.toContain(names);
    // A shard beside a release without a labelSelector is no shard: the first still reconciles the shard's objects.
    const shard = await install('ops-two', second, '--dry-run=server', '--set', 'labelSelector=shard=b');
    expect(shard.exitCode).not.toBe(0);
    expect(shard.stderr).toContain(`another pt-operator, ${names}, already reconciles the endpoints of namespace ${tenantA}`);
    // upgrading the first release is no conflict with itself
    const upgrade = await helm(['upgrade', 'ops', chart, '--namespace', first, '--reuse-values', '--dry-run=server', ...admin]);
    expect(upgrade.stderr).not.toContain(names);
    expect(upgrade.exitCode).toBe(0);
    // Shards: with a labelSelector on both, the selectors decide (each its own objects).
    const sharded = await helm(['upgrade', 'ops', chart, '--namespace', first, '--reuse-values', '--set', 'labelSelector=shard=a', ...admin]);
    expect(sharded.exitCode, sharded.stderr).toBe(0);
    const other = await install('ops-two', second, '--dry-run=server', '--set', 'labelSelector=shard=b');
    expect(other.stderr).not.toContain(names);
    expect(other.exitCode, other.stderr).toBe(0);
  });
});

describe('a second release beside one installed with rbac.create=false (platform review)', () => {
  // With rbac.create=false (and no tenant roles, no secure metrics) the release installs no ClusterRole, and its
  // RBAC comes from whoever manages the cluster's RBAC (GitOps): the overlap check did not count it, so a second
  // release watching the same namespace installed, and two operators acted on the same objects.
  const first = uniqueNamespace('rbac-managed');
  const second = uniqueNamespace('rbac-managed-two');
  const tenant = uniqueNamespace('tenant-c');
  const admin = ['--kubeconfig', cluster().kubeconfigAdmin];
  const role = `pt-operator-managed-${process.pid}`;

  afterAll(async () => {
    await helm(['uninstall', 'managed', '--namespace', first, '--ignore-not-found', ...admin]);
    await kubectl(['delete', 'clusterrole', role, '--ignore-not-found']);
  });

  it('refuses a release whose namespaces overlap it, naming it; a disjoint one installs', async () => {
    await ensureNamespace(tenant);
    const installed = await helm(['upgrade', '--install', 'managed', chart, '--namespace', first, '--create-namespace', '--set', 'crds.install=false',
      '--set', 'rbac.create=false', '--set', 'tenantRoles.create=false', '--set', `watchNamespaces={${tenant}}`, ...admin]);
    expect(installed.exitCode, installed.stderr).toBe(0);
    // The platform's own RBAC for it: the operator's rules, bound in the namespace it watches.
    const rbac = [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: role }, rules: [
        { apiGroups: ['serving.ptoperator.io'], resources: ['provisionedthroughputendpoints', 'databricksworkspaces'], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: ['serving.ptoperator.io'], resources: ['provisionedthroughputendpoints/status', 'databricksworkspaces/status'], verbs: ['patch'] },
      ] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: role, namespace: tenant },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', name: 'managed-pt-operator', namespace: first }] },
    ];
    const applied = await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }) });
    expect(applied.exitCode, applied.stderr).toBe(0);

    const refused = await helm(['install', 'ops-three', chart, '--namespace', second, '--create-namespace', '--set', 'crds.install=false', '--set', 'tenantRoles.create=false',
      '--set', `watchNamespaces={${tenant}}`, '--dry-run=server', ...admin]);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain(`another pt-operator, release "managed" in namespace ${first}, already reconciles the endpoints of namespace ${tenant}`);
    const disjoint = await helm(['install', 'ops-three', chart, '--namespace', second, '--create-namespace', '--set', 'crds.install=false', '--set', 'tenantRoles.create=false',
      '--set', 'watchNamespaces={elsewhere}', '--dry-run=server', ...admin]);
    expect(disjoint.exitCode, disjoint.stderr).toBe(0);
  });

  // Counting RBAC granted elsewhere must not let a tenant's decoy count: a namespace admin can bind its own
  // ServiceAccount to admin there, which does not grant the status the operator writes.
  it("does not count a tenant admin's decoy whose ServiceAccount it bound to admin in its namespace", async () => {
    const decoyNamespace = uniqueNamespace('tenant-d');
    await ensureNamespace(decoyNamespace);
    await kubectl(['-n', decoyNamespace, 'create', 'rolebinding', 'trudy-admin', '--clusterrole=admin', '--user=trudy']);
    const decoy = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'decoy', namespace: decoyNamespace } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'decoy-admin', namespace: decoyNamespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'decoy', namespace: decoyNamespace }] },
      { apiVersion: 'apps/v1', kind: 'Deployment',
        metadata: { name: 'decoy', namespace: decoyNamespace, labels: { 'app.kubernetes.io/instance': 'decoy' }, annotations: { 'ptoperator.io/watch-namespaces': decoyNamespace } },
        spec: { replicas: 0, selector: { matchLabels: { app: 'decoy' } }, template: { metadata: { labels: { app: 'decoy' } }, spec: { serviceAccountName: 'decoy', containers: [{ name: 'c', image: 'busybox' }] } } } },
    ];
    const planted = await kubectl(['--as=trudy', 'apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: decoy }) });
    expect(planted.exitCode, planted.stderr).toBe(0);
    const install = await helm(['install', 'ops-four', chart, '--namespace', second, '--create-namespace', '--set', 'crds.install=false', '--set', 'tenantRoles.create=false',
      '--set', `watchNamespaces={${decoyNamespace}}`, '--dry-run=server', ...admin]);
    expect(install.stderr).not.toContain('already reconciles');
    expect(install.exitCode, install.stderr).toBe(0);
  });
});

describe("a tenant's Deployment posing as a release (attacker review)", () => {
  // Tenants commonly hold the built-in edit role in their namespace (the chart's tenant role aggregates into it), which
  // creates Deployments. One carrying the chart's scope annotation is no operator: it must not block the platform
  // team's install or upgrade of the real release.
  const platform = uniqueNamespace('platform');
  const tenant = uniqueNamespace('tenant-mallory');
  const admin = ['--kubeconfig', cluster().kubeconfigAdmin];

  it('does not refuse the upgrade of a real release because of it', async () => {
    // Uninstalled when the test ends, failed too: a retry installs it again (helm install of an existing release fails).
    onTestFinished(async () => {
      await helm(['uninstall', 'ops', '--namespace', platform, '--ignore-not-found', ...admin]);
    });
    await ensureNamespace(tenant);
    const installed = await helm(['install', 'ops', chart, '--namespace', platform, '--create-namespace', '--set', 'crds.install=false', '--set', 'tenantRoles.create=false', ...admin]);
    expect(installed.exitCode, installed.stderr).toBe(0);
    await kubectl(['-n', tenant, 'create', 'rolebinding', 'mallory-edit', '--clusterrole=edit', '--user=mallory']);
    const decoy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'decoy', namespace: tenant, labels: { 'app.kubernetes.io/instance': 'ops' }, annotations: { 'ptoperator.io/watch-namespaces': '', 'ptoperator.io/label-selector': '' } },
      spec: { replicas: 0, selector: { matchLabels: { app: 'decoy' } }, template: { metadata: { labels: { app: 'decoy' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    };
    const planted = await kubectl(['--as=mallory', 'apply', '-f', '-'], { input: JSON.stringify(decoy) });
    expect(planted.exitCode, planted.stderr).toBe(0);

    const upgrade = await helm(['upgrade', 'ops', chart, '--namespace', platform, '--reuse-values', '--dry-run=server', ...admin]);
    expect(upgrade.stderr).not.toContain('already reconciles');
    expect(upgrade.exitCode, upgrade.stderr).toBe(0);
  });
});

describe('upgrading a release not named pt-operator to the Lease named after it (platform review)', () => {
  // Releases before this one all led on "pt-operator-leader". A rolling update that moved a running release to
  // "<fullname>-leader" would have an old replica leading on the old Lease and a new one on the new Lease at once.
  const namespace = uniqueNamespace('lease-upgrade');
  const admin = ['--kubeconfig', cluster().kubeconfigAdmin];
  const leaseArg = async (release: string) => {
    const result = await helm(['upgrade', '--install', release, chart, '--namespace', namespace, '--set', 'crds.install=false', '--set', 'tenantRoles.create=false', '--dry-run=server', ...admin]);
    expect(result.stderr).toBe('');
    return /--leader-election-id=(\S+)/.exec(result.stdout)?.[1];
  };
  const lease = (holderIdentity: string) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'pt-operator-leader', namespace },
    spec: { holderIdentity, leaseDurationSeconds: 15 },
  });

  it("keeps pt-operator-leader while one of the release's own Pods holds it; a new release, or another's Lease, gets its own", async () => {
    await ensureNamespace(namespace);
    expect(await leaseArg('ops')).toBe('ops-pt-operator-leader');
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify(lease('ops-pt-operator-5d8f7c9b4-x7k2p')) });
    expect(await leaseArg('ops')).toBe('pt-operator-leader');
    expect(await leaseArg('other')).toBe('other-pt-operator-leader');
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify(lease('ops-pt-operator-extra-5d8f7c9b4-x7k2p')) });
    expect(await leaseArg('ops')).toBe('ops-pt-operator-leader');
  });

  // A Pod's name is its ReplicaSet's name, "-" and 5 random characters, with that base cut to 58 characters: the Pods
  // of a release whose full name has 47 characters or more have names that no longer end "-<hash>-<5 characters>".
  it("keeps pt-operator-leader while one of the release's own Pods holds it, also when the Pod's name was cut to 63 characters", async () => {
    await ensureNamespace(namespace);
    const release = 'ml-platform-serving-prod-europe-west1'; // full name: <release>-pt-operator, 49 characters
    const podName = `${release}-pt-operator-5d8f7c9b4f-`.slice(0, 58) + 'x7k2p';
    expect(podName).toHaveLength(63);
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify(lease(podName)) });
    expect(await leaseArg(release)).toBe('pt-operator-leader');
    expect(await leaseArg('other')).toBe('other-pt-operator-leader');
  });
});

describe('turning crds.install off for a release that installed the CRDs with crds.keep=false (platform review)', () => {
  // Helm deletes what a release no longer renders, and a CRD it deletes takes every object of its kind with it. The
  // release is simulated on the cluster's CRDs: they are given the ownership marks such a release leaves (and lose the
  // keep policy) for the length of the test, and the upgrade is tried with --dry-run=server, which renders as it does.
  const namespace = uniqueNamespace('crd-owner');
  const admin = ['--kubeconfig', cluster().kubeconfigAdmin];
  const crds = ['provisionedthroughputendpoints.serving.ptoperator.io', 'databricksworkspaces.serving.ptoperator.io'];

  it('is refused before Helm deletes them, saying to set crds.keep=true first; with keep set it goes ahead', async () => {
    const before = await Promise.all(crds.map(async (crd) => JSON.parse(await kubectlOk(['get', 'crd', crd, '-o', 'json'])) as { metadata: { annotations?: Record<string, string> } }));
    const marks = ['meta.helm.sh/release-name', 'meta.helm.sh/release-namespace', 'helm.sh/resource-policy'];
    onTestFinished(async () => {
      // the three annotations back as they were (set, or absent)
      for (const [i, crd] of crds.entries()) {
        const annotations = before[i]?.metadata.annotations ?? {};
        await kubectlOk(['annotate', 'crd', crd, '--overwrite', ...marks.map((mark) => (annotations[mark] === undefined ? `${mark}-` : `${mark}=${annotations[mark]}`))]);
      }
    });
    for (const crd of crds) {
      await kubectlOk(['annotate', 'crd', crd, '--overwrite', 'meta.helm.sh/release-name=owner', `meta.helm.sh/release-namespace=${namespace}`, 'helm.sh/resource-policy-']);
    }
    const off = await helm(['install', 'owner', chart, '--namespace', namespace, '--create-namespace', '--dry-run=server', '--set', 'crds.install=false', '--set', 'tenantRoles.create=false', ...admin]);
    expect(off.exitCode).not.toBe(0);
    expect(off.stderr).toContain('crds.install=false would have Helm delete the CRDs this release installed with crds.keep=false');
    expect(off.stderr).toContain('--set crds.keep=true');

    // Kept: Helm leaves them when the release stops rendering them.
    for (const crd of crds) await kubectlOk(['annotate', 'crd', crd, '--overwrite', 'helm.sh/resource-policy=keep']);
    const kept = await helm(['install', 'owner', chart, '--namespace', namespace, '--create-namespace', '--dry-run=server', '--set', 'crds.install=false', '--set', 'tenantRoles.create=false', ...admin]);
    expect(kept.stderr).not.toContain('would have Helm delete the CRDs');
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  });
});

describe('helm upgrade of a release installed with an earlier chart, keeping its values (platform review)', () => {
  // `helm upgrade --reuse-values` renders the new chart with the values the release was installed with, as its own
  // chart computed them: a value this chart added since (caBundle, here) is missing, not at its default. The chart
  // crashed on it ("nil pointer evaluating interface {}.configMap"), or, for a value it could read as empty, rendered
  // other than its defaults say. The earlier release is made from this chart without caBundle (values and schema) and
  // with one template (and the helpers): only its values matter to the upgrade.
  const namespace = uniqueNamespace('earlier-chart');
  const admin = ['--kubeconfig', cluster().kubeconfigAdmin];

  it('refuses --reuse-values naming the missing value; --reset-then-reuse-values upgrades with the values set at install', async () => {
    const earlier = mkdtempSync(join(tmpdir(), 'pt-operator-earlier-chart-'));
    onTestFinished(async () => {
      await helm(['uninstall', 'earlier', '--namespace', namespace, '--ignore-not-found', ...admin]);
      rmSync(earlier, { recursive: true, force: true });
    });
    cpSync(chart, earlier, { recursive: true });
    const values = parse(readFileSync(join(earlier, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    delete values['caBundle'];
    writeFileSync(join(earlier, 'values.yaml'), stringify(values));
    const schema = JSON.parse(readFileSync(join(earlier, 'values.schema.json'), 'utf8')) as { properties: Record<string, unknown>; required?: string[] };
    delete schema.properties['caBundle'];
    schema.required = schema.required?.filter((key) => key !== 'caBundle');
    writeFileSync(join(earlier, 'values.schema.json'), JSON.stringify(schema));
    for (const template of readdirSync(join(earlier, 'templates'))) {
      if (!['serviceaccount.yaml', '_helpers.tpl'].includes(template)) rmSync(join(earlier, 'templates', template));
    }
    // watchNamespaces: its own namespace, where no other release of the cluster's tests reconciles
    const installed = await helm(['install', 'earlier', earlier, '--namespace', namespace, '--create-namespace', '--set', 'logLevel=debug',
      '--set-json', `watchNamespaces=["${namespace}"]`, ...admin]);
    expect(installed.stderr).toBe('');

    const upgrade = (...flags: string[]) =>
      helm(['upgrade', 'earlier', chart, '--namespace', namespace, '--dry-run=server', '--set', 'crds.install=false', '--set', 'tenantRoles.create=false', ...flags, ...admin]);
    const reused = await upgrade('--reuse-values');
    expect(reused.exitCode).not.toBe(0);
    expect(reused.stderr).toMatch(/missing propert(y|ies) .*'caBundle'/);
    expect(reused.stderr).not.toContain('nil pointer');
    const reset = await upgrade('--reset-then-reuse-values');
    expect(reset.stderr).toBe('');
    expect(reset.stdout).toContain('--log-level=debug');
    expect(reset.stdout).toContain(`--namespaces=${namespace}`);
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
  });
});
