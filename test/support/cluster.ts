// Helpers for tests that talk to the real control plane started by test/controlplane/up.sh.
// Everything goes through the kubectl (and helm) built for that control plane, so a test does
// exactly what a user would do. The cluster is described by <PT_CLUSTER_DIR>/env.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const chartDirectory = join(repoRoot, 'charts/pt-operator');

/** What up.sh writes to <cluster dir>/env. */
export interface ClusterEnv {
  clusterDir: string;
  k8sVersion: string;
  apiserverUrl: string;
  caFile: string;
  kubeconfigAdmin: string;
  kubeconfigOperator: string;
  operatorNamespace: string;
  operatorServiceAccount: string;
  operatorUser: string;
  kubectl: string;
  helm: string;
  etcdPid: number;
  apiserverPid: number;
  controllerManagerPid: number;
  etcdLog: string;
  apiserverLog: string;
  controllerManagerLog: string;
  /** Nodes started by up.sh --with-node (0 without): their names, which are also their loopback addresses. */
  nodeCount: number;
  nodeAddresses: string[];
}

/** The cluster directory: $PT_CLUSTER_DIR (set by the global setup) or <repo>/.cluster. */
export function clusterDirectory(): string {
  return resolve(process.env.PT_CLUSTER_DIR ?? join(repoRoot, '.cluster'));
}

/** Parses the shell-sourceable KEY=VALUE file up.sh writes (values optionally single-quoted). */
export function parseEnvFile(text: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, key, raw] = match as unknown as [string, string, string];
    entries[key] = raw.startsWith("'") && raw.endsWith("'") && raw.length >= 2 ? raw.slice(1, -1) : raw;
  }
  return entries;
}

export function readClusterEnv(directory: string = clusterDirectory()): ClusterEnv {
  const file = join(directory, 'env');
  const values = parseEnvFile(readFileSync(file, 'utf8'));
  const required = (key: string): string => {
    const value = values[key];
    if (value === undefined || value === '') throw new Error(`${file} has no ${key}; was the cluster fully started?`);
    return value;
  };
  return {
    clusterDir: required('CLUSTER_DIR'),
    k8sVersion: required('K8S_VERSION'),
    apiserverUrl: required('APISERVER_URL'),
    caFile: required('CA_FILE'),
    kubeconfigAdmin: required('KUBECONFIG_ADMIN'),
    kubeconfigOperator: required('KUBECONFIG_OPERATOR'),
    operatorNamespace: required('OPERATOR_NAMESPACE'),
    operatorServiceAccount: required('OPERATOR_SERVICE_ACCOUNT'),
    operatorUser: required('OPERATOR_USER'),
    kubectl: required('KUBECTL'),
    helm: required('HELM'),
    etcdPid: Number(required('ETCD_PID')),
    apiserverPid: Number(required('APISERVER_PID')),
    controllerManagerPid: Number(required('CONTROLLER_MANAGER_PID')),
    etcdLog: required('ETCD_LOG'),
    apiserverLog: required('APISERVER_LOG'),
    controllerManagerLog: required('CONTROLLER_MANAGER_LOG'),
    nodeCount: Number(values['NODE_COUNT'] ?? 0),
    nodeAddresses: (values['NODE_ADDRESSES'] ?? '').split(',').filter((address) => address !== ''),
  };
}

let cachedEnv: ClusterEnv | undefined;
/** The running cluster's env, read once per test worker. */
export function cluster(): ClusterEnv {
  cachedEnv ??= readClusterEnv();
  return cachedEnv;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

/** Runs a command to completion; never throws for a non-zero exit (the caller decides). */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 120_000,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolvePromise({
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8') + (signal ? `\n(killed by ${signal})` : ''),
      });
    });
    // A command that exits without reading its input (kubectl refusing its arguments, a process killed
    // meanwhile) closes the pipe first: EPIPE is then no error of ours, its exit code and stderr say why.
    // Unhandled, it was an uncaught exception that failed a whole test run.
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Who a kubectl call authenticates as: the cluster admin, the operator's identity, or any kubeconfig. */
export type Identity = 'admin' | 'operator' | { kubeconfig: string };

export function kubeconfigOf(identity: Identity, env: ClusterEnv = cluster()): string {
  if (identity === 'admin') return env.kubeconfigAdmin;
  if (identity === 'operator') return env.kubeconfigOperator;
  return identity.kubeconfig;
}

export interface KubectlOptions {
  as?: Identity;
  input?: string;
  timeoutMs?: number;
}

/** Runs the cluster's kubectl; the result carries the exit code (non-zero is not an error here). */
export function kubectl(args: readonly string[], options: KubectlOptions = {}): Promise<CommandResult> {
  const env = cluster();
  return run(env.kubectl, ['--kubeconfig', kubeconfigOf(options.as ?? 'admin', env), ...args], options);
}

