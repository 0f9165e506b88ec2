// Rollout benchmark (issue 12): the operator, built (dist/) and run as production runs it, against a baseline
// written here, in the same run, interleaved, on the real test control plane and the emulator.
//   - N = 50 under the documented limit (50 creates/updates per 5 minutes, 3 s rollouts), three phases: create
//     (objects applied and read → all Ready; the operator counted from its readiness, its start-up shown apart),
//     update (all 50 throughputs changed → all serving the new config) and delete (all 50 objects deleted → all
//     gone from Kubernetes and Databricks). Two baselines, both in every repetition, writing with the operator's
//     service account (--baseline-identity):
//       * "terraform": what `terraform apply` / `terraform destroy` with the Databricks provider does, from
//         /work/shared/reference/databricks-serving-api.md §3.4, §3.5, §5.1 and the Go SDK's retries.go and
//         httpclient/api_client.go: ONE Go SDK client whose every call (refresh, create, update, poll, read, delete)
//         waits for one token bucket of 15 requests/s, burst 1 (rate.NewLimiter(15, 1)); Terraform's default
//         -parallelism=10; a refresh GET of each existing resource before an update or a destroy; create/update
//         then the waiter (GET at once, then after min(attempt, 10) s + 50–750 ms, until config_update is
//         NOT_UPDATING), then the Read that follows every Create/Update (common/resource.go); delete = one DELETE,
//         no wait, no read; a 429 retried after the same min(attempt, 10) s + jitter (the Go SDK ignores
//         Retry-After for API calls). The ratio the issue's target is measured against.
//       * "fire-all": no client limiter (like a Python or JavaScript SDK script, §3.4), every call at once, 429s
//         retried after Retry-After + up to 1 s; polls with the waiter's schedule; no refresh, no read after. A lower
//         bound, not what the Terraform provider does; shown so nothing is hidden.
//       * "same writes": the fire-all client again, making the operator's apiserver writes too (the finalizer, a
//         status saying the create or update started, the Ready status, two Events; on delete the finalizer's
//         removal and one Event): how much of the gap to the fire-all client those writes are.
//     Each phase starts with fresh 5-minute windows, Databricks' and the operator's (the emulator's window is reset
//     and the operator restarted before the update phase), as if the endpoints had been created long before.
//   - N = 1,000 / 10,000 with instant rollouts and the limits raised (create only): the baseline makes exactly the
//     calls a perfect controller needs (optimization info once per model, one create, one GET, one status write),
//     at the operator's concurrency.
// The benchmark runs its own control plane (<repo>/.cluster-bench, unless PT_CLUSTER_DIR is set) with an apiserver
// audit log (PT_APISERVER_AUDIT=1 in up.sh), and counts the operator's apiserver writes per endpoint twice: on the
// client side (a watch of the objects sees each write that changed one; Events listed afterwards) and on the server
// side (audit events of the operator's user, by resource and verb, no-op writes included).
// Prints ONE table: time per phase (median, min–max), the ratio, the operator's peak RSS and CPU seconds,
// Databricks calls by operation, apiserver writes per endpoint and 429s.
//   npm run bench -- rollout            (N = 50 and 1,000, 3 repetitions)
//   npx tsx bench/rollout.ts --sizes 50,1000,10000 --reps 3 [--concurrency 4] [--phases create,update,delete]
//     [--scale-phases create,delete]   (phases measured at N > 50; create only by default)
//     [--operator-arg=--some-flag=value ...] [--node-arg=--some-node-flag ...] [--samewrites-status small|operator]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EndpointResource } from '../src/controllers/resources.js';
import { startEmulator, type RunningEmulator } from '../src/emulator/server.js';
import { CoreResources, EventRecorder, KubeClient, type KubeObject, resourcePath } from '../src/kube/index.js';
import { installCrds, installOperatorRbac, isHealthy, runScript } from '../test/controlplane/global-setup.js';
import { ensureNamespace, parseEnvFile, readClusterEnv, repoRoot, uniqueNamespace } from '../test/support/cluster.js';
import { freePort } from '../test/support/ports.js';
import { inMemoryCgroup, productionLogLevel, productionMemoryLimitBytes, productionNodeFlags } from './lib/production.js';
import { createEndpointObjects, endpointNames } from './lib/objects.js';
import { median, pool, sleep, spread } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '50,1000' },
    reps: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
    phases: { type: 'string', default: 'create,update,delete' },
    /** the phases measured at N > 50 (of those in --phases): create by default; delete too, e.g. for mass deletions */
    'scale-phases': { type: 'string', default: 'create' },
    /** an extra flag for the operator (repeatable), e.g. --operator-arg=--databricks-reads-per-second=1000 */
    'operator-arg': { type: 'string', multiple: true, default: [] },
    /** an extra node flag for the operator after the image's own (repeatable), e.g. --node-arg=--max-old-space-size-percentage=30 */
    'node-arg': { type: 'string', multiple: true, default: [] },
    /** write a V8 CPU profile of each operator run into this directory (node --cpu-prof) */
    'cpu-prof': { type: 'string' },
    /**
     * whose credentials the baselines write with: "operator" (the operator's service account, as its chart grants:
     * the same RBAC checks and API Priority and Fairness flow) or "admin" (system:masters, exempt from both)
     */
    'baseline-identity': { type: 'string', default: 'operator' },
    /**
     * the same-writes participant's status bodies: "operator" (the fields the operator's status holds, docs/api.md,
     * values of the same sizes: the writes item 5 allows, as the API defines them) or "small" (one condition, as the
     * baseline's; until session 9): the difference is what the status's content costs the API server
     */
    'samewrites-status': { type: 'string', default: 'operator' },
    /** run only these participants (comma-separated, e.g. operator) and print their runs, no table: for profiling */
    only: { type: 'string' },
    /** the operator's memory cgroup: "chart" (the chart's resources.limits.memory, as in a Pod), "none", or e.g. 1Gi */
    'memory-limit': { type: 'string', default: 'chart' },
  },
});
const memoryLimitBytes = (() => {
  const setting = values['memory-limit'];
  if (setting === 'none') return undefined;
  if (setting === 'chart') return productionMemoryLimitBytes(repoRoot);
  const match = /^(\d+)(Mi|Gi)$/.exec(setting);
  if (!match) throw new Error(`--memory-limit: "chart", "none" or a size such as 512Mi, not ${setting}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 2 ** 30 : 2 ** 20);
})();
let memoryLimitNote = memoryLimitBytes === undefined ? 'no memory limit' : `memory cgroup of ${memoryLimitBytes / 2 ** 20} MiB`;
const sizes = values.sizes.split(',').map(Number);
const reps = Number(values.reps);
const concurrency = Number(values.concurrency);
const PAT = 'dapi0123456789abcdef0123456789abcdef';
const MODEL = { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '3' };

type Phase = 'create' | 'update' | 'delete';
/**
 * baseline: fire-all at N ≤ 50, the perfect controller at scale; terraform: the provider's calls (N ≤ 50 only);
 * samewrites: the second baseline making the operator's apiserver writes too (at N ≤ 50 the fire-all client, at scale
 * the perfect controller): it tells the cost of those writes apart from the operator's own overhead.
 */
type Who = 'operator' | 'baseline' | 'terraform' | 'samewrites';
const participants = (n: number): Who[] =>
  (n <= 50 ? (['operator', 'terraform', 'baseline', 'samewrites'] as Who[]) : (['operator', 'baseline', 'samewrites'] as Who[])).filter((who) => !values.only || values.only.split(',').includes(who));
const requestedPhases = values.phases.split(',') as Phase[];
// Update and delete act on the endpoints the create phase made: without it there is nothing to measure.
if (!requestedPhases.includes('create') || requestedPhases.some((p) => !['create', 'update', 'delete'].includes(p))) {
  console.error(`--phases ${values.phases}: list create, then update and/or delete (they act on what create made), e.g. --phases create,delete`);
  process.exit(2);
}
/** Update and delete are measured where the limit matters, N = 50 under the documented limit, unless --scale-phases says. */
const scalePhases = values['scale-phases'].split(',');
const phasesFor = (n: number): Phase[] => (n <= 50 ? requestedPhases : requestedPhases.filter((p) => p === 'create' || scalePhases.includes(p)));

type Endpoint = KubeObject & {
  spec: Record<string, unknown>;
  status?: { conditions?: { type: string; status: string; observedGeneration?: number }[] };
};

interface PhaseResult {
  seconds: number;
  peakRssMiB?: number;
  cpuSeconds?: number;
  calls: Record<string, number>;
  throttled: number;
  /** writes seen on a watch of the objects (client side) */
  objectWrites: number;
  eventWrites: number;
  /** the operator's writes in the apiserver's audit log: objects (incl. status) and Events */
  audit?: { objects: number; events: number; byVerb: Record<string, number> };
  /** the operator's mean queue wait and reconcile time */
  latency?: string;
  /** endpoints not serving what the phase asked for when it ended (should be 0) */
  unfinished: number;
  /** CPU seconds the kube-apiserver and etcd spent during the phase (where the machine's time went) */
  controlPlaneCpuSeconds?: number;
  /** CPU seconds of this process during the phase: the emulator (and, for the baseline, the baseline itself) */
  benchCpuSeconds?: number;
  /** seconds from the operator's start until its caches were synced (/readyz): its create time counts from then */
  startupSeconds?: number;
  /** seconds after the phase ended until the operator had written every Event it recorded (Events trail the status) */
  eventsTrailSeconds?: number;
}

// ------------------------------------------------------------------------------------------------
// Cluster (its own, with an audit log), build

process.env.PT_CLUSTER_DIR ??= join(repoRoot, '.cluster-bench');
process.env.PT_APISERVER_AUDIT = '1';
const clusterDir = process.env.PT_CLUSTER_DIR;
const startedCluster = !(await isHealthy(clusterDir));
if (startedCluster) await runScript('up.sh', process.env);
let env = readClusterEnv(clusterDir);
const readAuditLog = () => parseEnvFile(readFileSync(join(clusterDir, 'env'), 'utf8'))['AUDIT_LOG'];
let auditLog = readAuditLog();
if (!auditLog || !existsSync(auditLog)) console.error(`no apiserver audit log in ${clusterDir}: the audit columns stay empty (start the cluster with PT_APISERVER_AUDIT=1)`);
await installCrds();
await installOperatorRbac(env);
console.error('building dist/ (npm run build)');
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'inherit' });
let admin = await KubeClient.fromFile(env.kubeconfigAdmin);
if (!['operator', 'admin'].includes(values['baseline-identity'])) throw new Error(`--baseline-identity: "operator" or "admin", not ${values['baseline-identity']}`);
if (!['small', 'operator'].includes(values['samewrites-status'])) throw new Error(`--samewrites-status: "small" or "operator", not ${values['samewrites-status']}`);
const sameWritesAsOperator = values['samewrites-status'] === 'operator';
const baselineKubeconfig = () => (values['baseline-identity'] === 'admin' ? env.kubeconfigAdmin : env.kubeconfigOperator);
/** What the baselines write with (their status writes, finalizers, Events); objects are made and read as admin. */
let baselineClient = await KubeClient.fromFile(baselineKubeconfig());
let usedControlPlane = false;

/**
 * At scale every run starts on a fresh control plane (when the benchmark started its own): the 10,000 objects and
 * 20,000 Events a run leaves behind made the apiserver slower for every run after it (4 GiB RSS after six runs of
 * 10,000), whichever participant that was. At N = 50 what is left is too little to matter.
 */
async function freshControlPlane(n: number): Promise<void> {
  const reuse = !usedControlPlane || !startedCluster || n <= 50;
  usedControlPlane = true;
  if (reuse) return;
  await admin.close();
  await baselineClient.close();
  await runScript('down.sh', process.env);
  await runScript('up.sh', process.env);
  env = readClusterEnv(clusterDir);
  auditLog = readAuditLog();
  await installCrds();
  await installOperatorRbac(env);
  admin = await KubeClient.fromFile(env.kubeconfigAdmin);
  baselineClient = await KubeClient.fromFile(baselineKubeconfig());
}

// ------------------------------------------------------------------------------------------------
// Objects and what is measured about them

function scenarioFor(n: number) {
  return n <= 50
    ? { clock: { speed: 1 }, timing: { rolloutSeconds: 3 }, limits: { mutationsPerWindow: 50, windowSeconds: 300 } }
    : // instant rollouts: 1 virtual second at 1000x is 1 ms; the limit is not the bottleneck
      // and the workspace may hold every endpoint (past the default 1000, as an account team raises it)
      { clock: { speed: 1000 }, timing: { rolloutSeconds: 1 }, limits: { mutationsPerWindow: 1_000_000, windowSeconds: 300, endpointsPerWorkspace: 1_000_000 } };
}

const THROUGHPUT = { create: { min: 1, max: 2 }, update: { min: 1, max: 3 } };

const createObjects = (namespace: string, n: number): Promise<void> => createEndpointObjects(admin, namespace, n, MODEL, THROUGHPUT.create);

/** The user's change of the update phase: every object's throughput, as `kubectl patch` would send it. */
async function patchThroughputs(namespace: string, names: readonly string[]): Promise<void> {
  await pool(names, 16, async (name) => {
    await admin.patch(EndpointResource, namespace, name, { spec: { throughput: { chunks: THROUGHPUT.update } } }, 'application/merge-patch+json');
  });
}

async function deleteObjects(namespace: string, names: readonly string[]): Promise<void> {
  await pool(names, 16, async (name) => {
    await admin.delete(EndpointResource, namespace, name);
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

async function waitUntil(what: string, probe: () => Promise<{ done: boolean; progress: string }>, timeoutMs: number, intervalMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // at 10,000 the apiserver's watch cache can lag its writes: a list then fails with 504 "Too large resource
    // version" for a moment; look again
    const { done, progress } = await probe().catch((err: unknown) => ({ done: false, progress: `${String(err)}` }));
    if (done) return;
    if (Date.now() > deadline) throw new Error(`${what}: ${progress} after ${timeoutMs / 1000} s`);
    await sleep(intervalMs);
  }
}

/**
 * All Ready for their current generation and the emulator serving each one's config. Readiness comes from the
 * phase's watch (a list of every object every 250 ms cost the apiserver CPU the operator competes for, the more
 * the longer a run), or from lists if that watch ended.
 */
async function waitAllReady(objects: ObjectWatch, namespace: string, emulator: RunningEmulator, n: number, maxChunks: number, timeoutMs: number): Promise<void> {
  await waitUntil(
    'Ready',
    async () => {
      const ready = objects.alive() ? objects.ready() : (await listAll(namespace)).filter(isReady).length;
      const serving = unfinished(emulator, maxChunks) === 0;
      return { done: ready >= n && serving, progress: `${ready}/${n} Ready, emulator serving the config: ${serving}` };
    },
    timeoutMs,
    objects.alive() ? 100 : n > 2000 ? 2000 : 250,
  );
}

async function waitAllGone(objects: ObjectWatch, namespace: string, emulator: RunningEmulator, timeoutMs: number): Promise<void> {
  await waitUntil(
    'deleted',
    async () => {
      const left = objects.alive() ? objects.present() : (await listAll(namespace)).length;
      const inDatabricks = emulator.emulator.endpoints().length;
      return { done: left === 0 && inDatabricks === 0, progress: `${left} objects and ${inDatabricks} Databricks endpoints left` };
    },
    timeoutMs,
    objects.alive() ? 100 : 250,
  );
}

/** Endpoints in the emulator that are not (yet) serving `maxChunks` chunks with no update in progress. */
function unfinished(emulator: RunningEmulator, maxChunks: number): number {
  const chunk = emulator.emulator.optimizationInfo(MODEL.name, MODEL.version).throughput_chunk_size ?? 0;
  return emulator.emulator.endpoints().filter((e) => {
    const served = e.config?.served_entities?.[0] as { max_provisioned_throughput?: number } | undefined;
    return e.state?.config_update !== 'NOT_UPDATING' || served?.max_provisioned_throughput !== maxChunks * chunk;
  }).length;
}

interface ObjectWatch {
  /** Writes counted so far; stops the watch. */
  stop(): number;
  /** Objects Ready for their current generation. */
  ready(): number;
  /** Objects that exist. */
  present(): number;
  /** The watch still runs (else the counts are stale). */
  alive(): boolean;
}

/**
 * Writes to the objects other than the user's own (a spec change, a delete), as a watch sees them: every write that
 * changed an object is one MODIFIED event. Writes that changed nothing, and the last finalizer's removal (seen as
 * DELETED), are not seen; the audit log counts those. The same watch tells which objects are Ready or gone.
 */
async function watchObjects(namespace: string): Promise<ObjectWatch> {
  const list = await admin.list<Endpoint>(EndpointResource, { namespace, limit: 20000 });
  const seen = new Map(list.items.map((o) => [o.metadata.name, { generation: o.metadata.generation, deleting: o.metadata.deletionTimestamp !== undefined }]));
  const ready = new Set(list.items.filter(isReady).map((o) => o.metadata.name));
  const controller = new AbortController();
  let count = 0;
  let alive = true;
  void (async () => {
    try {
      const events = admin.watch<Endpoint>(resourcePath(EndpointResource, namespace), { resourceVersion: list.metadata?.resourceVersion ?? '0', allowWatchBookmarks: false }, controller.signal);
      for await (const event of events) {
        if (event.type === 'ERROR') break;
        if (event.type === 'BOOKMARK') continue;
        const o = event.object;
        if (event.type === 'DELETED') {
          seen.delete(o.metadata.name);
          ready.delete(o.metadata.name);
          continue;
        }
        if (isReady(o)) ready.add(o.metadata.name);
        else ready.delete(o.metadata.name);
        const now = { generation: o.metadata.generation, deleting: o.metadata.deletionTimestamp !== undefined };
        const before = seen.get(o.metadata.name);
        seen.set(o.metadata.name, now);
        if (event.type !== 'MODIFIED') continue;
        const usersOwn = before !== undefined && (before.generation !== now.generation || (!before.deleting && now.deleting));
        if (!usersOwn) count++;
      }
    } catch {
      /* aborted, or the watch failed: the waits fall back to lists */
    } finally {
      alive = false;
    }
  })();
  return {
    stop() {
      controller.abort();
      return count;
    },
    ready: () => ready.size,
    present: () => seen.size,
    alive: () => alive,
  };
}

/** Event writes: each Event object is one create, each repetition (count > 1) one more patch. */
async function countEventWrites(namespace: string, since: number): Promise<number> {
  const events = await admin.list<KubeObject & { count?: number; series?: { count?: number }; firstTimestamp?: string; lastTimestamp?: string; eventTime?: string }>(
    CoreResources.event,
    { namespace },
  );
  return events.items
    .filter((e) => Date.parse(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? '') >= since - 1_000)
    .reduce((sum, e) => sum + Math.max(1, e.series?.count ?? e.count ?? 1), 0);
}

interface AuditEvent {
  stage?: string;
  verb?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string };
  requestReceivedTimestamp?: string;
}

/** The audit log's size now: where a phase's entries start (the log of a reused control plane outgrows 512 MiB). */
const auditLogOffset = (): number => (auditLog && existsSync(auditLog) ? statSync(auditLog).size : 0);

/**
 * The operator's writes in `namespace` between `from` and `to` (ms), from the apiserver's audit log, read line by
 * line from `offset` (read whole, the log of a control plane reused for several runs at 10,000 outgrew a string).
 */
async function auditedWrites(namespace: string, from: number, to: number, offset: number): Promise<PhaseResult['audit']> {
  if (!auditLog || !existsSync(auditLog)) return undefined;
  const byVerb: Record<string, number> = {};
  let objects = 0;
  let events = 0;
  for await (const line of createInterface({ input: createReadStream(auditLog, { start: offset }), crlfDelay: Infinity })) {
    if (!line.includes(namespace)) continue;
    const e = JSON.parse(line) as AuditEvent;
    if (e.stage !== 'ResponseComplete' || e.user?.username !== env.operatorUser || e.objectRef?.namespace !== namespace) continue;
    const at = Date.parse(e.requestReceivedTimestamp ?? '');
    if (at < from || at > to) continue;
    const resource = `${e.objectRef.resource}${e.objectRef.subresource ? `/${e.objectRef.subresource}` : ''}`;
    if (resource === 'events') events++;
    else objects++;
    const key = `${e.verb} ${resource}`;
    byVerb[key] = (byVerb[key] ?? 0) + 1;
  }
  return { objects, events, byVerb };
}

/**
 * Where an object's time went, from the operator's own /metrics: mean queue wait and reconcile time per reconcile,
 * mean latency of its status writes, finalizer patches and Databricks calls, and the writes its client counted.
 */
async function reconcileLatency(port: number, n: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sumOf = (metric: string, labels: RegExp) =>
    [...text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} ([0-9.e+-]+)`, 'gm'))].filter((m) => labels.test(m[1]!)).reduce((sum, m) => sum + Number(m[2]), 0);
  const ofEndpoints = /provisionedthroughputendpoint/;
  const mean = (name: string, labels: RegExp) => (1000 * sumOf(`${name}_sum`, labels)) / Math.max(1, sumOf(`${name}_count`, labels));
  const kube = 'pt_operator_kubernetes_request_duration_seconds';
  const writes = (resource: string) => sumOf('pt_operator_kubernetes_requests_total', new RegExp(`verb="(create|update|patch|delete)",resource="${resource}"`));
  return [
    `queue wait ${mean('workqueue_queue_duration_seconds', ofEndpoints).toFixed(0)} ms, reconcile ${mean('controller_runtime_reconcile_time_seconds', ofEndpoints).toFixed(0)} ms over ${sumOf('controller_runtime_reconcile_time_seconds_count', ofEndpoints)} reconciles`,
    `status write ${mean(kube, /resource="provisionedthroughputendpoints",subresource="status"/).toFixed(0)} ms, finalizer patch ${mean(kube, /verb="patch",resource="provisionedthroughputendpoints",subresource=""/).toFixed(0)} ms, Databricks call ${mean('pt_operator_databricks_request_duration_seconds', /./).toFixed(0)} ms`,
    `client-counted writes/endpoint ${(writes('provisionedthroughputendpoints') / n).toFixed(2)} + ${(writes('events') / n).toFixed(2)} ev`,
  ].join(', ');
}

