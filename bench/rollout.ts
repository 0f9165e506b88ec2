// Rollout benchmark (issue 12): the operator, built (dist/) and run as production runs it, against a baseline
// written here, in the same run, interleaved, on the real test control plane and the emulator.
//   - N = 50 under the documented limit (50 creates per 5 minutes, 3 s rollouts): the baseline fires every
//     create at once and retries 429s after Retry-After, then polls each endpoint until it serves (as the
//     Terraform provider does).
//   - N = 1,000 / 10,000 with instant rollouts and the limits raised: the baseline makes exactly the calls a
//     perfect controller needs (optimization info once per model, one create, one GET, one status write), at
//     the operator's concurrency.
// Prints ONE table: time to all Ready (median, min–max), the ratio, the operator's peak RSS and CPU seconds,
// Databricks calls by operation, apiserver writes per endpoint (status/metadata writes seen on a watch, and
// Events) and 429s.
//   npm run bench -- rollout            (N = 50 and 1,000, 3 repetitions)
//   npx tsx bench/rollout.ts --sizes 50,1000,10000 --reps 3 [--concurrency 4]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EndpointResource } from '../src/controllers/resources.js';
import { startEmulator, type RunningEmulator } from '../src/emulator/server.js';
import { CoreResources, KubeClient, type KubeObject, resourcePath } from '../src/kube/index.js';
import { installCrds, installOperatorRbac, isHealthy, runScript } from '../test/controlplane/global-setup.js';
import { clusterDirectory, ensureNamespace, readClusterEnv, repoRoot, uniqueNamespace } from '../test/support/cluster.js';
import { productionNodeFlags } from './lib/production.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '50,1000' },
    reps: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const reps = Number(values.reps);
const concurrency = Number(values.concurrency);
const PAT = 'dapi0123456789abcdef0123456789abcdef';
const MODEL = { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '3' };

type Endpoint = KubeObject & { spec: Record<string, unknown>; status?: { conditions?: { type: string; status: string; observedGeneration?: number }[] } };

interface RunResult {
  seconds: number;
  peakRssMiB?: number;
  cpuSeconds?: number;
  calls: Record<string, number>;
  throttled: number;
  objectWrites: number;
  eventWrites: number;
  /** the operator's mean queue wait and reconcile time */
  latency?: string;
}

// ------------------------------------------------------------------------------------------------
// Cluster, build

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
// One run

function scenarioFor(n: number) {
  return n <= 50
    ? { clock: { speed: 1 }, timing: { rolloutSeconds: 3 }, limits: { mutationsPerWindow: 50, windowSeconds: 300 } }
    : // instant rollouts: 1 virtual second at 1000x is 1 ms; the limit is not the bottleneck
      { clock: { speed: 1000 }, timing: { rolloutSeconds: 1 }, limits: { mutationsPerWindow: 1_000_000, windowSeconds: 300 } };
}

async function createObjects(namespace: string, n: number): Promise<void> {
  const names = Array.from({ length: n }, (_, i) => `ep-${String(i).padStart(5, '0')}`);
  await pool(names, 16, async (name) => {
    await admin.create(EndpointResource, namespace, {
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'ProvisionedThroughputEndpoint',
      metadata: { name, namespace },
      spec: { model: MODEL, throughput: { chunks: { min: 1, max: 2 } } },
    } as KubeObject);
  });
}

const isReady = (o: Endpoint) =>
  o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True' && (c.observedGeneration ?? 0) === o.metadata.generation) ?? false;

