// vitest globalSetup for the integration and e2e projects: one real control plane per run.
// - Reuses a healthy cluster described by <PT_CLUSTER_DIR>/env (and leaves it running), or builds the
//   binaries and starts one with up.sh (and stops it with down.sh at the end).
// - Installs crds/*.yaml with server-side apply and waits until they are Established.
// - Applies the operator's ServiceAccount and RBAC rendered from the Helm chart, so the operator
//   identity (operator.kubeconfig) has exactly the chart's permissions.
// Tests read the cluster with cluster() from test/support/cluster.ts, or inject('cluster').
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  applyOk,
  clusterDirectory,
  ensureNamespace,
  kubectlOk,
  rbacTemplates,
  readClusterEnv,
  renderChart,
  repoRoot,
  run,
  waitFor,
  type ClusterEnv,
} from '../support/cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterEnv;
  }
}

const controlplaneScripts = join(repoRoot, 'test/controlplane');
const crdDirectory = join(repoRoot, 'crds');

/** Runs a script with its output on our stderr (the first build takes minutes; show progress). */
export function runScript(script: string, env: NodeJS.ProcessEnv, args: readonly string[] = []): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [join(controlplaneScripts, script), ...args], { cwd: repoRoot, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`test/controlplane/${script} failed with exit code ${code}`)),
    );
  });
}

export async function isHealthy(directory: string): Promise<boolean> {
  if (!existsSync(join(directory, 'env'))) return false;
  try {
    const env = readClusterEnv(directory);
    // Not kubectl() from the support module: that caches the env, which may describe a dead cluster.
    const result = await run(env.kubectl, ['--kubeconfig', env.kubeconfigAdmin, 'get', '--raw', '/readyz'], { timeoutMs: 10_000 });
    return result.exitCode === 0 && result.stdout.trim() === 'ok' && isRunning(env.apiserverPid) && isRunning(env.etcdPid)
      && isRunning(env.controllerManagerPid);
  } catch {
    return false;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function installCrds(): Promise<void> {
  const files = existsSync(crdDirectory) ? readdirSync(crdDirectory).filter((file) => file.endsWith('.yaml')) : [];
  if (files.length === 0) {
    console.warn('global-setup: crds/ has no *.yaml; skipping CRD installation');
    return;
  }
  const fileArgs = files.flatMap((file) => ['-f', join(crdDirectory, file)]);
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '--field-manager=pt-operator-tests', ...fileArgs]);
  await waitFor(fileArgs, 'condition=Established');
}

export async function installOperatorRbac(env: ClusterEnv): Promise<void> {
  await ensureNamespace(env.operatorNamespace);
  await applyOk(await renderChart({ showOnly: rbacTemplates }), { serverSide: true });
  await applyOk(testLeaseRbac(env), { serverSide: true });
}

/**
 * The chart grants the operator its release's Lease only. The tests that run it with leader election lead on a
 * Lease of their own (a SIGKILLed leader's Lease must not hold up the next test), which this Role, the tests' and not
 * the chart's, lets the operator identity get and update. The chart's rule alone is asserted in rbac.test.ts.
 */
function testLeaseRbac(env: ClusterEnv): object[] {
  const metadata = { name: 'pt-operator-tests-leases', namespace: env.operatorNamespace };
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata, rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'] }] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: env.operatorServiceAccount, namespace: env.operatorNamespace }],
    },
  ];
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const directory = clusterDirectory();
  // Test workers and child processes (the operator under test) find the cluster through this.
  process.env.PT_CLUSTER_DIR = directory;
  const reused = await isHealthy(directory);
  if (reused) {
    console.warn(`global-setup: reusing the running cluster in ${directory} (it is left running)`);
  } else {
    await runScript('up.sh', process.env);
  }
  const teardown = async (): Promise<void> => {
    if (reused || process.env.PT_KEEP_CLUSTER === '1') return;
    await runScript('down.sh', process.env);
  };
  try {
    const env = readClusterEnv(directory);
    await installCrds();
    await installOperatorRbac(env);
    project.provide('cluster', env);
  } catch (error) {
    // vitest never calls the teardown of a setup that threw; stop the cluster we started ourselves.
    await teardown();
    throw error;
  }
  return teardown;
}