/**
 * Waits until the operator has no Event left to write (its pt_operator_events_queued gauge, 0 on two reads 300 ms
 * apart: the last object's Event is recorded just after the watch showed its status); returns how long. Read every
 * 250 ms: a scrape counts 10,000 objects, and at 100 ms the scrapes alone were 4 s of the operator's CPU.
 */
async function eventsWritten(port: number, timeoutMs = 600_000): Promise<number> {
  const started = Date.now();
  let zeroSince: number | undefined;
  for (;;) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const queued = /^pt_operator_events_queued (\d+)/m.exec(text)?.[1];
    if (queued === undefined) throw new Error('the operator exports no pt_operator_events_queued gauge');
    if (queued !== '0') zeroSince = undefined;
    else if (zeroSince === undefined) zeroSince = Date.now();
    else if (Date.now() - zeroSince >= 300) return zeroSince - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${queued} Events still unwritten ${timeoutMs / 1000} s after the phase ended`);
    await sleep(250);
  }
}

function procStats(pid: number): { peakRssMiB: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  return { peakRssMiB: hwm / 1024, cpuSeconds: ticks / 100 };
}

// ------------------------------------------------------------------------------------------------
// The operator

interface OperatorProcess {
  child: ChildProcess;
  probePort: number;
  stop(): Promise<void>;
}

async function startOperatorProcess(namespace: string, emulator: RunningEmulator, n: number): Promise<OperatorProcess> {
  // a port nobody listens on: a random one could be an ephemeral port in use, and the operator then exits at start
  const probePort = await freePort();
  const args = [
    // the node flags of the image's ENTRYPOINT (docs/benchmarks.md, "Memory")
    ...productionNodeFlags(repoRoot),
    ...values['node-arg'],
    ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []),
    join(repoRoot, 'dist/main.js'),
    'run',
    `--namespaces=${namespace}`,
    `--concurrency=${concurrency}`,
    `--probe-address=127.0.0.1:${probePort}`,
    // the chart's log level; its lines go nowhere here, but writing them costs what it costs in a Pod
    `--log-level=${productionLogLevel(repoRoot)}`,
    `--default-workspace-namespaces=${namespace}`,
    ...(n > 50 ? ['--databricks-mutations-per-5-minutes=10000', '--databricks-reads-per-second=1000'] : []),
    ...values['operator-arg'],
  ];
  // As in a Pod: Node sizes its heap from the memory limit it runs under (bench/lib/production.ts)
  const cgroup = memoryLimitBytes === undefined ? undefined : inMemoryCgroup([process.execPath, ...args], memoryLimitBytes, `pt-bench-operator-${process.pid}`);
  if (memoryLimitBytes !== undefined && !cgroup) memoryLimitNote = `no memory limit (a ${memoryLimitBytes / 2 ** 20} MiB cgroup could not be made: not root, or no memory controller)`;
  const [command, ...commandArgs] = cgroup?.argv ?? [process.execPath, ...args];
  const child: ChildProcess = spawn(command as string, commandArgs, {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: env.kubeconfigOperator, DATABRICKS_HOST: emulator.url, DATABRICKS_TOKEN: PAT },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    cgroup?.cleanup();
    if (signal === 'SIGKILL') console.error('operator killed by SIGKILL (out of memory in its cgroup?)');
    resolve(code);
  }));
  return {
    child,
    probePort,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Until the operator's caches are synced (/readyz), so a phase's clock does not include its start-up. Asked every
 * 20 ms: its workers start just after, so the clock may start up to that much after its first reconcile.
 */
async function operatorReady(op: OperatorProcess): Promise<void> {
  await waitUntil(
    'operator /readyz',
    async () => ({ done: await fetch(`http://127.0.0.1:${op.probePort}/readyz`).then((r) => r.ok, () => false), progress: 'not ready' }),
    60_000,
    20,
  );
}

