// Start-up benchmark (issue 12 item 6): N endpoints are converged (the operator, built dist/ and started as
// production starts it, creates them all: this phase also gives the operator's peak RSS for a rollout of N), then
// the operator is restarted with N Ready endpoints, and for 1.2 poll intervals we count:
//   - Databricks GETs per second: the highest second against the mean, and against the ideal even spread
//     (N per poll interval, the baseline: what a controller that reads each endpoint once per interval needs);
//   - the time until every endpoint has had its first read (≤ one poll interval when reads are spread);
//   - apiserver writes to the objects (a watch: each MODIFIED event is one) and new Events: both must be 0;
//   - the operator's peak RSS and CPU (from /proc).
// Each repetition is one restart of the same converged set.
//   npm run bench -- startup                 (N = 1,000, 3 restarts)
//   npx tsx bench/startup.ts --sizes 1000,10000 --reps 3 [--poll-interval 120] [--reads-per-second 100]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EndpointResource } from '../src/controllers/resources.js';
import { startEmulator, type RunningEmulator } from '../src/emulator/server.js';
import { CoreResources, KubeClient, type KubeObject, resourcePath } from '../src/kube/index.js';
import { installCrds, installOperatorRbac, isHealthy, runScript } from '../test/controlplane/global-setup.js';
import { clusterDirectory, ensureNamespace, readClusterEnv, repoRoot, uniqueNamespace } from '../test/support/cluster.js';
import { productionLogLevel, productionNodeFlags } from './lib/production.js';
import { createEndpointObjects } from './lib/objects.js';
import { median, sleep, spread } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '3' },
    'poll-interval': { type: 'string', default: '120' },
    'reads-per-second': { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '4' },
    /** replace the production node flags (for experiments only; the printed table says so) */
    'node-flags': { type: 'string' },
    /** converge only (peak RSS of the rollout), no restarts */
    'rollout-only': { type: 'boolean', default: false },
    /** write a heap snapshot of the converged operator into this directory (node --heapsnapshot-signal) */
    'heap-snapshot-dir': { type: 'string' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const reps = Number(values.reps);
const pollSeconds = Number(values['poll-interval']);
const readsPerSecond = Number(values['reads-per-second']);
const concurrency = Number(values.concurrency);
const nodeFlags = values['node-flags'] !== undefined ? values['node-flags'].split(' ').filter(Boolean) : productionNodeFlags(repoRoot);
const PAT = 'dapi0123456789abcdef0123456789abcdef';
const MODEL = { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '3' };

type Endpoint = KubeObject & { status?: { conditions?: { type: string; status: string; observedGeneration?: number }[] } };

process.env.PT_CLUSTER_DIR = clusterDirectory();
const startedCluster = !(await isHealthy(process.env.PT_CLUSTER_DIR));
if (startedCluster) await runScript('up.sh', process.env);
const env = readClusterEnv();
await installCrds();
await installOperatorRbac(env);
console.error('building dist/ (npm run build)');
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'inherit' });
const admin = await KubeClient.fromFile(env.kubeconfigAdmin);

// ------------------------------------------------------------------------------------------------

interface Operator {
  child: ChildProcess;
  stop(): Promise<{ peakRssMiB: number; cpuSeconds: number }>;
}

