// `npm run demo`: the whole job on this machine. A real kube-apiserver+etcd, the Databricks
// emulator on a fast clock with one GPU-capacity hiccup, the operator under its chart's RBAC
// identity, and the examples from deploy/examples — watched live until every endpoint is Ready.
// Everything is cleaned up at the end or on Ctrl-C (pass --keep to leave it running until Ctrl-C).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../src/emulator/auth.js';
import { type RunningEmulator, startEmulator } from '../src/emulator/server.js';
import { installCrds, installOperatorRbac, isHealthy, runScript } from '../test/controlplane/global-setup.js';
import { applyOk, ensureNamespace, kubectl, readClusterEnv, repoRoot } from '../test/support/cluster.js';
import { exampleManifests } from '../test/support/examples.js';
import { closingAdvice } from './demo-advice.js';
import { demoScenario } from './demo-scenario.js';

const keep = process.argv.includes('--keep');
const demoDir = join(repoRoot, '.demo');
const clusterDir = join(demoDir, 'cluster');
const namespace = 'ml';
const DEMO_PAT = 'dapi0demo0000000000000000000000000000';
const TIMEOUT_MS = 6 * 60_000;

process.env['PT_CLUSTER_DIR'] = clusterDir;
mkdirSync(demoDir, { recursive: true });

let emulator: RunningEmulator | undefined;
let operator: ChildProcess | undefined;
let startedCluster = false;
let cleaning: Promise<void> | undefined;

const say = (text: string) => console.log(`\x1b[1m▸ ${text}\x1b[0m`);

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    say('cleaning up: operator, emulator, control plane');
    // Ctrl-C reaches the operator too (same process group): it may already be gone, by exit or by signal.
    if (operator && operator.exitCode === null && operator.signalCode === null) {
      const exited = new Promise((resolve) => operator?.once('exit', resolve));
      operator.kill('SIGTERM');
      await exited;
    }
    await emulator?.close();
    if (startedCluster) await runScript('down.sh', process.env);
  })();
  return cleaning;
}

process.once('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});

async function table(): Promise<string> {
  const pte = await kubectl(['get', 'pte', '-n', namespace, '-o', 'wide']);
  const dbws = await kubectl(['get', 'dbws', '-n', namespace]);
  return `${pte.stdout}\n${dbws.stdout}`.trim();
}

async function allReady(): Promise<boolean> {
  const result = await kubectl(['get', 'pte,dbws', '-n', namespace, '-o', 'json']);
  const items = (JSON.parse(result.stdout) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] }).items;
  return items.length > 0 && items.every((i) => i.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
}

async function main(): Promise<number> {
  say('control plane: building (first run only; cached afterwards) and starting kube-apiserver + etcd');
  await runScript('build.sh', process.env);
  if (!(await isHealthy(clusterDir))) {
    await runScript('up.sh', process.env);
    startedCluster = true;
  }
  const env = readClusterEnv(clusterDir);
  say('installing the CRDs and the operator RBAC rendered from the Helm chart');
  await installCrds();
  await installOperatorRbac(env);

  say('starting the Databricks emulator (10-minute rollouts pass in 5 s; the first Llama 3.1 8B endpoint to roll out hits one GPU-capacity failure, shown as WaitingForCapacity, and is retried)');
  emulator = await startEmulator({ speed: 120, scenario: demoScenario() });

  say(`starting the operator as ${env.operatorUser} (log: .demo/operator.log)`);
  const log = createWriteStream(join(demoDir, 'operator.log'));
  operator = spawn(
    join(repoRoot, 'node_modules/.bin/tsx'),
    [join(repoRoot, 'src/main.ts'), 'run', `--namespaces=${namespace}`, '--progress-interval=1s', '--poll-interval=30s', '--workspace-retry-interval=2s', '--health-probe-bind-address=127.0.0.1:0', '--metrics-bind-address=127.0.0.1:0'],
    { cwd: repoRoot, env: { PATH: process.env['PATH'], HOME: process.env['HOME'], KUBECONFIG: env.kubeconfigOperator }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  operator.stdout?.pipe(log);
  operator.stderr?.pipe(log);

  say(`applying the examples in namespace ${namespace}, with Secrets for their workspaces`);
  await ensureNamespace(namespace);
  await kubectl(['-n', namespace, 'create', 'secret', 'generic', 'dbx-pat', `--from-literal=token=${DEMO_PAT}`]);
  await kubectl(['-n', namespace, 'create', 'secret', 'generic', 'dbx-sp', `--from-literal=client-id=${DEFAULT_CLIENT_ID}`, `--from-literal=client-secret=${DEFAULT_CLIENT_SECRET}`]);
  await applyOk(exampleManifests(emulator.url), { namespace });

  say('kubectl get pte,dbws -n ml (live; a new table whenever something changes)');
  const deadline = Date.now() + TIMEOUT_MS;
  let last = '';
  for (;;) {
    const now = await table();
    // Ages tick every second; print a new table only when something else changed.
    const withoutAges = now.replace(/\s\d+[smhd](\d+[smh])?(?=\s|$)/g, ' ');
    if (withoutAges !== last) {
      console.log(`\n[${new Date().toISOString().slice(11, 19)}]\n${now}`);
      last = withoutAges;
    }
    if (await allReady()) break;
    if (Date.now() > deadline) {
      console.error(`\nnot every endpoint became Ready within ${TIMEOUT_MS / 60_000} minutes; see .demo/operator.log`);
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }

  say('every endpoint is Ready. Final state:');
  console.log((await kubectl(['get', 'pte', '-n', namespace])).stdout);
  console.log(closingAdvice(keep, { kubectl: env.kubectl, kubeconfigAdmin: env.kubeconfigAdmin, namespace, emulatorUrl: emulator.url }));
  if (keep) {
    say('running until Ctrl-C');
    await new Promise(() => undefined);
  }
  return 0;
}

main()
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    return 1;
  })
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  });