// ------------------------------------------------------------------------------------------------
// The baselines: "terraform" (the provider's calls, N ≤ 50), and the second one: fire-all at N ≤ 50 (no limiter,
// everything at once, retry 429), the perfect controller at scale

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

/** One call, retried on 429 after Retry-After plus up to 1 s of jitter (the Python SDK's policy). */
async function withRetries(emulator: RunningEmulator, what: string, method: string, path: string, body?: unknown): Promise<void> {
  for (;;) {
    const res = await databricks(emulator, method, path, body);
    if (res.status === 200) return;
    if (res.status !== 429) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.json)}`);
    await sleep((res.retryAfter ?? 1) * 1000 + Math.random() * 1000);
  }
}

/** Until it serves: one GET when rollouts are instant; the SDK waiter's linear backoff otherwise. */
async function waitServing(emulator: RunningEmulator, name: string, waiterSchedule: boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const res = await databricks<{ state?: { ready?: string; config_update?: string } }>(emulator, 'GET', `/api/2.0/serving-endpoints/${name}`);
    if (res.json.state?.ready === 'READY' && res.json.state.config_update === 'NOT_UPDATING') return;
    await sleep(waiterSchedule ? goSdkBackoff(attempt) : 10);
  }
}

/**
 * The Terraform provider's Databricks client (databricks-sdk-go): one rate.Limiter(15/s, burst 1) that every attempt
 * of every call waits for, whichever resource makes it; a 429 (or 503) is retried after min(attempt, 10) s + 50–750 ms
 * (retries.go backoff; Retry-After is ignored for API calls, reference §3.4).
 */
class GoSdkClient {
  private nextToken = 0;
  constructor(
    private readonly emulator: RunningEmulator,
    private readonly ratePerSecond = 15,
  ) {}

  /** golang.org/x/time/rate with burst 1: a token every 1/r s, at most one saved up while idle. */
  private async token(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.nextToken);
    this.nextToken = at + 1000 / this.ratePerSecond;
    if (at > now) await sleep(at - now);
  }

  async call<T>(what: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    for (let attempt = 1; ; attempt++) {
      await this.token();
      const res = await databricks<T>(this.emulator, method, path, body);
      if (res.status !== 429 && res.status !== 503) {
        if (res.status !== 200 && !(method === 'DELETE' && res.status === 404)) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.json)}`);
        return res;
      }
      await sleep(goSdkBackoff(attempt));
    }
  }

  /** WaitGetServingEndpointNotUpdating: retries.Poll, GET at once, then after each backoff, until NOT_UPDATING. */
  async waitNotUpdating(name: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.call<{ state?: { config_update?: string } }>(`get ${name}`, 'GET', `/api/2.0/serving-endpoints/${name}`);
      const state = res.json.state?.config_update;
      if (state === 'NOT_UPDATING') return;
      if (state === 'UPDATE_FAILED' || state === 'UPDATE_CANCELED') throw new Error(`${name}: failed to reach NOT_UPDATING, got ${state}`);
      await sleep(goSdkBackoff(attempt));
    }
  }
}

