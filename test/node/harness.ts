// Helpers for the node tier: the chart installed with helm as a user would, the operator's Pods run by
// the kubelet from the image, the Databricks emulator on the host loopback (the Pods use hostNetwork).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { chartDirectory, cluster, type CommandResult, eventually, kubectl, kubectlOk, run } from '../support/cluster.js';

export const RELEASE = 'pt-operator';
export const FEDERATION_AUDIENCE = 'databricks-federation-e2e';
export const LEASE = 'pt-operator-leader';

export interface OperatorPod {
  name: string;
  node: string;
  ip: string;
  ready: boolean;
  deleting: boolean;
  uid: string;
}

export function operatorNamespace(): string {
  return cluster().operatorNamespace;
}

/**
 * The values a user on a cluster without a pod network sets (every one of them a documented chart value):
 * the image (imported into the nodes, so never pulled), hostNetwork, an update strategy that fits two
 * replicas on two nodes, the apiserver's address (no kube-proxy implements the kubernetes Service here),
 * token federation with the chart's projected token (the emulator a trusted host for it), and short intervals
 * for the emulator's fast clock.
 */
export function chartValues(emulatorUrl: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const env = cluster();
  const apiserver = new URL(env.apiserverUrl);
  const [repository, tag] = inject('operatorImage').split(/:(?=[^:]+$)/) as [string, string];
  return {
    image: { repository, tag, pullPolicy: 'Never' },
    hostNetwork: true,
    replicaCount: 2,
    updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
    extraEnv: [
      { name: 'KUBERNETES_SERVICE_HOST', value: apiserver.hostname },
      { name: 'KUBERNETES_SERVICE_PORT', value: apiserver.port },
    ],
    tokenFederation: { enabled: true, audience: FEDERATION_AUDIENCE, trustedHosts: [emulatorUrl] },
    progressInterval: '1s',
    pollInterval: '5s',
    extraArgs: ['--workspace-retry-interval=1s', '--model-info-ttl=2s'],
    ...overrides,
  };
}

/** helm with the admin kubeconfig, in the operator's namespace. */
export function helm(args: readonly string[], timeoutMs = 300_000): Promise<CommandResult> {
  const env = cluster();
  return run(env.helm, ['--kubeconfig', env.kubeconfigAdmin, '--namespace', env.operatorNamespace, ...args], { timeoutMs });
}

export async function helmOk(args: readonly string[]): Promise<string> {
  const result = await helm(args);
  if (result.exitCode !== 0) throw new Error(`helm ${args.join(' ')} failed (exit ${result.exitCode}):\n${result.stderr}${await podsReport()}`);
  return result.stdout;
}

/** `helm install`/`helm upgrade` of the chart from this checkout with the given values, waiting for the rollout. */
/** `helm install` or `helm upgrade` of the release; `install-or-upgrade` (`upgrade --install`) for a retried install. */
export async function installChart(command: 'install' | 'upgrade' | 'install-or-upgrade', values: Record<string, unknown>): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'pt-operator-values-')), 'values.yaml');
  writeFileSync(file, stringify(values));
  const verb = command === 'install-or-upgrade' ? ['upgrade', '--install'] : [command];
  const extra = command === 'upgrade' ? [] : ['--create-namespace'];
  return helmOk([...verb, RELEASE, chartDirectory, '--values', file, '--wait', '--timeout', '4m', ...extra]);
}

export async function operatorPods(): Promise<OperatorPod[]> {
  const out = await kubectlOk(['get', 'pods', '--namespace', operatorNamespace(), '-l', `app.kubernetes.io/name=pt-operator`, '-o', 'json']);
  const pods = (JSON.parse(out) as { items: PodJson[] }).items;
  return pods.map((pod) => ({
    name: pod.metadata.name,
    uid: pod.metadata.uid,
    node: pod.spec.nodeName ?? '',
    ip: pod.status.podIP ?? '',
    ready: pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    deleting: pod.metadata.deletionTimestamp !== undefined,
  }));
}

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: { podIP?: string; conditions?: { type: string; status: string }[] };
}

/** The Lease holder (the leading Pod's name), or '' when nobody holds it. */
export async function leaseHolder(): Promise<string> {
  const result = await kubectl(['get', 'lease', LEASE, '--namespace', operatorNamespace(), '-o', 'jsonpath={.spec.holderIdentity}']);
  return result.exitCode === 0 ? result.stdout.trim() : '';
}

/** Waits until `count` Pods run Ready and one of them holds the Lease; returns them and the leader. */
export async function readyWithLeader(count: number, timeoutMs = 120_000): Promise<{ pods: OperatorPod[]; leader: string }> {
  return eventually(
    async () => {
      const pods = (await operatorPods()).filter((pod) => !pod.deleting);
      const leader = await leaseHolder();
      if (pods.length !== count || !pods.every((pod) => pod.ready) || !pods.some((pod) => pod.name === leader)) {
        throw new Error(`expected ${count} Ready operator Pods, one of them leader; have ${JSON.stringify(pods)}, leader ${JSON.stringify(leader)}`);
      }
      return { pods, leader };
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** `kubectl logs -f` of a Pod, from its start until the container exits (or stop() is called). */
export function followLogs(pod: string): { text(): string; ended: Promise<string> } {
  const env = cluster();
  const child = spawn(env.kubectl, ['--kubeconfig', env.kubeconfigAdmin, '--namespace', operatorNamespace(), 'logs', '-f', pod], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const ended = new Promise<string>((resolve) => child.once('close', () => resolve(output)));
  return { text: () => output, ended };
}

/** `kubectl exec` into a Pod's operator container. */
export function execInPod(pod: string, command: string[]): Promise<CommandResult> {
  return kubectl(['exec', '--namespace', operatorNamespace(), pod, '-c', 'manager', '--', ...command], { timeoutMs: 60_000 });
}

/** What every operator Pod printed, and the Pods' state, for a failure message. */
export async function podsReport(): Promise<string> {
  const pods = await kubectl(['get', 'pods', '--namespace', operatorNamespace(), '-o', 'wide']);
  const events = await kubectl(['get', 'events', '--namespace', operatorNamespace(), '--sort-by=.lastTimestamp']);
  let logs = '';
  for (const pod of await operatorPods().catch(() => [])) {
    logs += `\n--- logs of ${pod.name}\n${(await kubectl(['logs', '--namespace', operatorNamespace(), pod.name, '--tail=40'])).stdout}`;
  }
  return `\n${pods.stdout}${pods.stderr}\n${events.stdout}${logs}`;
}
