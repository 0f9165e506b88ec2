// Installing pt-operator the ways users do: Helm and kustomize, checked by the real API server.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { cluster, ensureNamespace, kubectl, repoRoot, run, uniqueNamespace } from '../../support/cluster.js';
import { exampleManifests } from '../../support/examples.js';
import { invalidLabelSelectors, validLabelSelectors } from '../../support/label-selectors.js';
import { parseOperatorConfig } from '../../../src/controllers/config.js';
import { normaliseHost } from '../../../src/databricks/index.js';

interface KubeManifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
}

const helm = (args: string[]) => run(cluster().helm, args);
const chart = join(repoRoot, 'charts/pt-operator');

const valueSets: Record<string, string[]> = {
  defaults: [],
  'namespaced, single replica': ['--set', 'watchNamespaces={ml,serving}', '--set', 'replicaCount=1'],
  'default workspace with OAuth M2M, monitoring, network policy': [
    '--set', 'defaultWorkspace.host=https://adb-1234567890123456.7.azuredatabricks.net',
    '--set', 'defaultWorkspace.authType=oauth-m2m',
    '--set', 'defaultWorkspace.existingSecret=dbx-sp',
    '--set', 'metrics.serviceMonitor.enabled=true',
    '--set', 'networkPolicy.enabled=true',
  ],
  'token federation': ['--set', 'tokenFederation.enabled=true', '--set', 'tokenFederation.audience=databricks'],
  'tenant boundaries widened: default workspace by list and label, trusted federation host, cross-namespace adoption': [
    '--set', 'defaultWorkspace.host=https://adb-1234567890123456.7.azuredatabricks.net',
    '--set', 'defaultWorkspace.existingSecret=dbx-pat',
    '--set', 'defaultWorkspace.allowedNamespaces={ml,serving}',
    '--set', 'defaultWorkspace.allowedNamespaceSelector=ptoperator.io/default-workspace=allowed',
    '--set', 'tokenFederation.trustedHosts={https://adb-2.2.azuredatabricks.net}',
    '--set', 'adoption.allowCrossNamespace=true',
    '--set', 'workspaceHosts.allowed={*.azuredatabricks.net,adb-2.2.azuredatabricks.net}',
  ],
  'hostNetwork, no surge': ['--set', 'hostNetwork=true', '--set', 'updateStrategy.rollingUpdate.maxSurge=0', '--set', 'updateStrategy.rollingUpdate.maxUnavailable=1'],
  'secure metrics, CRDs left out, as a subchart with global values, own security contexts and spread': [
    '--set', 'metrics.secure.enabled=true',
    '--set', 'crds.install=false',
    '--set', 'global.imageRegistry=registry.example.com',
    '--set', 'podSecurityContext.runAsUser=1000',
    '--set', 'podSecurityContext.runAsNonRoot=true',
    '--set', 'securityContext.readOnlyRootFilesystem=true',
    '--set-json', 'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"app.kubernetes.io/name":"pt-operator"}}}]',
  ],
};