/** retries.go: min(attempt, 10) s plus 50–750 ms of jitter (the waiter's poll and the per-call retry alike). */
const goSdkBackoff = (attempt: number) => Math.min(attempt, 10) * 1000 + 50 + Math.random() * 700;

/** `terraform apply` / `destroy` walks the resources with -parallelism=10 (the default). */
const TERRAFORM_PARALLELISM = 10;

async function terraformCreate(namespace: string, emulator: RunningEmulator, objects: readonly Endpoint[]): Promise<void> {
  const sdk = new GoSdkClient(emulator);
  const served_entities = await servedEntities(emulator, THROUGHPUT.create);
  // New resources: nothing in the state to refresh. Create, wait (GetWithTimeout), then the Read after Create.
  await pool(objects, TERRAFORM_PARALLELISM, async (obj) => {
    const name = obj.metadata.name;
    const body = { name, config: { served_entities }, tags: [{ key: 'pt-operator-owner-uid', value: obj.metadata.uid }] };
    await sdk.call(`create ${name}`, 'POST', '/api/2.0/serving-endpoints', body);
    await sdk.waitNotUpdating(name);
    await sdk.call(`read ${name}`, 'GET', `/api/2.0/serving-endpoints/${name}`);
    await writeReady(namespace, obj, obj.metadata.generation);
  });
}