// an operator must not outlive the benchmark, whatever fails
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function startOperator(namespace: string, emulator: RunningEmulator, extraNodeFlags: string[] = []): Operator {
  const args = [
    ...nodeFlags,
    ...extraNodeFlags,
    join(repoRoot, 'dist/main.js'),
    'run',
    `--namespaces=${namespace}`,
    `--concurrency=${concurrency}`,
    // loopback ports of its own: the defaults (:8080, :8081 on every address) clash with a node's hostNetwork Pods
    '--metrics-bind-address=127.0.0.1:0',
    '--health-probe-bind-address=127.0.0.1:0',
    `--log-level=${productionLogLevel(repoRoot)}`,
    `--default-workspace-namespaces=${namespace}`,
    `--poll-interval=${pollSeconds}s`,
    '--databricks-mutations-per-5-minutes=10000',
    `--databricks-reads-per-second=${readsPerSecond}`,
  ];
  const child = spawn(process.execPath, args, {
    cwd: values['heap-snapshot-dir'] ?? repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: env.kubeconfigOperator, DATABRICKS_HOST: emulator.url, DATABRICKS_TOKEN: PAT },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  running.add(child);
  const exited = new Promise((resolve) => child.once('exit', resolve)).then(() => running.delete(child));
  return {
    child,
    async stop() {
      const stats = procStats(child.pid!);
      child.kill('SIGTERM');
      await exited;
      return stats;
    },
  };
}

const createObjects = (namespace: string, n: number): Promise<void> => createEndpointObjects(admin, namespace, n, MODEL, { min: 1, max: 2 });

const isReady = (o: Endpoint) =>
  o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True' && (c.observedGeneration ?? 0) === o.metadata.generation) ?? false;

async function listAll(namespace: string): Promise<{ items: Endpoint[]; resourceVersion: string }> {
  const items: Endpoint[] = [];
  let cont: string | undefined;
  let resourceVersion = '0';
  do {
    const page = await admin.list<Endpoint>(EndpointResource, { namespace, limit: 2000, continue: cont });
    items.push(...page.items);
    cont = page.metadata?.continue || undefined;
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
  } while (cont);
  return { items, resourceVersion };
}

async function waitAllReady(namespace: string, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // at 10,000 the apiserver's watch cache can lag its writes: a list then fails with 504 "Too large resource
    // version" for a moment; look again
    const ready = (await listAll(namespace).catch(() => undefined))?.items.filter(isReady).length ?? 0;
    if (ready >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${ready}/${n} Ready after ${timeoutMs / 1000} s`);
    await sleep(n > 2000 ? 2000 : 500);
  }
}

/** Writes to the objects, as a watch sees them (every status or metadata change is one MODIFIED event). */
function countObjectWrites(namespace: string, resourceVersion: string): { stop(): number } {
  const controller = new AbortController();
  let count = 0;
  void (async () => {
    try {
      for await (const event of admin.watch<Endpoint>(resourcePath(EndpointResource, namespace), { resourceVersion, allowWatchBookmarks: false }, controller.signal)) {
        if (event.type === 'MODIFIED') count++;
      }
    } catch {
      /* aborted */
    }
  })();
  return {
    stop() {
      controller.abort();
      return count;
    },
  };
}

async function countEvents(namespace: string): Promise<number> {
  const events = await admin.list<KubeObject & { count?: number; series?: { count?: number } }>(CoreResources.event, { namespace });
  return events.items.reduce((sum, e) => sum + Math.max(1, e.series?.count ?? e.count ?? 1), 0);
}

function procStats(pid: number): { peakRssMiB: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { peakRssMiB: hwm / 1024, cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100 };
}

interface Restart {
  /** GETs of endpoints per wall-clock second over the measured window */
  maxPerSecond: number;
  meanPerSecond: number;
  /** seconds from the restart until every endpoint had its first read */
  allReadSeconds: number;
  unread: number;
  objectWrites: number;
  newEvents: number;
  peakRssMiB: number;
  cpuSeconds: number;
}

async function restart(namespace: string, emulator: RunningEmulator, n: number): Promise<Restart> {
  await sleep(2000); // let the previous operator's last calls land
  const { resourceVersion } = await listAll(namespace);
  const eventsBefore = await countEvents(namespace);
  const afterSeq = emulator.emulator.calls.query().at(-1)?.seq ?? 0;
  const writes = countObjectWrites(namespace, resourceVersion);
  const started = Date.now();
  const operator = startOperator(namespace, emulator);
  const windowMs = pollSeconds * 1200;
  await sleep(windowMs);
  const stats = await operator.stop();
  await sleep(1000);
  const objectWrites = writes.stop();
  const firstRead = new Map<string, number>();
  for (const c of emulator.emulator.calls.query({ operation: 'get', afterSeq })) {
    if (c.endpoint !== undefined && !firstRead.has(c.endpoint) && c.realTime <= started + windowMs) firstRead.set(c.endpoint, c.realTime - started);
  }
  const whole = readsPerSecondOf(emulator, afterSeq, started, windowMs);
  // the mean over the poll interval itself (the window is 1.2 intervals, so a second round has begun after it)
  const interval = readsPerSecondOf(emulator, afterSeq, started, pollSeconds * 1000);
  return {
    maxPerSecond: whole.max,
    meanPerSecond: interval.mean,
    allReadSeconds: Math.max(0, ...firstRead.values()) / 1000,
    unread: n - firstRead.size,
    objectWrites,
    newEvents: (await countEvents(namespace)) - eventsBefore,
    ...stats,
  };
}

/** Endpoint GETs per wall-clock second from `started` for `windowMs`: the highest second and the mean. */
function readsPerSecondOf(emulator: RunningEmulator, afterSeq: number, started: number, windowMs: number): { max: number; mean: number } {
  const perSecond = new Array<number>(Math.ceil(windowMs / 1000)).fill(0);
  for (const c of emulator.emulator.calls.query({ operation: 'get', afterSeq })) {
    const second = Math.floor((c.realTime - started) / 1000);
    if (second >= 0 && second < perSecond.length) perSecond[second]!++;
  }
  return { max: Math.max(...perSecond), mean: perSecond.reduce((a, b) => a + b, 0) / perSecond.length };
}

const rows: string[] = [];
for (const n of sizes) {
  const namespace = uniqueNamespace(`bench-startup-${n}`);
  await ensureNamespace(namespace);
  const emulator = await startEmulator({
    // the workspace may hold every endpoint (past the default 1000, as an account team raises it)
    scenario: { clock: { speed: 1000 }, timing: { rolloutSeconds: 1 }, limits: { mutationsPerWindow: 1_000_000, windowSeconds: 300, endpointsPerWorkspace: 1_000_000 } },
  });
  try {
    console.error(`N=${n}: creating ${n} objects`);
    await createObjects(namespace, n);
    const converging = Date.now();
    const operator = startOperator(namespace, emulator, values['heap-snapshot-dir'] ? ['--heapsnapshot-signal=SIGUSR2'] : []);
    await waitAllReady(namespace, n, 3_600_000).catch(async (err: unknown) => {
      await operator.stop();
      throw err;
    });
    const convergeSeconds = (Date.now() - converging) / 1000;
    // the peak before a heap snapshot, which itself takes memory
    const beforeSnapshot = procStats(operator.child.pid!);
    if (values['heap-snapshot-dir']) {
      operator.child.kill('SIGUSR2');
      await sleep(Math.max(5000, n * 5));
    }
    const rollout = { ...(await operator.stop()), peakRssMiB: beforeSnapshot.peakRssMiB };
    const reads = readsPerSecondOf(emulator, 0, converging, Date.now() - converging);
    console.error(
      `N=${n} rollout: all Ready in ${convergeSeconds.toFixed(1)} s, peak RSS ${rollout.peakRssMiB.toFixed(0)} MiB, CPU ${rollout.cpuSeconds.toFixed(1)} s, ` +
        `GETs/s highest ${reads.max}, mean ${reads.mean.toFixed(1)} (read rate ${readsPerSecond}/s) (node ${nodeFlags.join(' ') || '(no flags)'})`,
    );
    if (values['rollout-only']) continue;
    const restarts: Restart[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const r = await restart(namespace, emulator, n);
      restarts.push(r);
      console.error(`N=${n} restart ${rep + 1}: ${JSON.stringify(r)}`);
    }
    const ideal = n / pollSeconds;
    rows.push(
      [
        n.toLocaleString('en'),
        spread(restarts.map((r) => r.maxPerSecond), 0),
        spread(restarts.map((r) => r.meanPerSecond), 1),
        ideal.toFixed(1),
        `${(median(restarts.map((r) => r.maxPerSecond)) / ideal).toFixed(2)}×`,
        spread(restarts.map((r) => r.allReadSeconds), 0),
        `${Math.max(...restarts.map((r) => r.unread))}`,
        `${Math.max(...restarts.map((r) => r.objectWrites))}`,
        `${Math.max(...restarts.map((r) => r.newEvents))}`,
        spread(restarts.map((r) => r.peakRssMiB), 0),
        spread(restarts.map((r) => r.cpuSeconds), 1),
        `${rollout.peakRssMiB.toFixed(0)} (${convergeSeconds.toFixed(0)} s)`,
      ].join(' | '),
    );
  } finally {
    await emulator.close();
  }
}

console.log(
  `\nStart-up benchmark: ${reps} restarts with N Ready endpoints, poll interval ${pollSeconds} s, read rate ${readsPerSecond}/s, measured over ${(pollSeconds * 1.2).toFixed(0)} s; median (min–max); operator = dist/ with node ${nodeFlags.join(' ') || '(no flags)'}`,
);
console.log('| N | GETs/s, highest second | GETs/s, mean over the interval | baseline: N / poll interval | highest ÷ baseline | s until all read once | never read | object writes | new Events | peak RSS MiB | CPU s | rollout before: peak RSS MiB (time) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row} |`);

await admin.close();
if (startedCluster) await runScript('down.sh', process.env);

// ------------------------------------------------------------------------------------------------
