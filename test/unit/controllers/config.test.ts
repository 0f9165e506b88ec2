import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_CAPACITY_PATTERNS } from '../../../src/controllers/endpoint/capacity.js';
import { readFileSync } from 'node:fs';
import { LABEL_SELECTOR_GRAMMAR, OPERATOR_OPTIONS, parseOperatorConfig } from '../../../src/controllers/config.js';
import { NAMESPACE_NAME_MAX_LENGTH, NAMESPACE_NAME_PATTERN, POSITIVE_DURATION_PATTERN, WORKSPACE_HOST_GRAMMAR, WORKSPACE_HOST_PATTERN } from '../../../src/api/v1alpha1/index.js';
import { runOperatorCli, servingAddresses } from '../../../src/controllers/run.js';
import { DefaultWorkspaceCredentials } from '../../../src/controllers/workspace/default-credentials.js';
import { ALLOWED_HOST_GRAMMAR, hostAllowed } from '../../../src/controllers/workspace/allowed-hosts.js';
import { normaliseHost } from '../../../src/databricks/index.js';
import type { KubeClient, Logger } from '../../../src/kube/index.js';
import { repoRoot } from '../../support/cluster.js';
import { invalidLabelSelectors, validLabelSelectors } from '../../support/label-selectors.js';

describe('pt-operator run configuration', () => {
  it('has production defaults', () => {
    const config = parseOperatorConfig([], {});
    expect(config).toMatchObject({
      namespaces: [],
      concurrency: 4,
      pollInterval: 300_000,
      progressInterval: 20_000,
      leaderElect: false,
      leaderElectionNamespace: 'pt-operator-system',
      healthProbeBindAddress: { host: '0.0.0.0', port: 8081 },
      metricsBindAddress: { host: '0.0.0.0', port: 8080 },
      probeAddress: undefined,
      metricsSecure: false,
      logLevel: 'info',
      databricksTimeout: 20_000,
      databricksMutationsPer5Minutes: 50,
      databricksReadsPerSecond: 15,
    });
    expect(config.capacityPatterns).toBe(DEFAULT_CAPACITY_PATTERNS);
  });

  it('the operator owns the Databricks rate budget: flags with a digit in their name reach the config', () => {
    const config = parseOperatorConfig(['--databricks-mutations-per-5-minutes=2'], { DATABRICKS_READS_PER_SECOND: '4' });
    expect(config.databricksMutationsPer5Minutes).toBe(2);
    expect(config.databricksReadsPerSecond).toBe(4);
  });

  it('reads flags, and environment variables where no flag is given', () => {
    const config = parseOperatorConfig(['--namespaces=ml, serving', '--leader-elect=true', '--health-probe-bind-address=127.0.0.1:0'], {
      POLL_INTERVAL: '90s',
      MAX_CONCURRENT_RECONCILES: '8',
      LEADER_ELECT: 'false',
      CAPACITY_PATTERNS: 'no gpus,quota',
    });
    expect(config.namespaces).toEqual(['ml', 'serving']);
    expect(config.leaderElect).toBe(true);
    expect(config.healthProbeBindAddress).toEqual({ host: '127.0.0.1', port: 0 });
    expect(config.pollInterval).toBe(90_000);
    expect(config.concurrency).toBe(8);
    expect(config.capacityPatterns.map((p) => p.test('No GPUs left'))).toEqual([true, false]);
  });

  it.each(['leader-elect', 'metrics-secure', 'allow-cross-namespace-adoption'])('--%s alone means true, as a Go boolean flag', (flag) => {
    const key = flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as 'leaderElect' | 'metricsSecure' | 'allowCrossNamespaceAdoption';
    expect(parseOperatorConfig([`--${flag}`], {})[key]).toBe(true);
    expect(parseOperatorConfig([`--${flag}=true`], {})[key]).toBe(true);
    expect(parseOperatorConfig([`--${flag}=false`], { [flag.toUpperCase().replaceAll('-', '_')]: 'true' })[key]).toBe(false);
    // a bare boolean flag does not take the next argument: the next flag is read as a flag
    const config = parseOperatorConfig([`--${flag}`, '--namespaces=ml'], {});
    expect([config[key], config.namespaces]).toEqual([true, ['ml']]);
    expect(() => parseOperatorConfig([`--${flag}=yes`], {})).toThrow(new RegExp(`--${flag} \\(or [A-Z_]+\\): "yes" is not true or false`));
  });

  it('boolean environment variables still work; a value after a bare boolean flag is refused, not swallowed', () => {
    expect(parseOperatorConfig([], { LEADER_ELECT: 'true', METRICS_SECURE: '1', ALLOW_CROSS_NAMESPACE_ADOPTION: 'true' })).toMatchObject({
      leaderElect: true,
      metricsSecure: true,
      allowCrossNamespaceAdoption: true,
    });
    expect(() => parseOperatorConfig(['--leader-elect', 'false'], {})).toThrow(/unexpected argument "false": a boolean flag takes its value after "=", as --leader-elect=false/);
  });

  it('names every bad flag and its environment variable in one error', () => {
    expect(() => parseOperatorConfig(['--poll-interval=5 minutes', '--concurrency=0'], { LOG_LEVEL: 'loud' })).toThrow(
      /--concurrency \(or MAX_CONCURRENT_RECONCILES\)[\s\S]*--poll-interval \(or POLL_INTERVAL\): "5 minutes" is not a duration[\s\S]*--log-level \(or LOG_LEVEL\)/,
    );
  });

  // 0 would re-read (or time out) without pause: --poll-interval=0 sent 14 GETs a second for two endpoints
  it.each(['poll-interval', 'progress-interval', 'workspace-retry-interval', 'workspace-verify-interval', 'model-info-ttl', 'databricks-timeout'])(
    '--%s must be more than zero: 0 is an invalid configuration, not a hot loop',
    (flag) => {
      for (const zero of ['0', '0s', '0.0ms', '00m']) {
        expect(() => parseOperatorConfig([`--${flag}=${zero}`], {}), zero).toThrow(
          new RegExp(`invalid configuration:[\\s\\S]*--${flag} \\(or [A-Z_]+\\): "${zero.replace('.', '\\.')}" is not a duration of more than zero`),
        );
      }
      expect(() => parseOperatorConfig([`--${flag}=300ms`], {})).not.toThrow();
    },
  );

  it('--slow-reconcile-after=0 and --shutdown-timeout=0 still mean off and no wait', () => {
    expect(parseOperatorConfig(['--slow-reconcile-after=0', '--shutdown-timeout=0s'], {})).toMatchObject({ slowReconcileAfter: 0, shutdownTimeout: 0 });
  });

  it.each(['--help', '-h'])('run %s prints every flag with its environment variable, default and help, and exits 0', async (arg) => {
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((text: string) => void printed.push(text));
    try {
      expect(await runOperatorCli([arg])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const usage = printed.join('\n').replace(/\s+/g, ' ');
    expect(usage).toMatch(/^usage: pt-operator run \[flags\]/);
    expect(usage).toContain('A boolean flag alone means true');
    for (const [flag, option] of Object.entries(OPERATOR_OPTIONS)) {
      expect(usage).toContain(`--${flag} (${option.env}`);
      expect(usage).toContain(option.help);
    }
    expect(usage).toContain('--poll-interval (POLL_INTERVAL, default 5m)');
    expect(usage).toContain('--leader-elect (LEADER_ELECT, default false)');
  });

  it('run --kubeconfig takes a list as $KUBECONFIG does (missing files skipped; none existing is an error naming both)', async () => {
    await expect(runOperatorCli(['--kubeconfig=/nonexistent-a:/nonexistent-b'])).rejects.toThrow(
      'KUBECONFIG (or --kubeconfig) names no file that exists: /nonexistent-a, /nonexistent-b',
    );
  });

  it('--ca-bundle (or CA_BUNDLE) names the bundle; unset, none', () => {
    expect(parseOperatorConfig([], {}).caBundle).toBeUndefined();
    expect(parseOperatorConfig([], { CA_BUNDLE: '/etc/pt-operator/ca-bundle/ca.crt' }).caBundle).toBe('/etc/pt-operator/ca-bundle/ca.crt');
    expect(parseOperatorConfig(['--ca-bundle', '/a.pem'], { CA_BUNDLE: '/b.pem' }).caBundle).toBe('/a.pem');
  });

  it('run --ca-bundle naming a file that does not exist stops the start in one line naming the flag and the file, before any connection', async () => {
    // the kubeconfig would fail next: the bundle is checked first
    await expect(runOperatorCli(['--ca-bundle=/nonexistent/ca.pem', '--kubeconfig=/nonexistent-a'])).rejects.toThrow(
      /^--ca-bundle \(CA_BUNDLE\) \/nonexistent\/ca\.pem: no such file \(is the ConfigMap or Secret mounted there\?\)$/,
    );
  });

  // An empty item was a pattern that matches every message: each failed rollout (a bad config too) counted as a lack of
  // GPU capacity and was retried, as helm rendered the value ("no gpus," or "a,,b") unchanged.
  it.each(['no gpus,', 'no gpus, ,quota', ',no gpus'])('--capacity-patterns=%j: an empty item matches nothing, as other list flags skip it', (value) => {
    const { capacityPatterns } = parseOperatorConfig([`--capacity-patterns=${value}`], {});
    expect(capacityPatterns.some((p) => p.test('No GPUs left'))).toBe(true);
    expect(capacityPatterns.some((p) => p.test('served entity config is invalid: unknown workload size'))).toBe(false);
  });

  // Patterns are separated by commas, so a quantifier's comma cut "x{1,3}" into "x{1" and "3}", two patterns
  // JavaScript reads as literal text: the flag took them and matched other messages than the one written.
  it.each(['no gpus{1,3}', 'capacity{2,}', 'a,{0,1}b'])('--capacity-patterns=%j: a comma inside a quantifier is refused, naming \\x2c', (value) => {
    expect(() => parseOperatorConfig([`--capacity-patterns=${value}`], {})).toThrow(/comma.*\\x2c/);
  });

  it('--capacity-patterns with a comma written as \\x2c inside a quantifier matches as written', () => {
    const { capacityPatterns } = parseOperatorConfig(['--capacity-patterns=no gpus{1\\x2c3}'], {});
    expect(capacityPatterns.map((p) => p.source)).toEqual(['no gpus{1\\x2c3}']);
  });

  it('--capacity-patterns of commas only is the built-in set, as an empty value', () => {
    expect(parseOperatorConfig(['--capacity-patterns=, ,'], {}).capacityPatterns).toBe(DEFAULT_CAPACITY_PATTERNS);
  });

  it('refuses unknown flags', () => {
    expect(() => parseOperatorConfig(['--poll=5m'], {})).toThrow(/unknown flag --poll\b/);
  });

  // A misspelled flag, or one copied from a kubebuilder (Go) operator's Deployment, stops the start with an error that
  // names it and the flag meant, not Node's advice to pass it as a positional argument after "--" (refused anyway), and
  // not "Unknown option '-l'" for Go's single-dash -leader-elect.
  it.each([
    [['--metric-bind-address=:9090'], /unknown flag --metric-bind-address: did you mean --metrics-bind-address\?/],
    [['--poll=5m'], /unknown flag --poll: did you mean --poll-interval\?/],
    [['--zap-log-level=debug'], /unknown flag --zap-log-level: did you mean --log-level\?/],
    [['-leader-elect'], /unknown flag -leader-elect: flags take two dashes, as --leader-elect/],
    [['-metrics-bind-address=:8080'], /unknown flag -metrics-bind-address: flags take two dashes, as --metrics-bind-address=:8080/],
    [['--namespaces', 'ml', '--no-such-thing'], /unknown flag --no-such-thing; `pt-operator run --help` lists the flags/],
  ])('a misspelled flag %j is named with the flag meant', (argv, message) => {
    let error: Error | undefined;
    try {
      parseOperatorConfig(argv, {});
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toMatch(/positional|Unknown option '-l'/);
  });

  it('tenant boundaries are closed by default; trusted federation hosts are normalised and checked', () => {
    expect(parseOperatorConfig([], {})).toMatchObject({ defaultWorkspaceNamespaces: [], federationTrustedHosts: [], allowCrossNamespaceAdoption: false });
    const config = parseOperatorConfig(['--default-workspace-namespaces=ml,serving', '--federation-trusted-hosts=https://ADB-1.azuredatabricks.net:443/'], {});
    expect(config.defaultWorkspaceNamespaces).toEqual(['ml', 'serving']);
    expect(config.federationTrustedHosts).toEqual(['https://adb-1.azuredatabricks.net']);
    expect(() => parseOperatorConfig(['--federation-trusted-hosts=http://evil.example.com'], {})).toThrow(/--federation-trusted-hosts \(or FEDERATION_TRUSTED_HOSTS\): .*only allowed for loopback/);
    expect(parseOperatorConfig([], {}).allowedWorkspaceHosts).toEqual([]);
    expect(parseOperatorConfig(['--allowed-workspace-hosts=*.Cloud.Databricks.com,adb-1.azuredatabricks.net.'], {}).allowedWorkspaceHosts).toEqual(['*.cloud.databricks.com', 'adb-1.azuredatabricks.net']);
    expect(() => parseOperatorConfig(['--allowed-workspace-hosts=https://adb-1.azuredatabricks.net'], {})).toThrow(/--allowed-workspace-hosts .*host names/);
  });

  it('serves metrics and probes on two ports (controller-runtime flags); "0" turns metrics off', () => {
    expect(parseOperatorConfig(['--metrics-bind-address=0'], {}).metricsBindAddress).toBeNull();
    expect(parseOperatorConfig([], { METRICS_BIND_ADDRESS: '127.0.0.1:9090' }).metricsBindAddress).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(() => parseOperatorConfig(['--health-probe-bind-address=0'], {})).toThrow(/--health-probe-bind-address .*"0" is not host:port/);
  });

  it('keeps --probe-address for one release: one port for probes and metrics, with a deprecation warning', () => {
    const config = parseOperatorConfig(['--probe-address=:9443'], {});
    const warnings: string[] = [];
    const log = { warn: (message: string) => void warnings.push(message) } as unknown as Logger;
    const serving = servingAddresses(config, {} as KubeClient, log);
    expect(serving).toEqual({ probes: { host: '0.0.0.0', port: 9443 }, metrics: { host: '0.0.0.0', port: 9443, withProbes: true } });
    expect(warnings).toEqual([expect.stringContaining('--probe-address (PROBE_ADDRESS) is deprecated')]);
    expect(servingAddresses(parseOperatorConfig([], {}), {} as KubeClient, log)).toEqual({
      probes: { host: '0.0.0.0', port: 8081 },
      metrics: { host: '0.0.0.0', port: 8080 },
    });
  });

  it('--metrics-secure without a certificate is a clear error at start-up', () => {
    const config = parseOperatorConfig(['--metrics-secure=true', '--metrics-cert-dir=/nonexistent'], {});
    expect(() => servingAddresses(config, {} as KubeClient, {} as Logger)).toThrow(/--metrics-secure needs tls.crt and tls.key in --metrics-cert-dir \/nonexistent/);
  });

  it.each([
    ['ptoperator.io/default-workspace=allowed', true],
    ['team in (a, b),!legacy', true],
    ['env!=prod,tier', true],
    ['team=', true],
    ['=allowed', false],
    ['team in a,b', false],
    ['a b', false],
  ])('--default-workspace-namespace-selector %j is valid: %s', (selector, valid) => {
    const parse = () => parseOperatorConfig([`--default-workspace-namespace-selector=${selector}`], {});
    if (valid) expect(parse().defaultWorkspaceNamespaceSelector).toBe(selector);
    else expect(parse).toThrow(/--default-workspace-namespace-selector \(or DEFAULT_WORKSPACE_NAMESPACE_SELECTOR\): not a label selector/);
  });
});

describe("the chart's values.schema.json and the operator agree on label selectors (a typo fails helm, not the pod)", () => {
  const schema = JSON.parse(readFileSync(`${repoRoot}/charts/pt-operator/values.schema.json`, 'utf8')) as {
    definitions: { labelSelector: { pattern: string } };
    properties: { labelSelector: { $ref: string }; defaultWorkspace: { properties: { allowedNamespaceSelector: { $ref: string } } } };
  };
  const schemaPattern = new RegExp(schema.definitions.labelSelector.pattern);

  it('the schema pattern is the operator grammar (empty allowed: no selector)', () => {
    expect(schema.definitions.labelSelector.pattern).toBe(`^\\s*(${LABEL_SELECTOR_GRAMMAR})?\\s*$`);
    expect(schema.properties.labelSelector.$ref).toBe('#/definitions/labelSelector');
    expect(schema.properties.defaultWorkspace.properties.allowedNamespaceSelector.$ref).toBe('#/definitions/labelSelector');
  });

  it.each(['label-selector', 'default-workspace-namespace-selector'])('--%s accepts what the schema accepts and refuses what it refuses', (flag) => {
    for (const selector of validLabelSelectors) {
      expect(schemaPattern.test(selector), selector).toBe(true);
      expect(() => parseOperatorConfig([`--${flag}=${selector}`], {}), selector).not.toThrow();
    }
    for (const selector of invalidLabelSelectors) {
      expect(schemaPattern.test(selector), selector).toBe(false);
      expect(() => parseOperatorConfig([`--${flag}=${selector}`], {}), selector).toThrow(/not a label selector/);
    }
  });
});

describe("the chart's values.schema.json and the operator agree on intervals (0 fails helm, not the pod)", () => {
  const schema = JSON.parse(readFileSync(`${repoRoot}/charts/pt-operator/values.schema.json`, 'utf8')) as {
    definitions: { positiveDuration: { pattern: string } };
    properties: { pollInterval: { $ref: string }; progressInterval: { $ref: string } };
  };

  it('pollInterval and progressInterval follow the operator rule for a duration of more than zero', () => {
    expect(schema.definitions.positiveDuration.pattern).toBe(POSITIVE_DURATION_PATTERN);
    expect(schema.properties.pollInterval.$ref).toBe('#/definitions/positiveDuration');
    expect(schema.properties.progressInterval.$ref).toBe('#/definitions/positiveDuration');
  });

  it.each([
    ['0', false],
    ['0s', false],
    ['0m0.0s', false],
    ['1ms', true],
    ['0.5s', true],
    ['0s10ms', true],
    ['1h30m', true],
    ['5 minutes', false],
  ])('%j: the schema and --poll-interval agree (valid: %s)', (value, valid) => {
    expect(new RegExp(schema.definitions.positiveDuration.pattern).test(value)).toBe(valid);
    if (valid) expect(parseOperatorConfig([`--poll-interval=${value}`], {}).pollInterval).toBeGreaterThan(0);
    else expect(() => parseOperatorConfig([`--poll-interval=${value}`], {})).toThrow(/--poll-interval/);
  });
});

describe('the default workspace of the environment', () => {
  const defaultConnection = (env: NodeJS.ProcessEnv) => new DefaultWorkspaceCredentials(env, undefined).current;

  it('is none without DATABRICKS_HOST, and a connection with a valid one', () => {
    expect(defaultConnection({})).toEqual({ error: 'DATABRICKS_HOST is not set' });
    expect(defaultConnection({ DATABRICKS_HOST: 'https://ADB-1.azuredatabricks.net/', DATABRICKS_TOKEN: 'dapi-x' })).toEqual({
      host: 'https://adb-1.azuredatabricks.net',
      auth: { type: 'pat', token: 'dapi-x' },
    });
  });

  // It was a running, ready operator whose default-workspace endpoints all stayed WorkspaceNotReady.
  it.each([
    [{ DATABRICKS_HOST: 'http://user:hunter2@127.0.0.1:18400', DATABRICKS_TOKEN: 'dapi-x' }, /must not contain credentials/],
    [{ DATABRICKS_HOST: 'ftp://x', DATABRICKS_TOKEN: 'dapi-x' }, /must use https:\/\//],
    [{ DATABRICKS_HOST: 'https://adb-1.azuredatabricks.net', DATABRICKS_TOKEN: 'dapi-x', DATABRICKS_AUTH_TYPE: 'bogus' }, /DATABRICKS_AUTH_TYPE=bogus is not supported/],
    [{ DATABRICKS_HOST: 'https://adb-1.azuredatabricks.net' }, /no Databricks credentials in the environment/],
  ])('DATABRICKS_HOST set but the environment invalid (%j) is a start-up error that echoes no credential', async (env, reason) => {
    expect(() => defaultConnection(env)).toThrow(/^invalid default workspace \(DATABRICKS_\* environment\): /);
    expect(() => defaultConnection(env)).toThrow(reason);
    expect(() => defaultConnection(env)).not.toThrow(/hunter2|dapi-x/);
  });
});

// The chart refused these values; the flags took them, and the operator watched namespaces that cannot exist.
describe('namespace flags take namespace names (DNS-1123 labels), as the chart does', () => {
  const schema = JSON.parse(readFileSync(`${repoRoot}/charts/pt-operator/values.schema.json`, 'utf8')) as {
    properties: { watchNamespaces: { items: { pattern: string; maxLength: number } }; defaultWorkspace: { properties: { allowedNamespaces: { items: { pattern: string; maxLength: number } } } } };
  };

  it.each([
    ['namespaces', 'WATCH_NAMESPACES', 'Team_A,team-a '],
    ['namespaces', 'WATCH_NAMESPACES', '*'],
    ['default-workspace-namespaces', 'DEFAULT_WORKSPACE_NAMESPACES', 'team a'],
    ['default-workspace-namespaces', 'DEFAULT_WORKSPACE_NAMESPACES', `ml,${'a'.repeat(64)}`],
  ])('--%s (%s) refuses %j', (flag, env, value) => {
    expect(() => parseOperatorConfig([`--${flag}=${value}`], {})).toThrow(new RegExp(`--${flag} \\(or ${env}\\): "[^"]+" is not a namespace name`));
  });

  it('accepts namespace names, and "*" for the default workspace', () => {
    expect(parseOperatorConfig(['--namespaces=ml, team-a ', '--default-workspace-namespaces=*'], {})).toMatchObject({ namespaces: ['ml', 'team-a'], defaultWorkspaceNamespaces: ['*'] });
  });

  it('the chart schema holds the same pattern', () => {
    expect(schema.properties.watchNamespaces.items).toMatchObject({ pattern: NAMESPACE_NAME_PATTERN, maxLength: NAMESPACE_NAME_MAX_LENGTH });
    expect(schema.properties.defaultWorkspace.properties.allowedNamespaces.items.maxLength).toBe(NAMESPACE_NAME_MAX_LENGTH);
    expect(schema.properties.defaultWorkspace.properties.allowedNamespaces.items.pattern).toBe(`^(\\*|${NAMESPACE_NAME_PATTERN.slice(1, -1)})$`);
  });
});

describe("the chart's workspace hosts follow the DatabricksWorkspace rule (a bad port fails helm, not every endpoint)", () => {
  const schema = JSON.parse(readFileSync(`${repoRoot}/charts/pt-operator/values.schema.json`, 'utf8')) as {
    properties: { defaultWorkspace: { properties: { host: { pattern: string } } }; tokenFederation: { properties: { trustedHosts: { items: { pattern: string } } } } };
  };

  it('defaultWorkspace.host (empty: none) and tokenFederation.trustedHosts hold spec.host\'s pattern', () => {
    expect(schema.properties.defaultWorkspace.properties.host.pattern).toBe(`^(${WORKSPACE_HOST_GRAMMAR})?$`);
    expect(schema.properties.tokenFederation.properties.trustedHosts.items.pattern).toBe(WORKSPACE_HOST_PATTERN);
  });

  // defaultWorkspace.host is DATABRICKS_HOST and trustedHosts is --federation-trusted-hosts, both read at start: a
  // host the schema took and the operator's URL parser did not was a successful helm install and a crash loop.
  it.each([
    ['https://adb-1.azuredatabricks.net', true],
    ['https://[fd00::1]:8443', true],
    ['https://[::ffff:10.0.0.1]', true],
    ['http://[::1]:8089', true],
    ['https://[:::]', false],
    ['https://[1.2.3.4]', false],
    ['https://[fd00::1::2]', false],
    ['https://[1:2:3:4:5:6:7:8:9]', false],
    ['https://adb-1<2.azuredatabricks.net', false],
    ['https://adb|1.azuredatabricks.net', false],
    ['https://adb^1.azuredatabricks.net', false],
    ['https://adb%zz.azuredatabricks.net', false],
    // URL reads "\\" as "/": the host would end there, the rest a path.
    ['https://adb-1.azuredatabricks.net\\ml', false],
    // A host whose last label is a number is an IPv4 address to URL: one that is no address was taken, then refused.
    ['https://10.0.0.1', true],
    ['https://10.0.0.1.', true],
    ['https://adb-1.7x', true],
    ['https://10.0.0.256', false],
    ['https://1.2.3.4.5', false],
    ['https://adb-1.azuredatabricks.0x1g.7', false],
    ['http://127.0.0.1:8089', true],
    ['http://127.0.0.300:8089', false],
    ['https://adb\u00001.azuredatabricks.net', false],
  ])('%s: taken %s by the schema, and what it takes the operator reads at start', (host, taken) => {
    expect(new RegExp(schema.properties.defaultWorkspace.properties.host.pattern).test(host)).toBe(taken);
    expect(new RegExp(schema.properties.tokenFederation.properties.trustedHosts.items.pattern).test(host)).toBe(taken);
    if (taken) {
      expect(() => normaliseHost(host)).not.toThrow();
      expect(parseOperatorConfig([`--federation-trusted-hosts=${host}`], {}).federationTrustedHosts).toHaveLength(1);
    }
  });

  it('every short host name the schema takes, the operator reads (letters, digits, hex prefixes, dots, hyphens)', () => {
    const pattern = new RegExp(schema.properties.defaultWorkspace.properties.host.pattern);
    const alphabet = ['a', 'f', 'x', 'X', '0', '1', '9', '.', '-', '_'];
    let names = [''];
    const unread: string[] = [];
    for (let length = 1; length <= 4; length++) {
      names = names.flatMap((name) => alphabet.map((c) => name + c));
      for (const name of names) {
        const host = `https://${name}`;
        if (!pattern.test(host)) continue;
        try {
          normaliseHost(host);
        } catch {
          unread.push(host);
        }
      }
    }
    expect(unread).toEqual([]);
  });
});

describe("the chart's workspaceHosts.allowed and --allowed-workspace-hosts agree (a typo fails helm, not the pod)", () => {
  const schema = JSON.parse(readFileSync(`${repoRoot}/charts/pt-operator/values.schema.json`, 'utf8')) as {
    properties: { workspaceHosts: { properties: { allowed: { items: { pattern: string } } } } };
  };
  const chartTakes = (value: string) => new RegExp(schema.properties.workspaceHosts.properties.allowed.items.pattern).test(value);
  const operatorTakes = (value: string) => {
    try {
      parseOperatorConfig([`--allowed-workspace-hosts=${value}`], {});
      return true;
    } catch {
      return false;
    }
  };

  it.each([
    ['*.cloud.databricks.com', true],
    ['ADB-1.azuredatabricks.net.', true],
    ['localhost', true],
    ['10.0.0.1', true],
    ['https://adb-1.azuredatabricks.net', false],
    ['adb-1.azuredatabricks.net:443', false],
    ['adb-1.azuredatabricks.net/path', false],
    ['*.', false],
    ['a.*.net', false],
    ['-bad.example', false],
    // An IPv6 literal, as spec.host writes it (https://[fd00::1]): the flag took it, and helm refused it.
    ['[fd00::1]', true],
    ['[FD00:0:0::1]', true],
    ['[::ffff:10.0.0.1]', true],
    ['[1:2:3:4:5:6:7:8]', true],
    ['[1:2:3:4:5:6:1.2.3.4]', true],
    ['[::]', true],
    // Not an address: the flag took them too, and they matched no spec.host.
    ['[:::]', false],
    ['[1::2::3]', false],
    ['[1:2:3:4:5:6:7:8:9]', false],
    ['[::1.2.3.256]', false],
    ['[1.2.3.4]', false],
    ['[fe80::1%eth0]', false],
    ['fd00::1', false],
  ])('%s: taken %s by both', (value, taken) => {
    expect(chartTakes(value)).toBe(taken);
    expect(operatorTakes(value)).toBe(taken);
  });

  it('the schema pattern is the operator grammar', () => {
    expect(schema.properties.workspaceHosts.properties.allowed.items.pattern).toBe(`^(${ALLOWED_HOST_GRAMMAR})$`);
  });

  it('an IPv6 literal allows spec.host at that address however either spells it', () => {
    const { allowedWorkspaceHosts } = parseOperatorConfig(['--allowed-workspace-hosts=[FD00:0:0::1]'], {});
    expect(hostAllowed(normaliseHost('https://[fd00::1]:8443'), allowedWorkspaceHosts)).toBe(true);
    expect(hostAllowed(normaliseHost('https://[fd00::2]'), allowedWorkspaceHosts)).toBe(false);
  });
});