async function listAll(namespace: string): Promise<Endpoint[]> {
  const items: Endpoint[] = [];
  let cont: string | undefined;
  do {
    const page = await admin.list<Endpoint>(EndpointResource, { namespace, limit: 2000, continue: cont });
    items.push(...page.items);
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return items;
}

async function waitAllReady(namespace: string, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = (await listAll(namespace)).filter(isReady).length;
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

/** Event writes: each Event object is one create, each repetition (count > 1) one more patch. */
async function countEventWrites(namespace: string): Promise<number> {
  const events = await admin.list<KubeObject & { count?: number; series?: { count?: number } }>(CoreResources.event, { namespace });
  return events.items.reduce((sum, e) => sum + Math.max(1, e.series?.count ?? e.count ?? 1), 0);
}

/** Mean queue wait and reconcile time per reconcile, from the operator's own /metrics. */
async function reconcileLatency(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (metric: string) =>
    [...text.matchAll(new RegExp(`^${metric}\\{[^}]*provisionedthroughputendpoint[^}]*\\} ([0-9.e+-]+)`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  const mean = (name: string) => (1000 * value(`${name}_sum`)) / Math.max(1, value(`${name}_count`));
  return `queue wait ${mean('workqueue_queue_duration_seconds').toFixed(0)} ms, reconcile ${mean('controller_runtime_reconcile_time_seconds').toFixed(0)} ms over ${value('controller_runtime_reconcile_time_seconds_count')} reconciles`;
}

function procStats(pid: number): { peakRssMiB: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  return { peakRssMiB: hwm / 1024, cpuSeconds: ticks / 100 };
}

async function runOperator(namespace: string, emulator: RunningEmulator, n: number): Promise<Partial<RunResult>> {
  const probePort = 20_000 + Math.floor(Math.random() * 20_000);
  const args = [
    // the node flags of the image's ENTRYPOINT (docs/benchmarks.md, "Memory")
    ...productionNodeFlags(repoRoot),
    join(repoRoot, 'dist/main.js'),
    'run',
    `--namespaces=${namespace}`,
    `--concurrency=${concurrency}`,
    `--probe-address=127.0.0.1:${probePort}`,
    '--log-level=warn',
    `--default-workspace-namespaces=${namespace}`,
    ...(n > 50 ? ['--databricks-mutations-per-5-minutes=10000', '--databricks-reads-per-second=1000'] : []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: env.kubeconfigOperator, DATABRICKS_HOST: emulator.url, DATABRICKS_TOKEN: PAT },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const started = Date.now();
  try {
    await waitAllReady(namespace, n, 1_800_000);
    const seconds = (Date.now() - started) / 1000;
    const latency = await reconcileLatency(probePort).catch(() => undefined);
    return { seconds, ...procStats(child.pid!), ...(latency ? { latency } : {}) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

// ------------------------------------------------------------------------------------------------
// The baseline

async function databricks<T>(emulator: RunningEmulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: T; retryAfter?: number }> {
  const res = await fetch(new URL(path, emulator.url), {
    method,
    headers: { authorization: `Bearer ${PAT}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const retryAfter = res.headers.get('retry-after');
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as T, ...(retryAfter !== null ? { retryAfter: Number(retryAfter) } : {}) };
}

async function runBaseline(namespace: string, emulator: RunningEmulator, n: number): Promise<Partial<RunResult>> {
  const started = Date.now();
  const objects = await listAll(namespace);
  const info = await databricks<{ throughput_chunk_size: number }>(emulator, 'GET', `/api/2.0/serving-endpoints/get-model-optimization-info/${MODEL.name}/${MODEL.version}`);
  const chunk = info.json.throughput_chunk_size;
  const terraformLike = n <= 50;
  await pool(objects, terraformLike ? n : concurrency, async (obj) => {
    const name = obj.metadata.name;
    const body = {
      name,
      config: { served_entities: [{ entity_name: MODEL.name, entity_version: MODEL.version, min_provisioned_throughput: chunk, max_provisioned_throughput: 2 * chunk }] },
      tags: [{ key: 'pt-operator-owner-uid', value: obj.metadata.uid }],
    };
    // Create; 429s are retried after Retry-After plus up to 1 s of jitter (the Python SDK's policy).
    for (;;) {
      const res = await databricks(emulator, 'POST', '/api/2.0/serving-endpoints', body);
      if (res.status === 200) break;
      if (res.status !== 429) throw new Error(`create ${name}: ${res.status} ${JSON.stringify(res.json)}`);
      await sleep((res.retryAfter ?? 1) * 1000 + Math.random() * 1000);
    }
    // Wait until it serves: one GET when rollouts are instant; the SDK waiter's linear backoff otherwise.
    for (let attempt = 1; ; attempt++) {
      const res = await databricks<{ state?: { ready?: string; config_update?: string } }>(emulator, 'GET', `/api/2.0/serving-endpoints/${name}`);
      if (res.json.state?.ready === 'READY' && res.json.state.config_update === 'NOT_UPDATING') break;
      await sleep(terraformLike ? Math.min(attempt, 10) * 1000 + Math.random() * 700 : 10);
    }
    await admin.patch(
      EndpointResource,
      namespace,
      name,
      { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Available', message: 'serving', observedGeneration: obj.metadata.generation, lastTransitionTime: new Date().toISOString() }] } },
      'application/merge-patch+json',
      { subresource: 'status' },
    );
  });
  await waitAllReady(namespace, n, 60_000);
  return { seconds: (Date.now() - started) / 1000 };
}

// ------------------------------------------------------------------------------------------------
// Driver

async function once(who: 'operator' | 'baseline', n: number): Promise<RunResult> {
  const namespace = uniqueNamespace(`bench-${who}-${n}`);
  await ensureNamespace(namespace);
  const emulator = await startEmulator({ scenario: scenarioFor(n) });
  try {
    await createObjects(namespace, n);
    const rv = (await admin.list(EndpointResource, { namespace, limit: 1 })).metadata?.resourceVersion ?? '0';
    const writes = countObjectWrites(namespace, rv);
    const result = who === 'operator' ? await runOperator(namespace, emulator, n) : await runBaseline(namespace, emulator, n);
    await sleep(500);
    const calls: Record<string, number> = {};
    let throttled = 0;
    for (const c of emulator.emulator.calls.query()) {
      const op = c.status === 404 ? `${c.operation} 404` : c.operation;
      calls[op] = (calls[op] ?? 0) + 1;
      if (c.status === 429) throttled++;
    }
    return { seconds: result.seconds ?? NaN, ...result, calls, throttled, objectWrites: writes.stop(), eventWrites: await countEventWrites(namespace) };
  } finally {
    await emulator.close();
  }
}

const rows: string[] = [];
for (const n of sizes) {
  const runs: Record<'operator' | 'baseline', RunResult[]> = { operator: [], baseline: [] };
  for (let rep = 0; rep < reps; rep++) {
    const order: ('operator' | 'baseline')[] = rep % 2 === 0 ? ['operator', 'baseline'] : ['baseline', 'operator'];
    for (const who of order) {
      const r = await once(who, n);
      runs[who].push(r);
      console.error(`N=${n} rep ${rep + 1} ${who}: ${r.seconds.toFixed(1)} s${r.peakRssMiB ? `, peak RSS ${r.peakRssMiB.toFixed(0)} MiB, CPU ${r.cpuSeconds?.toFixed(1)} s, ${r.latency}` : ''}, writes ${r.objectWrites}+${r.eventWrites} events, calls ${JSON.stringify(r.calls)}`);
    }
  }
  const op = runs.operator;
  const base = runs.baseline;
  const ratio = median(op.map((r) => r.seconds)) / median(base.map((r) => r.seconds));
  rows.push(
    [
      n.toLocaleString('en'),
      n <= 50 ? 'default limit, 3 s rollouts; baseline fires all, retries 429' : `instant rollouts, raised limits; baseline perfect, concurrency ${concurrency}`,
      spread(op.map((r) => r.seconds)),
      spread(base.map((r) => r.seconds)),
      `${ratio.toFixed(2)}×`,
      `${Math.max(...op.map((r) => r.peakRssMiB ?? 0)).toFixed(0)}`,
      `${median(op.map((r) => r.cpuSeconds ?? 0)).toFixed(1)}`,
      describeCalls(op.at(-1)!.calls),
      describeCalls(base.at(-1)!.calls),
      `${(median(op.map((r) => r.objectWrites)) / n).toFixed(2)} + ${(median(op.map((r) => r.eventWrites)) / n).toFixed(2)} ev`,
      `${(median(base.map((r) => r.objectWrites)) / n).toFixed(2)} + ${(median(base.map((r) => r.eventWrites)) / n).toFixed(2)} ev`,
      `${median(op.map((r) => r.throttled))} / ${median(base.map((r) => r.throttled))}`,
    ].join(' | '),
  );
}

console.log(`\nRollout benchmark: ${reps} repetitions, interleaved; times to all Ready in seconds, median (min–max); operator = dist/ with --concurrency ${concurrency}`);
console.log('| N | setting | operator s | baseline s | ratio | op peak RSS MiB | op CPU s | op Databricks calls (last run) | baseline calls | op apiserver writes/endpoint | baseline writes/endpoint | 429s op / baseline |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row} |`);

await admin.close();
if (startedCluster) await runScript('down.sh', process.env);

// ------------------------------------------------------------------------------------------------

function describeCalls(calls: Record<string, number>): string {
  return Object.entries(calls)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, count]) => `${op} ${count}`)
    .join(', ');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function spread(xs: number[]): string {
  return `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