describe('Helm chart', () => {
  it('passes helm lint', async () => {
    const result = await helm(['lint', chart, '--strict']);
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.exitCode).toBe(0);
  });

  it.each(Object.entries(valueSets))('renders with %s and the API server accepts it (dry-run=server)', async (_name, values) => {
    const rendered = await helm(['template', 'pt-operator', chart, '--namespace', 'pt-operator-system', '--skip-crds', ...values]);
    expect(rendered.stderr).toBe('');
    expect(rendered.exitCode).toBe(0);
    // ServiceMonitor's CRD is not installed on the test cluster: check what the server knows.
    const manifests = rendered.stdout
      .split(/^---$/m)
      .filter((doc) => !/^kind: ServiceMonitor$/m.test(doc))
      .join('---\n');
    for (const namespace of ['ml', 'serving']) await ensureNamespace(namespace);
    const applied = await kubectl(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', '-'], { input: manifests });
    expect(applied.stderr).toBe('');
    expect(applied.exitCode).toBe(0);
  });

  // A platform team installs into a namespace that enforces Pod Security "restricted": the Pods must be admitted with
  // every documented value set, hostNetwork aside (a host namespace, which baseline already refuses).
  it.each(Object.entries(valueSets))("its Pod with %s, where Pod Security enforces restricted: admitted (hostNetwork: refused)", async (name, values) => {
    const namespace = uniqueNamespace('psa-restricted');
    await ensureNamespace(namespace);
    await kubectl(['label', 'namespace', namespace, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/warn=restricted']);
    const rendered = await helm(['template', 'pt-operator', chart, '--namespace', namespace, '--show-only', 'templates/deployment.yaml', ...values]);
    expect(rendered.exitCode).toBe(0);
    const deployment = parse(rendered.stdout) as { spec: { template: { metadata: object; spec: { serviceAccountName: string } } } };
    await kubectl(['create', 'serviceaccount', deployment.spec.template.spec.serviceAccountName, '--namespace', namespace]);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...deployment.spec.template.metadata, name: 'pt-operator-psa' }, spec: deployment.spec.template.spec };
    const created = await kubectl(['create', '--dry-run=server', '--namespace', namespace, '-f', '-'], { input: JSON.stringify(pod) });
    if (name.startsWith('hostNetwork')) {
      expect(created.stderr).toContain('violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true)');
    } else {
      expect(created.stderr).toBe('');
      expect(created.exitCode).toBe(0);
    }
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('refuses values that do not fit values.schema.json with a clear message', async () => {
    const result = await helm(['template', 'pt-operator', chart, '--set', 'logLevel=loud']);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("'/logLevel': value must be one of");
  });

  it.each([
    ['resources.limit.memory=1Gi', "'/resources': additional properties 'limit' not allowed"],
    ['podSecurityContext.runAsUsr=1000', "'/podSecurityContext': additional properties 'runAsUsr' not allowed"],
    ['securityContext.readOnlyRootFileSystem=true', "'/securityContext': additional properties 'readOnlyRootFileSystem' not allowed"],
    ['securityContext.runAsUser=-1', "'/securityContext/runAsUser': minimum: got -1, want 0"],
  ])('refuses a typo in the Kubernetes objects it passes through (%s), which the API server would drop with a warning', async (value, message) => {
    const result = await helm(['template', 'pt-operator', chart, '--set', value]);
    expect(result.stderr).toContain(message);
    expect(result.exitCode).not.toBe(0);
  });

  it('still takes every field of those objects that Kubernetes knows', async () => {
    const result = await helm(['template', 'pt-operator', chart, '--show-only', 'templates/deployment.yaml',
      '--set', 'resources.limits.cpu=1', '--set', 'resources.requests.ephemeral-storage=1Gi', '--set', 'resources.limits.hugepages-2Mi=0',
      '--set-json', 'podSecurityContext={"runAsUser":1000,"runAsGroup":1000,"runAsNonRoot":true,"fsGroup":2000,"fsGroupChangePolicy":"OnRootMismatch","supplementalGroups":[3000],"supplementalGroupsPolicy":"Strict","sysctls":[],"seccompProfile":{"type":"Localhost","localhostProfile":"p.json"},"appArmorProfile":{"type":"RuntimeDefault"},"seLinuxOptions":{"level":"s0:c1"},"seLinuxChangePolicy":"Recursive","windowsOptions":{"runAsUserName":"x"}}',
      '--set-json', 'securityContext={"allowPrivilegeEscalation":false,"privileged":false,"readOnlyRootFilesystem":true,"runAsNonRoot":true,"runAsUser":1000,"runAsGroup":1000,"capabilities":{"drop":["ALL"],"add":[]},"procMount":"Default","seccompProfile":{"type":"RuntimeDefault"},"appArmorProfile":{"type":"RuntimeDefault"},"seLinuxOptions":{},"windowsOptions":{}}']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const applied = await kubectl(['apply', '--dry-run=server', '-f', '-', '--namespace', 'default'], { input: result.stdout });
    expect(applied.stderr).toBe('');
  });

  it('refuses a token-federation default workspace without the projected token (tokenFederation.enabled) it exchanges', async () => {
    const defaultWorkspace = ['--set', 'defaultWorkspace.host=https://adb-1.1.azuredatabricks.net', '--set', 'defaultWorkspace.authType=token-federation'];
    const result = await helm(['template', 'pt-operator', chart, ...defaultWorkspace]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('defaultWorkspace.authType token-federation needs tokenFederation.enabled=true');
    const enabled = await helm(['template', 'pt-operator', chart, ...defaultWorkspace, '--set', 'tokenFederation.enabled=true', '--set', 'tokenFederation.audience=databricks', '--show-only', 'templates/deployment.yaml']);
    expect(enabled.stderr).toBe('');
    expect(enabled.stdout).toMatch(/name: DATABRICKS_AUTH_TYPE\n\s+value: file-oidc/);
    expect(enabled.stdout).toMatch(/name: DATABRICKS_OIDC_TOKEN_FILEPATH/);
  });

  // The default workspace's credentials were environment variables read once at start: a rotated Secret needed a
  // restart. They are files of the mounted Secret now, which the kubelet updates (never with subPath, which it does not).
  it.each([
    ['pat', [['my-token', 'token']], ['--set', 'defaultWorkspace.tokenKey=my-token']],
    ['oauth-m2m', [['id', 'client-id'], ['secret', 'client-secret']], ['--set', 'defaultWorkspace.clientIdKey=id', '--set', 'defaultWorkspace.clientSecretKey=secret']],
  ])("mounts defaultWorkspace.existingSecret read-only for authType %s and points --default-workspace-credentials-dir at it, with no credential in the environment", async (authType, items, keys) => {
    const result = await helm([
      'template', 'pt-operator', chart, '--show-only', 'templates/deployment.yaml',
      '--set', 'defaultWorkspace.host=https://adb-1.1.azuredatabricks.net', '--set', `defaultWorkspace.authType=${authType}`, '--set', 'defaultWorkspace.existingSecret=dbx-creds', ...(keys as string[]),
    ]);
    expect(result.stderr).toBe('');
    type Pod = { containers: { args: string[]; env: { name: string }[]; volumeMounts: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[] }[]; volumes: { name: string; secret?: { secretName: string; items: { key: string; path: string }[] } }[] };
    const pod = (parse(result.stdout) as { spec: { template: { spec: Pod } } }).spec.template.spec;
    const [container] = pod.containers;
    const mount = container?.volumeMounts.find((m) => m.name === 'default-workspace-credentials');
    expect(mount).toEqual({ name: 'default-workspace-credentials', mountPath: '/var/run/secrets/pt-operator/default-workspace', readOnly: true });
    expect(container?.args).toContain(`--default-workspace-credentials-dir=${mount?.mountPath}`);
    expect(pod.volumes.find((v) => v.name === 'default-workspace-credentials')?.secret).toEqual({
      secretName: 'dbx-creds',
      items: (items as string[][]).map(([key, path]) => ({ key, path })),
    });
    expect(container?.env.map((e) => e.name).filter((name) => /^DATABRICKS_(TOKEN|CLIENT_ID|CLIENT_SECRET)$/.test(name))).toEqual([]);

    // Without a default workspace (or with token federation), nothing is mounted.
    const none = await helm(['template', 'pt-operator', chart, '--show-only', 'templates/deployment.yaml']);
    expect(none.stdout).not.toContain('default-workspace-credentials');
  });

  it('hardens the pod: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp', async () => {
    const result = await helm(['template', 'pt-operator', chart, '--show-only', 'templates/deployment.yaml']);
    expect(result.stdout).toMatch(/runAsNonRoot: true/);
    expect(result.stdout).toMatch(/readOnlyRootFilesystem: true/);
    expect(result.stdout).toMatch(/drop:\n\s+- ALL/);
    expect(result.stdout).toMatch(/type: RuntimeDefault/);
    expect(result.stdout).toMatch(/--leader-elect=true/);
  });
});

// helm install succeeded, and the Pod crash-looped on a flag the operator refused (or ran unlike the docs): what the
// chart renders from each value set, the operator's own parsing must take, as `pt-operator run` reads it at start.
describe('the operator starts with the flags and environment the chart renders (platform review)', () => {
  type Container = { args: string[]; env?: { name: string; value?: string }[] };
  const startSets: Record<string, string[]> = {
    ...valueSets,
    'workspace hosts: Databricks domains and an IPv6 address': ['--set-json', 'workspaceHosts.allowed=["*.cloud.databricks.com","[fd00::1]","[FD00:0::2]"]'],
    'capacity patterns with a trailing comma': ['--set-json', 'capacityPatterns="no gpus?,quota,"'],
  };

  it.each(Object.entries(startSets))('%s', async (_name, values) => {
    const rendered = await helm(['template', 'pt-operator', chart, '--namespace', 'pt-operator-system', '--show-only', 'templates/deployment.yaml', ...values]);
    expect(rendered.stderr).toBe('');
    const [container] = (parse(rendered.stdout) as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers;
    // The kubelet expands $(POD_IP) (hostNetwork) before the operator sees it.
    const [command, ...flags] = (container?.args ?? []).map((arg) => arg.replace('$(POD_IP)', '10.0.0.7'));
    const env = Object.fromEntries((container?.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])));
    expect(command).toBe('run');
    const config = parseOperatorConfig(flags, env);
    if (env['DATABRICKS_HOST'] !== undefined) expect(() => normaliseHost(env['DATABRICKS_HOST'] as string)).not.toThrow();
    // What the docs promise of the values: a rollout that failed for another reason is not a lack of GPU capacity.
    expect(config.capacityPatterns.some((p) => p.test('served entity config is invalid: unknown workload size'))).toBe(false);
  });
});

describe('Helm chart conventions (issue 16, finding 10)', () => {
  const template = (...values: string[]) => helm(['template', 'pt-operator', chart, '--namespace', 'pt-operator-system', ...values]);
  const kinds = (text: string) => [...text.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]);

  it("can be a subchart: a parent chart's `global` values pass values.schema.json", async () => {
    const result = await template('--set', 'global.imageRegistry=registry.example.com');
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('installs the CRDs (kept on uninstall) unless crds.install=false', async () => {
    const withCrds = await template();
    expect(kinds(withCrds.stdout).filter((k) => k === 'CustomResourceDefinition')).toHaveLength(2);
    expect(withCrds.stdout).toMatch(/helm\.sh\/resource-policy: keep/);
    const without = await template('--set', 'crds.install=false');
    expect(kinds(without.stdout)).not.toContain('CustomResourceDefinition');
    expect(kinds(without.stdout)).toContain('Deployment');
    // crds.keep=false: the release owns them, and uninstalling it removes them (the value did nothing before: the
    // generated CRDs carry the annotation for kubectl users)
    const notKept = await template('--set', 'crds.keep=false');
    expect(kinds(notKept.stdout).filter((k) => k === 'CustomResourceDefinition')).toHaveLength(2);
    expect(notKept.stdout).not.toMatch(/helm\.sh\/resource-policy/);
  });

  it('spreads two replicas over nodes by default; security contexts, affinity, tolerations and node selector can be set', async () => {
    const defaults = (await template('--show-only', 'templates/deployment.yaml')).stdout;
    expect(defaults).toMatch(/topologySpreadConstraints:\n\s+- maxSkew: 1\n\s+topologyKey: kubernetes.io\/hostname/);
    const custom = (
      await template(
        '--show-only', 'templates/deployment.yaml',
        '--set', 'podSecurityContext.fsGroup=2000',
        '--set', 'securityContext.runAsUser=1001',
        '--set', 'nodeSelector.pool=operators',
        '--set-json', 'tolerations=[{"key":"dedicated","operator":"Equal","value":"operators","effect":"NoSchedule"}]',
        '--set-json', 'affinity={"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"topologyKey":"kubernetes.io/hostname","labelSelector":{"matchLabels":{"app.kubernetes.io/name":"pt-operator"}}}]}}',
      )
    ).stdout;
    expect(custom).toMatch(/fsGroup: 2000/);
    expect(custom).toMatch(/runAsUser: 1001/);
    expect(custom).toMatch(/pool: operators/);
    expect(custom).toMatch(/key: dedicated/);
    expect(custom).toMatch(/podAntiAffinity:/);
  });

  it('serves metrics and probes on two ports with the controller-runtime flags; secure metrics add TLS and the review RBAC', async () => {
    const plain = (await template('--show-only', 'templates/deployment.yaml')).stdout;
    expect(plain).toMatch(/--metrics-bind-address=:8080/);
    expect(plain).toMatch(/--health-probe-bind-address=:8081/);
    expect(plain).not.toMatch(/--probe-address/);
    const secure = await template('--set', 'metrics.secure.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true');
    expect(secure.stdout).toMatch(/--metrics-secure=true/);
    expect(secure.stdout).toMatch(/resources: \["tokenreviews"\]/);
    expect(secure.stdout).toMatch(/resources: \["subjectaccessreviews"\]/);
    expect(secure.stdout).toMatch(/nonResourceURLs: \["\/metrics"\]/);
    expect(secure.stdout).toMatch(/type: kubernetes.io\/tls/);
    expect(secure.stdout).toMatch(/scheme: https/);
  });

  it("secure metrics under Argo CD: docs/argocd.md ignores exactly what changes between two renders (helm template has no lookup)", async () => {
    const render = async () => {
      const result = await template('--set', 'metrics.secure.enabled=true', '--show-only', 'templates/metrics-auth.yaml');
      expect(result.exitCode).toBe(0);
      return parseAllDocuments(result.stdout).map((d) => d.toJS() as KubeManifest).find((m) => m?.kind === 'Secret')!;
    };
    const [first, second] = [await render(), await render()];
    expect(first.data).not.toEqual(second.data);
    expect({ ...first, data: undefined }).toEqual({ ...second, data: undefined });
    // The Application example of the page names that Secret and ignores its data, and keeps the live data on sync.
    const page = readFileSync(join(repoRoot, 'docs/argocd.md'), 'utf8');
    const example = [...page.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!) as { spec?: Record<string, unknown> }).find((doc) => doc?.spec?.['ignoreDifferences']);
    expect(example?.spec?.['ignoreDifferences'] ?? []).toContainEqual({ kind: 'Secret', name: first.metadata.name, namespace: first.metadata.namespace, jsonPointers: ['/data'] });
    expect(example?.spec?.['syncPolicy']).toMatchObject({ syncOptions: expect.arrayContaining(['RespectIgnoreDifferences=true']) });
  });

  it('prints NOTES with next steps after install', async () => {
    // A release of its own (the suite's CRDs and ServiceAccount belong to no release).
    const result = await helm(['install', 'notes-check', chart, '--namespace', 'notes-check', '--set', 'crds.install=false', '--dry-run=client', '--kubeconfig', cluster().kubeconfigAdmin]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/NOTES:[\s\S]*kubectl get pte -A -o wide/);
  });

  // A new user pastes the NOTES' next steps as they are. The examples they apply live in namespace ml: a step that
  // creates the Secret elsewhere, or looks for the endpoint in the default namespace, fails with NotFound.
  it("NOTES' next steps run as printed on a fresh cluster (those that need no running operator)", async () => {
    const result = await helm(['install', 'notes-steps', chart, '--namespace', 'notes-steps', '--set', 'crds.install=false', '--dry-run=client', '--kubeconfig', cluster().kubeconfigAdmin]);
    const steps = result.stdout.split('Next steps:')[1]!.split('\n').map((line) => line.trim()).filter((line) => line.startsWith('kubectl '));
    const runnable = steps.filter((line) => !/ rollout status | wait /.test(line));
    expect(runnable.length).toBeGreaterThanOrEqual(4);
    const env = { ...process.env, PATH: `${join(cluster().kubectl, '..')}:${process.env.PATH ?? ''}`, KUBECONFIG: cluster().kubeconfigAdmin };
    await kubectl(['delete', 'namespace', 'ml', '--ignore-not-found', '--wait=true']); // fresh: the examples' namespace does not exist yet
    try {
      for (const line of runnable) {
        const command = line.replace(/\s+# .*$/, '').replaceAll('<personal access token>', 'dapi-notes-steps').replaceAll('<name>', 'llama-chat');
        const ran = await run('bash', ['-euo', 'pipefail', '-c', command], { env });
        expect(ran.stderr, command).toBe('');
        expect(ran.exitCode, command).toBe(0);
      }
    } finally {
      await kubectl(['delete', 'namespace', 'ml', '--ignore-not-found', '--wait=true']); // the kustomize test below creates it again
    }
  });
});

describe('Helm chart refuses values that would break the operator at run time (platform review)', () => {
  const template = (...values: string[]) => helm(['template', 'pt-operator', chart, '--namespace', 'pt-operator-system', ...values]);

  // The Role grants get and update on the operator's Lease by name: a Lease the operator is told to lead on must be
  // in it, or it cannot renew (docs/upgrade.md keeps pt-operator-leader with extraArgs).
  it('grants the Lease an extraArgs --leader-election-id names, beside the release\'s', async () => {
    const rendered = await template('--set-json', 'extraArgs=["--log-level=debug","--leader-election-id=legacy-leader"]', '--show-only', 'templates/leader-election-rbac.yaml');
    expect(rendered.stderr).toBe('');
    expect(rendered.stdout).toContain('resourceNames: ["pt-operator-leader","legacy-leader"]');
  });

  it('refuses more than one replica with leader election off (each replica would reconcile)', async () => {
    const refused = await template('--set', 'leaderElection.enabled=false');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('leaderElection.enabled=false needs replicaCount=1');
    const single = await template('--set', 'leaderElection.enabled=false', '--set', 'replicaCount=1', '--show-only', 'templates/deployment.yaml');
    expect(single.stderr).toBe('');
    expect(single.stdout).toMatch(/--leader-elect=false/);
  });

  it.each([
    [['--set', 'podDisruptionBudget.minAvailable=2']],
    [['--set', 'podDisruptionBudget.minAvailable=100%']],
    [['--set', 'replicaCount=3', '--set', 'podDisruptionBudget.minAvailable=3']],
    // Kubernetes rounds a percentage of minAvailable up: 51 % of 2 replicas is 2, 67 % of 3 is 3.
    [['--set', 'podDisruptionBudget.minAvailable=51%']],
    [['--set', 'replicaCount=3', '--set', 'podDisruptionBudget.minAvailable=67%']],
  ])('refuses a PodDisruptionBudget that allows no eviction (%j): kubectl drain of its node would wait forever', async (values) => {
    const refused = await template(...values);
    expect(refused.stderr).toMatch(/podDisruptionBudget.minAvailable=\S+ with replicaCount=\d allows no voluntary disruption/);
    expect(refused.exitCode).not.toBe(0);
  });

  it('takes a PodDisruptionBudget that leaves room for one eviction', async () => {
    for (const values of [
      [],
      ['--set', 'replicaCount=3', '--set', 'podDisruptionBudget.minAvailable=2'],
      ['--set', 'podDisruptionBudget.minAvailable=50%'],
      ['--set', 'replicaCount=3', '--set', 'podDisruptionBudget.minAvailable=66%'],
    ]) {
      const result = await template(...values, '--show-only', 'templates/poddisruptionbudget.yaml');
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/kind: PodDisruptionBudget/);
    }
  });

  it('refuses metrics.port equal to healthProbe.port (the operator cannot bind both)', async () => {
    const refused = await template('--set', 'metrics.port=8081');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('metrics.port and healthProbe.port must differ');
  });

  it.each(['labelSelector', 'defaultWorkspace.allowedNamespaceSelector'])('refuses a %s that is not a label selector (values.schema.json)', async (key) => {
    for (const selector of invalidLabelSelectors) {
      const refused = await template('--set-json', `${key}=${JSON.stringify(selector)}`, '--show-only', 'templates/deployment.yaml');
      expect(refused.exitCode, selector).not.toBe(0);
      expect(refused.stderr, selector).toContain(`'/${key.replace('.', '/')}'`);
    }
    for (const selector of validLabelSelectors) {
      const accepted = await template('--set-json', `${key}=${JSON.stringify(selector)}`, '--show-only', 'templates/deployment.yaml');
      expect(accepted.stderr, selector).toBe('');
    }
  });

  it.each(['pollInterval', 'progressInterval'])('refuses a %s of zero, which the operator refuses at start (values.schema.json)', async (key) => {
    for (const zero of ['0', '0s']) {
      const refused = await template('--set-string', `${key}=${zero}`, '--show-only', 'templates/deployment.yaml');
      expect(refused.exitCode, zero).not.toBe(0);
      expect(refused.stderr, zero).toContain(`'/${key}'`);
    }
    const accepted = await template('--set-string', `${key}=300ms`, '--show-only', 'templates/deployment.yaml');
    expect(accepted.stderr).toBe('');
  });

  // It rendered, and the Pod crash-looped on "invalid regular expression".
  it('refuses capacityPatterns that are not regular expressions, naming the bad one', async () => {
    for (const patterns of ['(', 'no gpus,[quota', 'a\\']) {
      const refused = await template('--set-json', `capacityPatterns=${JSON.stringify(patterns)}`, '--show-only', 'templates/deployment.yaml');
      expect(refused.exitCode, patterns).not.toBe(0);
      expect(refused.stderr, patterns).toMatch(/capacityPatterns: ".*" is not a regular expression/);
    }
    // Valid in Go (so the check above passes them) but not in JavaScript, where the operator reads them.
    for (const patterns of ['(?i)out of capacity', 'quota,a(?P<name>b)', 'x(?-i)y', 'gpu(?U:s+)', 'quota,(?sU:.+) exceeded']) {
      const refused = await template('--set-json', `capacityPatterns=${JSON.stringify(patterns)}`, '--show-only', 'templates/deployment.yaml');
      expect(refused.exitCode, patterns).not.toBe(0);
      expect(refused.stderr, patterns).toMatch(/capacityPatterns: ".*" uses Go-only syntax the operator cannot read/);
    }
    // Valid in both, but JavaScript reads them otherwise, without a word: \z, \A and \Q are the letters z, A and Q
    // there, \pL a p and an L, \x{41} 41 x's, [[:alpha:]] a class of ":alph" followed by "]".
    for (const patterns of ['out of capacity\\z', '\\Acapacity', 'quota,\\pL+ gpus', 'gpu\\x{41}', '\\Qa.b\\E', 'no [[:alpha:]]+ left']) {
      const refused = await template('--set-json', `capacityPatterns=${JSON.stringify(patterns)}`, '--show-only', 'templates/deployment.yaml');
      expect(refused.exitCode, patterns).not.toBe(0);
      expect(refused.stderr, patterns).toMatch(/capacityPatterns: ".*" uses Go syntax the operator reads otherwise/);
    }
    // Patterns are separated by commas: a quantifier's comma cuts "x{1,3}" into "x{1" and "3}", literal text to both
    // Go and JavaScript. Refused, naming how to write the comma.
    for (const patterns of ['no gpus{1,3}', 'capacity{2,}']) {
      const refused = await template('--set-json', `capacityPatterns=${JSON.stringify(patterns)}`, '--show-only', 'templates/deployment.yaml');
      expect(refused.exitCode, patterns).not.toBe(0);
      expect(refused.stderr, patterns).toMatch(/capacityPatterns: ".*" is cut by a comma.*\\x2c/);
    }
    const escaped = await template('--set-json', `capacityPatterns=${JSON.stringify('a\\\\z,\\d+ gpus,[:x]')}`, '--show-only', 'templates/deployment.yaml');
    expect(escaped.stderr).toBe('');
    const accepted = await template('--set-json', 'capacityPatterns="no gpus?,quota (exceeded|reached),(?i:gpu),(?<n>x)"', '--show-only', 'templates/deployment.yaml');
    expect(accepted.stderr).toBe('');
    expect(accepted.stdout).toContain('--capacity-patterns=no gpus?,quota (exceeded|reached),(?i:gpu),(?<n>x)');
    // What the chart accepts, the operator reads (the i flag, as config.ts does).
    for (const pattern of ['no gpus?', '(?i:gpu)', '(?<n>x)']) expect(() => new RegExp(pattern, 'i')).not.toThrow();
  });

  it('fits every name into 63 characters with a long release name (Services: DNS-1035 labels)', async () => {
    const release = 'serving-platform-production-europe-west1-blue-green-1';
    expect(release).toHaveLength(53);
    const rendered = await helm([
      'template', release, chart, '--namespace', 'pt-operator-system',
      '--set', 'metrics.secure.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'networkPolicy.enabled=true',
      '--set', 'defaultWorkspace.allowedNamespaceSelector=team=ml',
    ]);
    expect(rendered.stderr).toBe('');
    const manifests = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as KubeManifest & { spec?: Record<string, unknown> }).filter(Boolean);
    expect(manifests.length).toBeGreaterThan(10);
    for (const manifest of manifests) {
      expect(manifest.metadata.name.length, `${manifest.kind} ${manifest.metadata.name}`).toBeLessThanOrEqual(63);
      expect(manifest.metadata.name, manifest.kind).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      if (manifest.kind === 'Service') expect(manifest.metadata.name).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    }
    // The Deployment mounts the generated certificate Secret, and the ServiceMonitor checks the certificate for the Service's name.
    const service = manifests.find((m) => m.kind === 'Service')!;
    const secret = manifests.find((m) => m.kind === 'Secret')!;
    expect(rendered.stdout).toContain(`secretName: ${secret.metadata.name}`);
    expect(rendered.stdout).toContain(`serverName: ${service.metadata.name}.pt-operator-system.svc`);
  });
});

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

describe('container image (static checks; no Docker engine here)', () => {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

  it('pins its base images to exact versions', () => {
    const images = [...dockerfile.matchAll(/^ARG \w+_IMAGE=(\S+)$/gm)].map((m) => m[1] as string);
    expect(images.length).toBeGreaterThanOrEqual(2);
    // An exact Node 24 release (or a digest): never a floating tag such as node:24 or latest.
    for (const image of images) expect(image).toMatch(/^node:24\.\d+\.\d+-[a-z0-9.-]+$|@sha256:[0-9a-f]{64}$/);
  });

  it('runs as a non-root user with production dependencies only', () => {
    const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });

  it('its entrypoint exists in the built output and runs', () => {
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
    expect(entrypoint.at(-1)).toBe('/app/dist/main.js');
    const out = mkdtempSync(join(tmpdir(), 'pt-build-'));
    execFileSync(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', out], { cwd: repoRoot });
    const help = execFileSync(join(repoRoot, 'node_modules/.bin/node'), [join(out, 'main.js'), '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/pt-operator <command>/);
    expect(help).toMatch(/run\s+run the operator/);
  });
});
