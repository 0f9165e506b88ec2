// Two Helm releases of the chart in one namespace, sharded by `labelSelector` (values.yaml: "for sharding across
// several releases"), each run with the flags its Deployment renders (leader election on, as the chart's default).
// Each release must lead on a Lease of its own: with one Lease name for both, the second release's replicas stand
// by for as long as the first runs, and its shard's endpoints are never reconciled.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type E2E, type OperatorProcess, endpointManifest, isReady, startE2E, startOperator } from './harness.js';
import { cluster, kubectlOk, repoRoot, run } from '../support/cluster.js';

interface RenderedDeployment {
  spec: { template: { spec: { containers: { args: string[] }[] } } };
}

// Per attempt (set in beforeEach): a retry must not meet the first attempt's Leases.
let suffix: string;
let releases: { a: string; b: string };
let e2e: E2E;
let operators: OperatorProcess[];

/** The flags the chart's Deployment passes to `pt-operator run` for this release and these values. */
async function renderedArgs(release: string, values: string[]): Promise<string[]> {
  const chart = `${repoRoot}/charts/pt-operator`;
  const result = await run(cluster().helm, ['template', release, chart, '--namespace', cluster().operatorNamespace, '--show-only', 'templates/deployment.yaml', ...values]);
  if (result.exitCode !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  const args = (parse(result.stdout) as RenderedDeployment).spec.template.spec.containers[0]!.args;
  return args.filter((arg) => arg !== 'run');
}

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  suffix = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  releases = { a: `shard-a-${suffix}`, b: `shard-b-${suffix}` };
  operators = [];
  e2e = await startE2E({ prefix: 'e2e-releases', startOperator: false });
  for (const [shard, release] of Object.entries(releases)) {
    const args = await renderedArgs(release, ['--set', `labelSelector=shard=${shard}`]);
    operators.push(
      startOperator({
        namespace: e2e.namespace,
        emulatorUrl: e2e.emulator.url,
        name: `${e2e.namespace}-${release}`,
        // the chart's flags, then what a process beside others on one machine needs: free ports, the test's namespace
        args: [...args, '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0', `--namespaces=${e2e.namespace}`],
        env: { POD_NAME: `${release}-0` },
      }),
    );
  }
});

afterEach(async () => {
  await Promise.all(operators.map((o) => o.stop()));
  await e2e?.stop();
});

describe('two releases of the chart in one namespace', () => {
  it("each release leads on a Lease of its own, so both shards' endpoints are reconciled", async () => {
    await e2e.apply([endpointManifest('on-shard-a', {}, { labels: { shard: 'a' } }), endpointManifest('on-shard-b', {}, { labels: { shard: 'b' } })]);
    await e2e.waitUntil('pte', 'on-shard-a', isReady, 90_000);
    await e2e.waitUntil('pte', 'on-shard-b', isReady, 90_000);

    const leases = await kubectlOk(['--namespace', cluster().operatorNamespace, 'get', 'lease', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.holderIdentity}{"\\n"}{end}']);
    const holders = leases.split('\n').filter((line) => line.includes(suffix));
    expect(holders.sort()).toEqual([`${releases.a}-pt-operator-leader=${releases.a}-0`, `${releases.b}-pt-operator-leader=${releases.b}-0`]);
  });
});