async function terraformUpdate(namespace: string, emulator: RunningEmulator, names: readonly string[]): Promise<void> {
  await patchThroughputs(namespace, names);
  const sdk = new GoSdkClient(emulator);
  const objects = await listAll(namespace);
  const served_entities = await servedEntities(emulator, THROUGHPUT.update);
  // plan: refresh every resource in the state (a GET each), then apply: UpdateConfig, wait, (tags and AI gateway
  // unchanged: no call), then the Read after Update.
  await pool(objects, TERRAFORM_PARALLELISM, async (obj) => void (await sdk.call(`refresh ${obj.metadata.name}`, 'GET', `/api/2.0/serving-endpoints/${obj.metadata.name}`)));
  await pool(objects, TERRAFORM_PARALLELISM, async (obj) => {
    const name = obj.metadata.name;
    await sdk.call(`update ${name}`, 'PUT', `/api/2.0/serving-endpoints/${name}/config`, { served_entities });
    await sdk.waitNotUpdating(name);
    await sdk.call(`read ${name}`, 'GET', `/api/2.0/serving-endpoints/${name}`);
    await writeReady(namespace, obj, obj.metadata.generation);
  });
}

async function terraformDestroy(namespace: string, emulator: RunningEmulator, names: readonly string[]): Promise<void> {
  const sdk = new GoSdkClient(emulator);
  // plan: refresh each resource (GET); apply: DeleteByName, no wait, no read.
  await pool(names, TERRAFORM_PARALLELISM, async (name) => void (await sdk.call(`refresh ${name}`, 'GET', `/api/2.0/serving-endpoints/${name}`)));
  await pool(names, TERRAFORM_PARALLELISM, async (name) => void (await sdk.call(`delete ${name}`, 'DELETE', `/api/2.0/serving-endpoints/${name}`)));
  await deleteObjects(namespace, names);
}

async function writeReady(namespace: string, obj: Endpoint, generation: number | undefined, asOperator = false): Promise<void> {
  await writeCondition(namespace, obj, 'True', 'Available', 'serving', generation, asOperator);
}

async function writeCondition(namespace: string, obj: Endpoint, status: 'True' | 'False', reason: string, message: string, generation = obj.metadata.generation, asOperator = false): Promise<void> {
  const condition = (type: string, s: string, r: string, m: string) => ({ type, status: s, reason: r, message: m, observedGeneration: generation, lastTransitionTime: new Date().toISOString() });
  const ready = status === 'True';
  // the rest of what the operator's status holds (docs/api.md), values of the sizes it writes
  const operatorFields = {
    endpointId: obj.metadata.uid?.replaceAll('-', ''),
    endpointName: obj.metadata.name,
    endpointUrl: `http://127.0.0.1:38607/serving-endpoints/${obj.metadata.name}/invocations`,
    managedTagKeys: [],
    observedGeneration: generation,
    optimization: { chunkSize: 980, modelType: 'llama' },
    served: { configVersion: 1, maxTokensPerSecond: 1960, minTokensPerSecond: 980, modelVersion: MODEL.version },
    state: { configUpdate: ready ? 'NOT_UPDATING' : 'IN_PROGRESS', ready: ready ? 'READY' : 'NOT_READY' },
    workspaceHost: 'http://127.0.0.1:38607',
  };
  await baselineClient.patch(
    EndpointResource,
    namespace,
    obj.metadata.name,
    asOperator
      ? { status: { conditions: [condition('Ready', status, reason, message), condition('Synced', 'True', 'ReconcileSuccess', 'the spec is applied')], ...operatorFields } }
      : { status: { conditions: [condition('Ready', status, reason, message)] } },
    'application/merge-patch+json',
    { subresource: 'status' },
  );
}

