// Installing pt-operator the ways users do: Helm and kustomize, checked by the real API server.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { cluster, ensureNamespace, kubectl, repoRoot, run, uniqueNamespace } from '../../support/cluster.js';
import { parseOperatorConfig } from '../../../src/controllers/config.js';
import { normaliseHost } from '../../../src/databricks/index.js';
import { createTestCa } from '../../support/test-ca.js';
import { type KubeManifest, helm, chart } from './install-support.js';

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
  'behind a TLS-inspecting proxy: its CA from a trust-manager ConfigMap': [
    '--set-json', 'extraEnv=[{"name":"HTTPS_PROXY","value":"https://proxy.corp:3129"}]',
    '--set', 'caBundle.configMap.name=corp-trust-bundle',
    '--set', 'caBundle.configMap.key=trust-bundle.pem',
  ],
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

/** A TLS handshake to a server with `served` as a scraper makes it: 'verified', or the client's error. */
async function handshake(served: { key: string; cert: string }, client: { ca: string; servername: string }): Promise<string> {
  const server = createServer(served, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, ...client }, () => {
        socket.destroy();
        resolve('verified');
      });
      socket.on('error', (error) => resolve(error.message));
    });
  } finally {
    server.close();
  }
}

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
    ['extraEnv[0].name=DATABRICKS_TOKEN,extraEnv[0].valuefrom.secretKeyRef.name=dbx', "'/extraEnv/0': additional properties 'valuefrom' not allowed"],
    ['extraEnv[0].name=DATABRICKS_TOKEN,extraEnv[0].valueFrom.secretKeyRef.nme=dbx', "'/extraEnv/0/valueFrom/secretKeyRef': additional properties 'nme' not allowed"],
    ['tolerations[0].key=dedicated,tolerations[0].operater=Exists', "'/tolerations/0': additional properties 'operater' not allowed"],
    // Dropped, the selector is {}: every namespace may reach the metrics port, the opposite of what was asked.
    ['networkPolicy.enabled=true,networkPolicy.metricsNamespaceSelector.kubernetes\\.io/metadata\\.name=monitoring', "'/networkPolicy/metricsNamespaceSelector': additional properties 'kubernetes.io/metadata.name' not allowed"],
    ['networkPolicy.enabled=true,networkPolicy.metricsNamespaceSelector.matchLabel.team=monitoring', "'/networkPolicy/metricsNamespaceSelector': additional properties 'matchLabel' not allowed"],
  ])('refuses a typo in the Kubernetes objects it passes through (%s), which the API server would drop with a warning', async (value, message) => {
    const result = await helm(['template', 'pt-operator', chart, '--set', value]);
    expect(result.stderr).toContain(message);
    expect(result.exitCode).not.toBe(0);
  });

  it('refuses an extraEnv value that is not a string (--set reads 8 as a number), which renders and then fails at install', async () => {
    const result = await helm(['template', 'pt-operator', chart, '--set', 'extraEnv[0].name=UV_THREADPOOL_SIZE,extraEnv[0].value=8']);
    expect(result.stderr).toContain("'/extraEnv/0/value': got number, want string");
    expect(result.exitCode).not.toBe(0);
    const quoted = await helm(['template', 'pt-operator', chart, '--set-string', 'extraEnv[0].name=UV_THREADPOOL_SIZE,extraEnv[0].value=8']);
    expect(quoted.stderr).toBe('');
    expect(quoted.exitCode).toBe(0);
  });

  it('still takes every field of those objects that Kubernetes knows', async () => {
    const result = await helm(['template', 'pt-operator', chart, '--show-only', 'templates/deployment.yaml',
      '--set', 'resources.limits.cpu=1', '--set', 'resources.requests.ephemeral-storage=1Gi', '--set', 'resources.limits.hugepages-2Mi=0',
      '--set-json', 'podSecurityContext={"runAsUser":1000,"runAsGroup":1000,"runAsNonRoot":true,"fsGroup":2000,"fsGroupChangePolicy":"OnRootMismatch","supplementalGroups":[3000],"supplementalGroupsPolicy":"Strict","sysctls":[],"seccompProfile":{"type":"Localhost","localhostProfile":"p.json"},"appArmorProfile":{"type":"RuntimeDefault"},"seLinuxOptions":{"level":"s0:c1"},"seLinuxChangePolicy":"Recursive","windowsOptions":{"runAsUserName":"x"}}',
      '--set-json', 'securityContext={"allowPrivilegeEscalation":false,"privileged":false,"readOnlyRootFilesystem":true,"runAsNonRoot":true,"runAsUser":1000,"runAsGroup":1000,"capabilities":{"drop":["ALL"],"add":[]},"procMount":"Default","seccompProfile":{"type":"RuntimeDefault"},"appArmorProfile":{"type":"RuntimeDefault"},"seLinuxOptions":{},"windowsOptions":{}}',
      '--set-json', 'extraEnv=[{"name":"HTTPS_PROXY","value":"http://proxy:3128"},{"name":"EMPTY"},{"name":"A","valueFrom":{"secretKeyRef":{"name":"s","key":"k","optional":true}}},{"name":"B","valueFrom":{"configMapKeyRef":{"name":"c","key":"k","optional":false}}},{"name":"C","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"spec.nodeName"}}},{"name":"D","valueFrom":{"resourceFieldRef":{"containerName":"manager","resource":"limits.memory","divisor":"1Mi"}}}]',
      '--set-json', 'tolerations=[{"key":"dedicated","operator":"Equal","value":"operators","effect":"NoSchedule"},{"operator":"Exists","effect":"NoExecute","tolerationSeconds":30}]',
      '--set', 'networkPolicy.enabled=true', '--show-only', 'templates/networkpolicy.yaml',
      '--set-json', 'networkPolicy.metricsNamespaceSelector={"matchLabels":{"kubernetes.io/metadata.name":"monitoring"},"matchExpressions":[{"key":"team","operator":"In","values":["sre"]},{"key":"sandbox","operator":"DoesNotExist"}]}']);
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

  // Values of the default workspace without its host rendered an operator with no default workspace at all, silently:
  // every endpoint without spec.workspaceRef then waited for a workspace the platform team believed it had configured.
  it.each([
    ['existingSecret', ['--set', 'defaultWorkspace.existingSecret=dbx-pat']],
    ['allowedNamespaces', ['--set-json', 'defaultWorkspace.allowedNamespaces=["team-a"]']],
    ['allowedNamespaceSelector', ['--set', 'defaultWorkspace.allowedNamespaceSelector=ptoperator.io/default-workspace=allowed']],
  ])('refuses defaultWorkspace.%s without defaultWorkspace.host, naming the value to set', async (value, values) => {
    const result = await helm(['template', 'pt-operator', chart, ...values]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain(`defaultWorkspace.${value} is set but defaultWorkspace.host is empty`);
    const withHost = await helm(['template', 'pt-operator', chart, ...values, '--set', 'defaultWorkspace.host=https://adb-1.1.azuredatabricks.net', '--set', 'defaultWorkspace.existingSecret=dbx-pat']);
    expect(withHost.stderr).toBe('');
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

  // A TLS-inspecting proxy's or a private endpoint's CA: mounted read-only as a directory (never with subPath, which the
  // kubelet does not update), so a bundle trust-manager or cert-manager rewrites reaches the operator with no restart.
  it.each([
    ['configMap', ['--set', 'caBundle.configMap.name=corp-trust-bundle', '--set', 'caBundle.configMap.key=trust-bundle.pem'], { configMap: { name: 'corp-trust-bundle', items: [{ key: 'trust-bundle.pem', path: 'ca.crt' }] } }],
    ['secret', ['--set', 'caBundle.secret.name=private-ca'], { secret: { secretName: 'private-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }],
  ])('mounts caBundle.%s read-only and passes --ca-bundle, a path the operator takes', async (_kind, values, source) => {
    const result = await helm(['template', 'pt-operator', chart, '--show-only', 'templates/deployment.yaml', ...(values as string[])]);
    expect(result.stderr).toBe('');
    type Pod = { containers: { args: string[]; volumeMounts: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[] }[]; volumes: { name: string }[] };
    const pod = (parse(result.stdout) as { spec: { template: { spec: Pod } } }).spec.template.spec;
    const [container] = pod.containers;
    expect(container?.volumeMounts.find((m) => m.name === 'ca-bundle')).toEqual({ name: 'ca-bundle', mountPath: '/etc/pt-operator/ca-bundle', readOnly: true });
    expect(pod.volumes.find((v) => v.name === 'ca-bundle')).toEqual({ name: 'ca-bundle', ...source });
    const flag = container?.args.filter((a) => a.startsWith('--ca-bundle'));
    expect(flag).toEqual(['--ca-bundle=/etc/pt-operator/ca-bundle/ca.crt']);
    expect(parseOperatorConfig(container?.args.slice(1) ?? [], {}).caBundle).toBe('/etc/pt-operator/ca-bundle/ca.crt');

    // Without one, nothing is mounted and Node's defaults alone are trusted.
    const none = await helm(['template', 'pt-operator', chart, '--show-only', 'templates/deployment.yaml']);
    expect(none.stdout).not.toContain('ca-bundle');
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

  // docs/argocd.md recommends metrics.secure.certSecret, a cert-manager Certificate for the metrics Service. No public
  // CA signs a *.svc name, so Prometheus must verify it with the issuer's CA, which cert-manager writes beside the
  // certificate (ca.crt); the ServiceMonitor gave Prometheus none, and every scrape failed with "x509: certificate
  // signed by unknown authority". What Prometheus does is done here: the CA from the Secret key the ServiceMonitor
  // names, serverName, verification on, against a server holding that Secret's certificate.
  it.each([
    ['as cert-manager writes it (ca.crt)', [], 'ca.crt'],
    ['with the CA under another key', ['--set', 'metrics.secure.caKey=issuer.pem'], 'issuer.pem'],
  ])("secure metrics with certSecret: the chart's ServiceMonitor verifies the served certificate with certSecret's CA, %s", async (_case, values, key) => {
    const rendered = await template('--set', 'metrics.secure.enabled=true', '--set', 'metrics.secure.certSecret=pt-operator-metrics-cert',
      '--set', 'metrics.serviceMonitor.enabled=true', '--show-only', 'templates/servicemonitor.yaml', ...(values as string[]));
    expect(rendered.stderr).toBe('');
    type SecretKey = { name: string; key: string };
    type TlsConfig = { serverName: string; insecureSkipVerify?: boolean; ca?: { secret?: SecretKey } };
    const monitor = parse(rendered.stdout) as { metadata: { namespace: string }; spec: { endpoints: { scheme: string; tlsConfig: TlsConfig }[] } };
    const [endpoint] = monitor.spec.endpoints;
    expect(endpoint?.scheme).toBe('https');
    const ca = createTestCa('cert-manager in-cluster issuer');
    try {
      const serving = ca.issue(['pt-operator-metrics', 'pt-operator-metrics.pt-operator-system.svc', 'pt-operator-metrics.pt-operator-system.svc.cluster.local']);
      const certSecret: Record<string, string> = { 'tls.crt': serving.cert, 'tls.key': serving.key, [key as string]: ca.certificate };
      const tlsConfig = endpoint!.tlsConfig;
      expect(tlsConfig.insecureSkipVerify ?? false).toBe(false);
      // Prometheus reads the Secret in the ServiceMonitor's own namespace: the release's, where certSecret is.
      expect(tlsConfig.ca?.secret?.name).toBe('pt-operator-metrics-cert');
      const trusted = certSecret[tlsConfig.ca!.secret!.key];
      expect(trusted).toBeDefined();
      await expect(handshake({ key: serving.key, cert: serving.cert }, { ca: trusted!, servername: tlsConfig.serverName })).resolves.toBe('verified');
    } finally {
      ca.remove();
    }
  });

  // Valid release and namespace names that YAML reads as another type when written bare: no, on, y (booleans), 1234.
  it.each([['no', 'on'], ['1234', '2026']])('installs as release %s in namespace %s (names YAML would read as a boolean or a number)', async (release, namespace) => {
    const result = await helm(['install', release, chart, '--namespace', namespace, '--dry-run=client', '--kubeconfig', cluster().kubeconfigAdmin,
      '--set', 'crds.install=false', '--set', 'metrics.secure.enabled=true', '--set', 'networkPolicy.enabled=true', '--set', 'defaultWorkspace.allowedNamespaceSelector=a=b',
      '--set', 'defaultWorkspace.host=https://adb-1.1.azuredatabricks.net', '--set', 'defaultWorkspace.existingSecret=dbx-pat',
      '--set-json', `watchNamespaces=["y","${namespace}"]`]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  // Valid names and keys that YAML (1.1, as Helm and kubectl read it) takes for a boolean or a number when written
  // bare: on, yes, true; 1234, 0x1F, 0. Rendered bare, the object was refused at install ("cannot unmarshal number
  // into Go struct field ... of type string"). Given as strings (a values file, --set-string), they must stay strings.
  it.each([
    ['PAT default workspace, CA bundle from a ConfigMap, secure metrics with its own certificate, network policy', [
      '--set-string', 'fullnameOverride=true', '--set-string', 'serviceAccount.name=1234', '--set-string', 'priorityClassName=on',
      '--set', 'defaultWorkspace.host=https://adb-1.1.azuredatabricks.net', '--set-string', 'defaultWorkspace.existingSecret=yes',
      '--set-string', 'defaultWorkspace.tokenKey=true', '--set-string', 'caBundle.configMap.name=1234', '--set-string', 'caBundle.configMap.key=0x1F',
      '--set', 'metrics.secure.enabled=true', '--set-string', 'metrics.secure.certSecret=0x1f',
      '--set', 'metrics.serviceMonitor.enabled=true', '--set-string', 'metrics.serviceMonitor.interval=0', '--set', 'networkPolicy.enabled=true',
    ], {
      priorityClassName: 'on', serviceAccountName: '1234',
      'default-workspace-credentials': { secret: { secretName: 'yes', items: [{ key: 'true', path: 'token' }] } },
      'ca-bundle': { configMap: { name: '1234', items: [{ key: '0x1F', path: 'ca.crt' }] } },
      'metrics-tls': { secret: { secretName: '0x1f' } },
    }],
    ['OAuth M2M default workspace, CA bundle from a Secret, a ServiceAccount of its own', [
      '--set-string', 'fullnameOverride=0x1f', '--set', 'serviceAccount.create=false', '--set-string', 'serviceAccount.name=on',
      '--set', 'defaultWorkspace.host=https://adb-1.1.azuredatabricks.net', '--set', 'defaultWorkspace.authType=oauth-m2m',
      '--set-string', 'defaultWorkspace.existingSecret=1234', '--set-string', 'defaultWorkspace.clientIdKey=0x1F', '--set-string', 'defaultWorkspace.clientSecretKey=yes',
      '--set-string', 'caBundle.secret.name=true', '--set-string', 'caBundle.secret.key=on',
    ], {
      serviceAccountName: 'on',
      'default-workspace-credentials': { secret: { secretName: '1234', items: [{ key: '0x1F', path: 'client-id' }, { key: 'yes', path: 'client-secret' }] } },
      'ca-bundle': { secret: { secretName: 'true', items: [{ key: 'on', path: 'ca.crt' }] } },
    }],
  ])('renders names and keys YAML would read as a boolean or a number as strings (%s), and the API server accepts them', async (_name, values, pod) => {
    const rendered = await template('--set', 'crds.install=false', ...(values as string[]));
    expect(rendered.stderr).toBe('');
    type Manifest = KubeManifest & { spec?: Record<string, unknown>; roleRef?: { name: unknown }; subjects?: { name: unknown }[] };
    const manifests = parseAllDocuments(rendered.stdout, { version: '1.1' }).map((d) => d.toJS() as Manifest).filter(Boolean);
    for (const manifest of manifests) {
      const names = [manifest.metadata.name, manifest.roleRef?.name, ...(manifest.subjects ?? []).map((s) => s.name)].filter((n) => n !== undefined);
      for (const name of names) expect(typeof name, `a name in ${manifest.kind} ${String(manifest.metadata.name)}`).toBe('string');
    }
    type PodSpec = Record<string, unknown> & { volumes: ({ name: string } & Record<string, unknown>)[] };
    const spec = (manifests.find((m) => m.kind === 'Deployment')!.spec as { template: { spec: PodSpec } }).template.spec;
    const expected = pod as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) {
      if (typeof value === 'string') expect(spec[key], key).toBe(value);
      else expect(spec.volumes.find((v) => v.name === key), key).toMatchObject(value as object);
    }
    const monitor = manifests.find((m) => m.kind === 'ServiceMonitor');
    if (monitor) expect((monitor.spec as { endpoints: { interval: unknown }[] }).endpoints[0]?.interval).toBe('0');
    // ServiceMonitor's CRD is not installed on the test cluster: the server checks the rest.
    const checked = rendered.stdout.split(/^---$/m).filter((doc) => !/^kind: ServiceMonitor$/m.test(doc)).join('---\n');
    const applied = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], { input: checked });
    expect(applied.stderr).toBe('');
    expect(applied.exitCode).toBe(0);
  });

  it('prints NOTES with next steps after install', async () => {
    // A release of its own (the suite's CRDs and ServiceAccount belong to no release).
    const result = await helm(['install', 'notes-check', chart, '--namespace', 'notes-check', '--set', 'crds.install=false', '--dry-run=client', '--kubeconfig', cluster().kubeconfigAdmin]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/NOTES:[\s\S]*kubectl get pte -A -o wide/);
  });

  // A shard (labelSelector) or a release with watchNamespaces reconciles part of the objects only: the example endpoint
  // the next steps apply (namespace ml, no labels) would stay without any status, with nothing saying why.
  it('NOTES of a release that reconciles part of the objects say which, where the next steps would fall outside it', async () => {
    const result = await helm(['install', 'notes-shard', chart, '--namespace', 'notes-shard', '--set', 'crds.install=false', '--dry-run=client',
      '--set', 'labelSelector=shard=a', '--set-json', 'watchNamespaces=["team-a","team-b"]', '--kubeconfig', cluster().kubeconfigAdmin]);
    expect(result.exitCode).toBe(0);
    const notes = result.stdout.split('NOTES:')[1]!;
    expect(notes).toContain('Watching: namespaces team-a, team-b; only endpoint objects whose labels match shard=a (labelSelector).');
    const steps = notes.split('Next steps:')[1]!;
    expect(steps).toContain('namespace ml, which this release does not watch');
    expect(steps).toContain('labels that match shard=a');
    const all = await helm(['install', 'notes-all', chart, '--namespace', 'notes-all', '--set', 'crds.install=false', '--dry-run=client', '--kubeconfig', cluster().kubeconfigAdmin]);
    expect(all.stdout).toContain('Watching: every namespace.');
    expect(all.stdout).not.toContain('does not watch');
  });

  // The NOTES printed the metrics Service's URL with metrics.service.enabled=false (no such Service: the name did not
  // resolve), and named the metrics-reader ClusterRole with rbac.create=false (no such role to bind).
  it.each([
    ['defaults', [], 'Metrics: http://metrics-notes-pt-operator-metrics.metrics-notes.svc:8080/metrics'],
    ['secure metrics', ['--set', 'metrics.secure.enabled=true'], 'Metrics: https://metrics-notes-pt-operator-metrics.metrics-notes.svc:8080/metrics'],
    ['no metrics Service', ['--set', 'metrics.service.enabled=false'], 'Metrics: port 8080 of the operator\'s Pods'],
    ['secure metrics, no metrics Service, RBAC managed elsewhere', ['--set', 'metrics.secure.enabled=true', '--set', 'metrics.service.enabled=false', '--set', 'rbac.create=false'],
      'Metrics: port 8080 of the operator\'s Pods'],
  ])('NOTES name only the metrics objects the release has (%s)', async (_name, values, where) => {
    const result = await helm(['install', 'metrics-notes', chart, '--namespace', 'metrics-notes', '--set', 'crds.install=false', '--dry-run=client',
      '--kubeconfig', cluster().kubeconfigAdmin, ...(values as string[])]);
    expect(result.exitCode).toBe(0);
    const objects = parseAllDocuments(result.stdout.split('NOTES:')[0]!.split('\nMANIFEST:\n')[1]!).map((d) => d.toJS() as KubeManifest).filter(Boolean);
    const names = (kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
    const notes = result.stdout.split('NOTES:')[1]!;
    expect(notes).toContain(where);
    // Every Service and ClusterRole the NOTES name is one the release installs.
    for (const [, service] of notes.matchAll(/:\/\/([a-z0-9-]+)\.metrics-notes\.svc/g)) expect(names('Service')).toContain(service);
    for (const [, role] of notes.matchAll(/ClusterRole\s+(\S+)/g)) expect(names('ClusterRole')).toContain(role);
    if (values.includes('metrics.secure.enabled=true')) expect(notes).toContain('HTTPS');
  });

  // Kubernetes leaves NetworkPolicy undefined for host-network Pods, and many network plugins do not apply it to them:
  // with hostNetwork the chart's NetworkPolicy may let anyone reach the metrics port, and nothing said so. Not refused:
  // a plugin that does apply it, or a baseline that enables networkPolicy for every release, must still install.
  it.each([
    ['plain metrics', [], 'set metrics.secure.enabled=true'],
    ['secure metrics', ['--set', 'metrics.secure.enabled=true'], 'metrics.secure.enabled=true still allows only tokens that may GET /metrics'],
  ])('NOTES of a hostNetwork release with networkPolicy.enabled say the policy may not protect its ports (%s), and what does', async (_name, values, advice) => {
    const install = (...more: string[]) => helm(['install', 'host-network-notes', chart, '--namespace', 'host-network-notes', '--set', 'crds.install=false',
      '--dry-run=client', '--kubeconfig', cluster().kubeconfigAdmin, '--set', 'updateStrategy.rollingUpdate.maxSurge=0', ...(values as string[]), ...more]);
    const both = await install('--set', 'hostNetwork=true', '--set', 'networkPolicy.enabled=true');
    expect(both.stderr).toBe('');
    expect(both.exitCode).toBe(0);
    expect(both.stdout).toContain('kind: NetworkPolicy');
    const notes = both.stdout.split('NOTES:')[1]!.replaceAll('\n', ' ');
    expect(notes).toContain('hostNetwork=true: the NetworkPolicy (networkPolicy.enabled) may not restrict who reaches the operator\'s ports');
    expect(notes).toContain(advice);
    for (const alone of [['--set', 'hostNetwork=true'], ['--set', 'networkPolicy.enabled=true']]) {
      expect((await install(...alone)).stdout.split('NOTES:')[1], alone.join(' ')).not.toContain('NetworkPolicy');
    }
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
