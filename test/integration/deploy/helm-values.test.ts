// Installing pt-operator the ways users do: Helm and kustomize, checked by the real API server.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { invalidLabelSelectors, validLabelSelectors } from '../../support/label-selectors.js';
import { ensureNamespace, eventually, kubectl, kubectlOk, uniqueNamespace } from '../../support/cluster.js';
import { type KubeManifest, helm, chart } from './install-support.js';

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

  // Without leader election every process reconciles. A rolling update's surge Pod (25 % of one replica: one) ran
  // beside the old one until the new one was Ready and the old one had stopped (up to its 30 s grace period): two
  // operators applying each change, what the refusal above keeps from happening. The kube-controller-manager rolls
  // the Deployment here; with no kubelet, Pods stay Pending, so a surge Pod never lets the old one go.
  it('with leaderElection.enabled=false, an upgrade never starts the new Pod beside the old one', async () => {
    const namespace = uniqueNamespace('no-leader-election');
    await ensureNamespace(namespace);
    try {
      const apply = async (logLevel: string) => {
        const rendered = await template('--namespace', namespace, '--set', 'leaderElection.enabled=false', '--set', 'replicaCount=1',
          '--set', `logLevel=${logLevel}`, '--show-only', 'templates/deployment.yaml');
        expect(rendered.stderr).toBe('');
        await kubectlOk(['apply', '--server-side', '--namespace', namespace, '-f', '-'], { input: rendered.stdout });
      };
      await kubectlOk(['create', 'serviceaccount', 'pt-operator', '--namespace', namespace]);
      type Pods = { items: { spec: { containers: { args: string[] }[] } }[] };
      const levels = async () =>
        ((JSON.parse(await kubectlOk(['get', 'pods', '--namespace', namespace, '-o', 'json'])) as Pods).items)
          .map((pod) => pod.spec.containers[0]?.args.find((arg) => arg.startsWith('--log-level=')));
      await apply('info');
      await eventually(async () => expect(await levels()).toEqual(['--log-level=info']));
      await apply('debug');
      // Once the new Pod exists, the old one must be gone (Recreate deletes it first).
      await eventually(async () => expect(await levels()).toContain('--log-level=debug'));
      expect(await levels()).toEqual(['--log-level=debug']);
    } finally {
      await kubectl(['delete', 'namespace', namespace, '--wait=false']);
    }
  });

  it('with leaderElection.enabled=false, refuses an updateStrategy whose rolling update surges, naming the way round', async () => {
    const off = ['--set', 'leaderElection.enabled=false', '--set', 'replicaCount=1', '--show-only', 'templates/deployment.yaml'];
    for (const strategy of [['--set', 'updateStrategy.type=RollingUpdate'], ['--set', 'updateStrategy.rollingUpdate.maxSurge=1']]) {
      const refused = await template(...off, ...strategy);
      expect(refused.exitCode, strategy.join(' ')).not.toBe(0);
      expect(refused.stderr).toMatch(/leaderElection.enabled=false with an updateStrategy that surges \(maxSurge \S+\)/);
    }
    const noSurge = await template(...off, '--set', 'updateStrategy.rollingUpdate.maxSurge=0', '--set', 'updateStrategy.rollingUpdate.maxUnavailable=1');
    expect(noSurge.stderr).toBe('');
    const recreate = await template(...off, '--set', 'updateStrategy.type=Recreate');
    expect(recreate.stderr).toBe('');
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

  it('refuses caBundle from a ConfigMap and a Secret at once: the operator trusts one bundle file', async () => {
    const refused = await template('--set', 'caBundle.configMap.name=corp-trust-bundle', '--set', 'caBundle.secret.name=private-ca');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('caBundle: set configMap.name (corp-trust-bundle) or secret.name (private-ca), not both');
  });

  it.each([
    [['--set', 'caBundle.configMap.name=Corp_CA'], "'/caBundle/configMap/name'"],
    [['--set', 'caBundle.secret.name=private-ca', '--set', 'caBundle.secret.key=ca/crt'], "'/caBundle/secret/key'"],
    [['--set', 'caBundle.configmap.name=corp'], "'/caBundle': additional properties 'configmap' not allowed"],
  ])('refuses a caBundle the kubelet could not mount (%j), naming the value', async (values, message) => {
    const refused = await template(...values);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain(message);
  });

  // An image reference no runtime can parse renders, installs (the API server does not parse it) and leaves every Pod
  // in InvalidImageName: a tag in image.repository ("reg/pt-operator:0.1.0" became "reg/pt-operator:0.1.0:0.1.0"), a
  // digest in image.tag ("pt-operator:sha256:..."), a tag with "+" (semver build metadata), an upper-case path.
  it.each([
    ['image.repository=registry.example.com/pt-operator:0.1.0', "'/image/repository'"],
    ['image.repository=ghcr.io/MyOrg/pt-operator', "'/image/repository'"],
    [`image.tag=sha256:${'0a'.repeat(32)}`, "'/image/tag'"],
    ['image.tag=0.1.0+build.7', "'/image/tag'"],
    ['image.digest=0.1.0', "'/image/digest'"],
  ])('refuses an image reference the kubelet could not pull (%s), naming the value', async (value, message) => {
    const refused = await template('--set', value, '--show-only', 'templates/deployment.yaml');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain(message);
  });

  // Platforms that admit only images pinned by digest (an admission policy, a signature check): image.digest.
  it('pins the image by digest (image.digest), beside a registry with a port', async () => {
    const digest = `sha256:${'0a'.repeat(32)}`;
    const pinned = await template('--set', 'image.repository=registry.example.com:5000/platform/pt-operator', '--set', 'image.tag=0.1.0',
      '--set', `image.digest=${digest}`, '--show-only', 'templates/deployment.yaml');
    expect(pinned.stderr).toBe('');
    expect(pinned.stdout).toContain(`image: "registry.example.com:5000/platform/pt-operator:0.1.0@${digest}"`);
    const tagged = await template('--set', 'image.tag=0.1.0-rc.1_build', '--show-only', 'templates/deployment.yaml');
    expect(tagged.stderr).toBe('');
    expect(tagged.stdout).toContain('image: "ghcr.io/pt-operator/pt-operator:0.1.0-rc.1_build"');
  });

  // The ServiceMonitor selects the metrics Service: without it the chart rendered no ServiceMonitor, and Prometheus
  // scraped nothing, with no word.
  it('refuses metrics.serviceMonitor.enabled without the metrics Service it scrapes', async () => {
    const refused = await template('--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.service.enabled=false');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('metrics.serviceMonitor.enabled=true needs metrics.service.enabled=true');
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
      const accepted = await template('--set-json', `${key}=${JSON.stringify(selector)}`, '--set', 'defaultWorkspace.host=https://adb-1.1.azuredatabricks.net', '--set', 'defaultWorkspace.existingSecret=dbx-pat', '--show-only', 'templates/deployment.yaml');
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
      '--set', 'defaultWorkspace.allowedNamespaceSelector=team=ml', '--set', 'defaultWorkspace.host=https://adb-1.1.azuredatabricks.net', '--set', 'defaultWorkspace.existingSecret=dbx-pat',
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
    expect(rendered.stdout).toContain(`secretName: "${secret.metadata.name}"`);
    expect(rendered.stdout).toContain(`serverName: ${service.metadata.name}.pt-operator-system.svc`);
  });
});