/** Runs kubectl and returns stdout; throws with kubectl's stderr when it fails. */
export async function kubectlOk(args: readonly string[], options: KubectlOptions = {}): Promise<string> {
  const result = await kubectl(args, options);
  if (result.exitCode !== 0) {
    throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** One or more objects (or YAML text) as a multi-document YAML stream. */
export function toYaml(manifest: string | object | readonly object[]): string {
  if (typeof manifest === 'string') return manifest;
  const documents = Array.isArray(manifest) ? manifest : [manifest];
  return documents.map((document) => stringify(document)).join('---\n');
}

export interface ApplyOptions extends KubectlOptions {
  serverSide?: boolean;
  dryRun?: 'server';
  namespace?: string;
}

/** `kubectl apply -f -` with the given manifest; the result tells whether the server accepted it. */
export function apply(manifest: string | object | readonly object[], options: ApplyOptions = {}): Promise<CommandResult> {
  const args = ['apply', '-f', '-'];
  if (options.serverSide) args.push('--server-side', '--force-conflicts', '--field-manager=pt-operator-tests');
  if (options.dryRun) args.push(`--dry-run=${options.dryRun}`);
  if (options.namespace) args.push('--namespace', options.namespace);
  return kubectl(args, { ...options, input: toYaml(manifest) });
}

/** Like apply, but throws with kubectl's message when the server refuses the manifest. */
export async function applyOk(manifest: string | object | readonly object[], options: ApplyOptions = {}): Promise<string> {
  const result = await apply(manifest, options);
  if (result.exitCode !== 0) throw new Error(`kubectl apply failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * `kubectl auth can-i <verb> <resource> [flags]` evaluated by the server for the given identity
 * (a SelfSubjectAccessReview, so it is exactly what RBAC decides for that identity's own credentials).
 */
export async function canI(
  verb: string,
  resource: string,
  options: { as?: Identity; namespace?: string; subresource?: string; allNamespaces?: boolean } = {},
): Promise<boolean> {
  const args = ['auth', 'can-i', verb, resource];
  if (options.namespace) args.push('--namespace', options.namespace);
  if (options.allNamespaces) args.push('--all-namespaces');
  if (options.subresource) args.push('--subresource', options.subresource);
  const result = await kubectl(args, { as: options.as ?? 'operator' });
  const answer = result.stdout.trim();
  if (answer !== 'yes' && answer !== 'no') {
    throw new Error(`kubectl auth can-i ${verb} ${resource} gave no answer: ${result.stderr.trim()}`);
  }
  return answer === 'yes';
}

/** `kubectl wait --for=<condition>`; throws with kubectl's message on timeout. */
export async function waitFor(
  target: readonly string[],
  condition: string,
  options: { namespace?: string; timeoutSeconds?: number; as?: Identity } = {},
): Promise<void> {
  const timeoutSeconds = options.timeoutSeconds ?? 60;
  const args = ['wait', ...target, `--for=${condition}`, `--timeout=${timeoutSeconds}s`];
  if (options.namespace) args.push('--namespace', options.namespace);
  await kubectlOk(args, { as: options.as ?? 'admin', timeoutMs: (timeoutSeconds + 10) * 1000 });
}

/** Polls until the probe returns a value without throwing; rethrows the last error after the timeout. */
export async function eventually<T>(
  probe: () => Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((wake) => setTimeout(wake, options.intervalMs ?? 250));
    }
  }
}

/** Creates a namespace (idempotent). Use unique names: a deleted namespace takes a while to go (kube-controller-manager). */
export async function ensureNamespace(name: string): Promise<void> {
  await applyOk({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { serverSide: true });
}

/** A namespace name unique to this test run, safe to leave behind. */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface RenderChartOptions {
  release?: string;
  namespace?: string;
  /** Top-level values, passed with --set-json. */
  values?: Record<string, unknown>;
  /** Chart template paths such as templates/rbac.yaml. */
  showOnly?: readonly string[];
}

/** The chart templates that make up the operator's identity and permissions. */
export const rbacTemplates = [
  'templates/serviceaccount.yaml',
  'templates/rbac.yaml',
  'templates/leader-election-rbac.yaml',
  'templates/tenant-rbac.yaml',
] as const;

/** `helm template` of charts/pt-operator with the cluster's helm, for the cluster's Kubernetes version. */
export async function renderChart(options: RenderChartOptions = {}, env: ClusterEnv = cluster()): Promise<string> {
  const args = [
    'template',
    options.release ?? env.operatorServiceAccount,
    chartDirectory,
    '--namespace',
    options.namespace ?? env.operatorNamespace,
    '--kube-version',
    env.k8sVersion,
  ];
  for (const [key, value] of Object.entries(options.values ?? {})) args.push('--set-json', `${key}=${JSON.stringify(value)}`);
  for (const template of options.showOnly ?? []) args.push('--show-only', template);
  const result = await run(env.helm, args);
  if (result.exitCode !== 0) throw new Error(`helm template failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * A kubeconfig holding a real ServiceAccount token (TokenRequest API) for namespace/name, which
 * must exist. The file lives in a fresh temporary directory.
 */
export async function serviceAccountKubeconfig(namespace: string, name: string, env: ClusterEnv = cluster()): Promise<string> {
  const token = (await kubectlOk(['create', 'token', name, '--namespace', namespace, '--duration=1h'])).trim();
  const file = join(mkdtempSync(join(tmpdir(), 'pt-operator-sa-')), 'kubeconfig');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'pt-operator-test', cluster: { server: env.apiserverUrl, 'certificate-authority-data': readFileSync(env.caFile).toString('base64') } }],
    users: [{ name: `${namespace}/${name}`, user: { token } }],
    contexts: [{ name: 'pt-operator-test', context: { cluster: 'pt-operator-test', user: `${namespace}/${name}` } }],
    'current-context': 'pt-operator-test',
  };
  writeFileSync(file, stringify(kubeconfig), { mode: 0o600 });
  return file;
}