/** The served entities for `chunks` (a Terraform user writes the numbers in the HCL; here one lookup, unthrottled). */
async function servedEntities(emulator: RunningEmulator, chunks: { min: number; max: number }) {
  const info = await databricks<{ throughput_chunk_size: number }>(emulator, 'GET', `/api/2.0/serving-endpoints/get-model-optimization-info/${MODEL.name}/${MODEL.version}`);
  const chunk = info.json.throughput_chunk_size;
  return [{ entity_name: MODEL.name, entity_version: MODEL.version, min_provisioned_throughput: chunks.min * chunk, max_provisioned_throughput: chunks.max * chunk }];
}

async function baselineCreate(namespace: string, emulator: RunningEmulator, n: number, objects: readonly Endpoint[]): Promise<void> {
  const served_entities = await servedEntities(emulator, THROUGHPUT.create);
  const fireAll = n <= 50;
  await pool(objects, fireAll ? n : concurrency, async (obj) => {
    const name = obj.metadata.name;
    const body = { name, config: { served_entities }, tags: [{ key: 'pt-operator-owner-uid', value: obj.metadata.uid }] };
    await withRetries(emulator, `create ${name}`, 'POST', '/api/2.0/serving-endpoints', body);
    await waitServing(emulator, name, fireAll);
    await writeReady(namespace, obj, obj.metadata.generation);
  });
}

/**
 * The perfect controller again, making the apiserver writes item 5 of issue 12 allows and the operator makes: the
 * finalizer before the create, a status that says it is being created, the Ready status, and two Events written
 * beside them two at a time (the operator's own EventRecorder). Its status bodies hold what the operator's do
 * (--samewrites-status operator, the default), or the baseline's one condition (--samewrites-status small).
 */
async function sameWritesCreate(namespace: string, emulator: RunningEmulator, objects: readonly Endpoint[]): Promise<EventRecorder> {
  const served_entities = await servedEntities(emulator, THROUGHPUT.create);
  const events = new EventRecorder(baselineClient, { component: 'bench-samewrites' });
  const fireAll = objects.length <= 50;
  await pool(objects, fireAll ? objects.length : concurrency, async (obj) => {
    const name = obj.metadata.name;
    await baselineClient.patch(EndpointResource, namespace, name, [{ op: 'add', path: '/metadata/finalizers', value: ['bench.ptoperator.io/finalizer'] }], 'application/json-patch+json');
    const body = { name, config: { served_entities }, tags: [{ key: 'pt-operator-owner-uid', value: obj.metadata.uid }] };
    await withRetries(emulator, `create ${name}`, 'POST', '/api/2.0/serving-endpoints', body);
    await writeAroundRollout(namespace, emulator, events, obj, { reason: 'Creating', event: 'CreatingEndpoint' }, fireAll);
  });
  return events;
}

/** The operator's writes around a rollout it started: a status and an Event saying so; once served, Ready and an Event. */
async function writeAroundRollout(
  namespace: string,
  emulator: RunningEmulator,
  events: EventRecorder,
  obj: Endpoint,
  started: { reason: 'Creating' | 'Updating'; event: string },
  waiterSchedule: boolean,
): Promise<void> {
  const name = obj.metadata.name;
  const doing = started.reason.toLowerCase();
  await writeCondition(namespace, obj, 'False', started.reason, doing, obj.metadata.generation, sameWritesAsOperator);
  void events.record(obj, 'Normal', started.event, `${doing} endpoint ${name}`);
  await waitServing(emulator, name, waiterSchedule);
  await writeReady(namespace, obj, obj.metadata.generation, sameWritesAsOperator);
  void events.record(obj, 'Normal', 'Available', `endpoint ${name} serves`);
}

/**
 * The same-writes controller's delete: the user deletes the objects (16 at a time, as for the operator), then for
 * each, at the operator's concurrency, the DELETE in Databricks, the finalizer's removal and one Event, the
 * operator's writes for a deletion.
 */
async function sameWritesDelete(namespace: string, emulator: RunningEmulator, names: readonly string[]): Promise<EventRecorder> {
  const events = new EventRecorder(baselineClient, { component: 'bench-samewrites' });
  await deleteObjects(namespace, names);
  await pool(names, names.length <= 50 ? names.length : concurrency, async (name) => {
    await withRetries(emulator, `delete ${name}`, 'DELETE', `/api/2.0/serving-endpoints/${name}`);
    const obj = await baselineClient.patch<Endpoint>(
      EndpointResource,
      namespace,
      name,
      [{ op: 'test', path: '/metadata/finalizers/0', value: 'bench.ptoperator.io/finalizer' }, { op: 'remove', path: '/metadata/finalizers/0' }],
      'application/json-patch+json',
    );
    void events.record(obj, 'Normal', 'Deleted', `endpoint ${name} deleted in Databricks`);
  });
  return events;
}

/**
 * The fire-all update; with `events` (the same-writes participant, N ≤ 50) it makes the operator's writes for a
 * config change too: a status that says it is being updated, the Ready status, and two Events.
 */
async function baselineUpdate(namespace: string, emulator: RunningEmulator, names: readonly string[], events?: EventRecorder): Promise<void> {
  await patchThroughputs(namespace, names);
  const objects = await listAll(namespace);
  const served_entities = await servedEntities(emulator, THROUGHPUT.update);
  await pool(objects, objects.length, async (obj) => {
    const name = obj.metadata.name;
    await withRetries(emulator, `update ${name}`, 'PUT', `/api/2.0/serving-endpoints/${name}/config`, { served_entities });
    if (events) {
      await writeAroundRollout(namespace, emulator, events, obj, { reason: 'Updating', event: 'UpdatingEndpoint' }, true);
    } else {
      await waitServing(emulator, name, true);
      await writeReady(namespace, obj, obj.metadata.generation);
    }
  });
}

async function baselineDelete(namespace: string, emulator: RunningEmulator, names: readonly string[]): Promise<void> {
  await pool(names, names.length, async (name) => {
    await withRetries(emulator, `delete ${name}`, 'DELETE', `/api/2.0/serving-endpoints/${name}`);
  });
  await deleteObjects(namespace, names);
}

// ------------------------------------------------------------------------------------------------
// One repetition: every phase, for the operator or the baseline, on a fresh namespace and emulator

async function once(who: Who, n: number): Promise<Partial<Record<Phase, PhaseResult>>> {
  await freshControlPlane(n);
  const namespace = uniqueNamespace(`bench-${who}-${n}`);
  await ensureNamespace(namespace);
  const emulator = await startEmulator({ scenario: scenarioFor(n) });
  const results: Partial<Record<Phase, PhaseResult>> = {};
  const phases = phasesFor(n);
  let op: OperatorProcess | undefined;
  const names = endpointNames(n);
  try {
    await createObjects(namespace, n);
    for (const phase of phases) {
      if (phase === 'update' && !results.create) throw new Error('the update phase needs the create phase');
      if (phase === 'update') {
        // Fresh 5-minute windows: Databricks' (emulator) and the operator's (a new process).
        await op?.stop();
        op = undefined;
        emulator.emulator.budget.reset();
      }
      if (who === 'operator' && !op && phase !== 'create') {
        op = await startOperatorProcess(namespace, emulator, n);
        await operatorReady(op);
      }
      const callsBefore = emulator.emulator.calls.query().length;
      const writes = await watchObjects(namespace);
      const controlPlaneCpu = () => procStats(env.apiserverPid).cpuSeconds + procStats(env.etcdPid).cpuSeconds;
      const controlPlaneCpuBefore = controlPlaneCpu();
      const benchCpuBefore = process.cpuUsage();
      const auditOffset = auditLogOffset();
      // Create: every participant's clock starts with the objects read and ready to work on, as a running
      // controller's would: the baselines list them first; the operator is started then and counted from its
      // readiness (caches synced, /readyz), its start-up shown apart (startupSeconds; bench/startup.ts measures it).
      const objects = phase === 'create' && who !== 'operator' ? await listAll(namespace) : [];
      let started = Date.now();
      let extra: Partial<PhaseResult> = {};
      let sameWritesEvents: EventRecorder | undefined;
      if (phase === 'create') {
        if (who === 'operator') {
          op = await startOperatorProcess(namespace, emulator, n);
          const readyAt = operatorReady(op).then(() => Date.now());
          await waitAllReady(writes, namespace, emulator, n, THROUGHPUT.create.max, 1_800_000);
          extra = { startupSeconds: ((await readyAt) - started) / 1000 };
          started = await readyAt;
        } else if (who === 'terraform') {
          await terraformCreate(namespace, emulator, objects);
          await waitAllReady(writes, namespace, emulator, n, THROUGHPUT.create.max, 300_000);
        } else if (who === 'samewrites') {
          sameWritesEvents = await sameWritesCreate(namespace, emulator, objects);
          await waitAllReady(writes, namespace, emulator, n, THROUGHPUT.create.max, 600_000);
        } else {
          await baselineCreate(namespace, emulator, n, objects);
          await waitAllReady(writes, namespace, emulator, n, THROUGHPUT.create.max, 60_000);
        }
      } else if (phase === 'update') {
        if (who === 'operator') await patchThroughputs(namespace, names);
        else if (who === 'terraform') await terraformUpdate(namespace, emulator, names);
        else if (who === 'samewrites') {
          sameWritesEvents = new EventRecorder(baselineClient, { component: 'bench-samewrites' });
          await baselineUpdate(namespace, emulator, names, sameWritesEvents);
        } else await baselineUpdate(namespace, emulator, names);
        await waitAllReady(writes, namespace, emulator, n, THROUGHPUT.update.max, 1_800_000);
      } else {
        if (who === 'operator') await deleteObjects(namespace, names);
        else if (who === 'terraform') await terraformDestroy(namespace, emulator, names);
        else if (who === 'samewrites') sameWritesEvents = await sameWritesDelete(namespace, emulator, names);
        else await baselineDelete(namespace, emulator, names);
        await waitAllGone(writes, namespace, emulator, 1_800_000);
      }
      const ended = Date.now();
      const seconds = (ended - started) / 1000;
      // PT_BENCH_SHOW_OBJECT=1: one object as the API server stores it after the phase (what each write carries)
      if (process.env['PT_BENCH_SHOW_OBJECT'] && phase !== 'delete') console.error(JSON.stringify(await admin.get(EndpointResource, namespace, names[0]!)));
      // The Events the operator recorded are written behind its status writes: what they cost the apiserver counts.
      if (op) extra = { ...extra, eventsTrailSeconds: (await eventsWritten(op.probePort)) / 1000 };
      if (sameWritesEvents) {
        const flushStarted = Date.now();
        if (!(await sameWritesEvents.flush(600_000))) throw new Error('the same-writes baseline still had Events unwritten 600 s after the phase ended');
        extra = { ...extra, eventsTrailSeconds: (Date.now() - flushStarted) / 1000 };
      }
      const benchCpu = process.cpuUsage(benchCpuBefore);
      extra = { ...extra, controlPlaneCpuSeconds: controlPlaneCpu() - controlPlaneCpuBefore, benchCpuSeconds: (benchCpu.user + benchCpu.system) / 1e6 };
      if (op && phase === 'create') {
        const latency = await reconcileLatency(op.probePort, n).catch(() => undefined);
        extra = { ...extra, ...procStats(op.child.pid!), ...(latency ? { latency } : {}) };
      }
      await sleep(500);
      const calls: Record<string, number> = {};
      let throttled = 0;
      for (const c of emulator.emulator.calls.query().slice(callsBefore)) {
        const name = c.status === 404 ? `${c.operation} 404` : c.status === 429 ? `${c.operation} 429` : c.operation;
        calls[name] = (calls[name] ?? 0) + 1;
        if (c.status === 429) throttled++;
      }
      const audit = who === 'operator' ? await auditedWrites(namespace, started, Date.now(), auditOffset) : undefined;
      results[phase] = {
        seconds,
        ...extra,
        calls,
        throttled,
        objectWrites: writes.stop(),
        eventWrites: await countEventWrites(namespace, started),
        ...(audit && { audit }),
        unfinished: phase === 'delete' ? emulator.emulator.endpoints().length : unfinished(emulator, THROUGHPUT[phase].max),
      };
    }
    return results;
  } finally {
    await op?.stop();
    await emulator.close();
  }
}

// ------------------------------------------------------------------------------------------------
// Driver

const rows: string[] = [];
const auditRows: string[] = [];
const gapRows: string[] = [];
for (const n of sizes) {
  const runs: Record<Who, Partial<Record<Phase, PhaseResult>>[]> = { operator: [], baseline: [], terraform: [], samewrites: [] };
  for (let rep = 0; rep < reps; rep++) {
    // interleaved: each repetition starts with the next participant
    const who = participants(n);
    const order = [...who.slice(rep % who.length), ...who.slice(0, rep % who.length)];
    for (const who of order) {
      const r = await once(who, n);
      runs[who].push(r);
      for (const [phase, p] of Object.entries(r)) {
        console.error(
          `N=${n} rep ${rep + 1} ${who} ${phase}: ${p.seconds.toFixed(1)} s${p.startupSeconds !== undefined ? ` (start-up to /readyz ${p.startupSeconds.toFixed(1)} s)` : ''}${p.peakRssMiB ? `, peak RSS ${p.peakRssMiB.toFixed(0)} MiB, CPU ${p.cpuSeconds?.toFixed(1)} s, ${p.latency}` : ''}, ` +
            `${p.eventsTrailSeconds !== undefined ? `Events all written ${p.eventsTrailSeconds.toFixed(1)} s after, ` : ''}apiserver+etcd CPU ${p.controlPlaneCpuSeconds?.toFixed(1)} s (incl. trailing Events), bench process (emulator) CPU ${p.benchCpuSeconds?.toFixed(1)} s, watch writes ${p.objectWrites}+${p.eventWrites} events${p.audit ? `, audit ${p.audit.objects}+${p.audit.events} events ${JSON.stringify(p.audit.byVerb)}` : ''}, calls ${JSON.stringify(p.calls)}` +
            (p.unfinished ? `, ${p.unfinished} UNFINISHED` : ''),
        );
      }
    }
  }
  if (values.only) continue;
  for (const phase of phasesFor(n)) {
    const op = runs.operator.map((r) => r[phase]!);
    const base = runs.baseline.map((r) => r[phase]!);
    const tf = runs.terraform.map((r) => r[phase]!);
    const ratioTo = (rs: PhaseResult[]) => (rs.length > 0 ? `${(median(op.map((r) => r.seconds)) / median(rs.map((r) => r.seconds))).toFixed(2)}×` : '–');
    const perEndpoint = (xs: number[]) => (median(xs) / n).toFixed(2);
    rows.push(
      [
        n.toLocaleString('en'),
        phase,
        n <= 50 ? 'default limit, 3 s rollouts; second baseline: fire-all, retries 429' : `instant rollouts, raised limits; second baseline: perfect controller, concurrency ${concurrency}`,
        `${spread(op.map((r) => r.seconds))}${phase === 'create' ? ` (start-up to /readyz before it: ${spread(op.map((r) => r.startupSeconds ?? 0))})` : ''}`,
        tf.length > 0 ? spread(tf.map((r) => r.seconds)) : '–',
        ratioTo(tf),
        spread(base.map((r) => r.seconds)),
        ratioTo(base),
        phase === 'create' ? `${Math.max(...op.map((r) => r.peakRssMiB ?? 0)).toFixed(0)}` : '–',
        phase === 'create' ? `${median(op.map((r) => r.cpuSeconds ?? 0)).toFixed(1)}` : '–',
        describeCalls(op.at(-1)!.calls),
        tf.length > 0 ? describeCalls(tf.at(-1)!.calls) : '–',
        describeCalls(base.at(-1)!.calls),
        `${perEndpoint(op.map((r) => r.objectWrites))} + ${perEndpoint(op.map((r) => r.eventWrites))} ev`,
        op.every((r) => r.audit) ? `${perEndpoint(op.map((r) => r.audit!.objects))} + ${perEndpoint(op.map((r) => r.audit!.events))} ev` : 'n/a',
        `${perEndpoint(base.map((r) => r.objectWrites))} + ${perEndpoint(base.map((r) => r.eventWrites))} ev`,
        `${median(op.map((r) => r.throttled))} / ${tf.length > 0 ? median(tf.map((r) => r.throttled)) : '–'} / ${median(base.map((r) => r.throttled))}`,
      ].join(' | '),
    );
    const same = runs.samewrites.map((r) => r[phase]!).filter(Boolean);
    if (same.length > 0) {
      const cpu = (rs: PhaseResult[]) => spread(rs.map((r) => r.controlPlaneCpuSeconds ?? 0));
      gapRows.push(
        [
          n.toLocaleString('en'),
          phase,
          spread(op.map((r) => r.seconds)),
          spread(base.map((r) => r.seconds)),
          ratioTo(base),
          spread(same.map((r) => r.seconds)),
          ratioTo(same),
          `${perEndpoint(same.map((r) => r.objectWrites))} + ${perEndpoint(same.map((r) => r.eventWrites))} ev`,
          cpu(op),
          cpu(base),
          cpu(same),
        ].join(' | '),
      );
    }
    const last = op.at(-1)!.audit;
    if (last) auditRows.push(`| ${n.toLocaleString('en')} | ${phase} | ${describeCalls(last.byVerb)} |`);
  }
}

console.log(`\nRollout benchmark: ${reps} repetitions, interleaved; seconds per phase, median (min–max); operator = dist/ with --concurrency ${concurrency}, the image's node flags${values['node-arg'].length ? ` + ${values['node-arg'].join(' ')}` : ''}, ${memoryLimitNote}`);
console.log(
  '| N | phase | setting | operator s | Terraform-provider baseline s | ratio | second baseline s | ratio | op peak RSS MiB | op CPU s | op Databricks calls (last run) | Terraform baseline calls | second baseline calls | op apiserver writes/endpoint, watch (client side) | op apiserver writes/endpoint, audit log | second baseline writes/endpoint, watch | 429s op / Terraform / second |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(`| ${row} |`);
if (gapRows.length > 0) {
  console.log(
    `\nWhere the gap comes from: the second baseline (N ≤ 50: the fire-all client; at scale: the perfect controller), then the same client making the operator's apiserver writes${sameWritesAsOperator ? ", with status bodies holding the operator's fields" : ', with one-condition status bodies (--samewrites-status small)'} (create: finalizer, Creating status, Ready status, 2 Events; update: Updating status, Ready status, 2 Events; delete: the finalizer's removal, 1 Event); apiserver+etcd CPU seconds include trailing Events`,
  );
  console.log('| N | phase | operator s | second baseline s | ratio | second baseline + the operator\'s writes s | operator / that | its writes/endpoint | apiserver+etcd CPU s: operator | second baseline | + the writes |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of gapRows) console.log(`| ${row} |`);
}
if (auditRows.length > 0) {
  console.log(`\nThe operator's apiserver writes in the audit log (user ${env.operatorUser}), last repetition, by verb and resource:`);
  console.log('| N | phase | writes |');
  console.log('|---|---|---|');
  for (const row of auditRows) console.log(row);
}

await admin.close();
await baselineClient.close();
if (startedCluster) await runScript('down.sh', process.env);

// ------------------------------------------------------------------------------------------------

function describeCalls(calls: Record<string, number>): string {
  return Object.entries(calls)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, count]) => `${op} ${count}`)
    .join(', ');
}
