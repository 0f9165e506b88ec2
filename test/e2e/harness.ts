// End-to-end harness: the emulator (in this process, on a fast clock) plus the operator as a
// separate process that authenticates as the chart's ServiceAccount identity, scoped to one
// namespace per test file so files never see each other's objects.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { parse } from 'yaml';
import type { CallFilter, CallRecord } from '../../src/emulator/call-log.js';
import type { FaultSpecInput } from '../../src/emulator/faults.js';
import type { ScenarioInput } from '../../src/emulator/scenario.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { applyOk, cluster, ensureNamespace, eventually, kubectl, kubectlOk, repoRoot, uniqueNamespace } from '../support/cluster.js';

export const TEST_PAT = 'dapi0123456789abcdef0123456789abcdef';

export interface OperatorProcess {
  readonly logFile: string;
  /** Everything the operator printed so far. */
  logs(): string;
  /** SIGTERM (graceful) or SIGKILL (crash); resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  readonly exited: boolean;
  /** The exit code once the process is gone (null: killed by a signal, or still running). */
  readonly exitCode: number | null;
}

export interface StartOperatorOptions {
  namespace: string;
  emulatorUrl: string;
  /** Extra flags for `pt-operator run`. */
  args?: string[];
  /** Extra environment; DATABRICKS_* of the default workspace point at the emulator unless overridden. */
  env?: NodeJS.ProcessEnv;
  name?: string;
  /** Another checkout of the operator's sources (an earlier release, for upgrade and rollback tests); default this one. */
  sourceRoot?: string;
}

const logDir = join(repoRoot, '.tmp', 'e2e-logs');

/** Flags that make the operator look often, so rollouts on the emulator's fast clock finish in seconds. */
export const FAST_OPERATOR_FLAGS = [
  '--progress-interval=300ms',
  '--poll-interval=3s',
  '--workspace-retry-interval=1s',
  '--workspace-verify-interval=30s',
  '--model-info-ttl=2s',
  '--health-probe-bind-address=127.0.0.1:0',
  '--metrics-bind-address=127.0.0.1:0',
  '--shutdown-timeout=5s',
];

export function startOperator(options: StartOperatorOptions): OperatorProcess {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${options.name ?? options.namespace}-${Date.now()}.log`);
  const out = createWriteStream(logFile);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KUBECONFIG: cluster().kubeconfigOperator,
    DATABRICKS_HOST: options.emulatorUrl,
    DATABRICKS_TOKEN: TEST_PAT,
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  // One process (node with tsx's loader), not the tsx CLI: the CLI runs the operator in a child
  // process and cannot relay SIGKILL, so a "crash" would leave the real operator running.
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(options.sourceRoot ?? repoRoot, 'src/main.ts'),
      'run',
      `--namespaces=${options.namespace}`,
      // The test's namespace may use the default workspace (the emulator); later flags win.
      `--default-workspace-namespaces=${options.namespace}`,
      ...FAST_OPERATOR_FLAGS,
      ...(options.args ?? []),
    ],
    { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  let exited = false;
  let exitCode: number | null = null;
  const gone = new Promise<void>((resolve) => child.once('exit', (code) => {
    exited = true;
    exitCode = code;
    resolve();
  }));
  return {
    logFile,
    // The stream opens its file a moment after the spawn: nothing printed yet until then.
    logs: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    get exited() {
      return exited;
    },
    get exitCode() {
      return exitCode;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!exited) child.kill(signal);
      await gone;
      out.end();
    },
  };
}

/**
 * Replicas of the operator with leader election, on a Lease of this test's own (a retry must not meet an earlier
 * attempt's leader), each `identity` its POD_NAME; killed when the test ends.
 */
export function leaderReplicas(e2e: Pick<E2E, 'namespace' | 'emulator'>, options: { prefix: string; args?: string[] }) {
  const leaseId = `${options.prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const leaseNamespace = cluster().operatorNamespace;
  const replicas: OperatorProcess[] = [];
  onTestFinished(async () => {
    await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
  });
  return {
    leaseId,
    leaseNamespace,
    replica(identity: string): OperatorProcess {
      const started = startOperator({
        namespace: e2e.namespace,
        emulatorUrl: e2e.emulator.url,
        name: `${e2e.namespace}-${identity}`,
        args: ['--leader-elect=true', `--leader-election-namespace=${leaseNamespace}`, `--leader-election-id=${leaseId}`, ...(options.args ?? [])],
        env: { POD_NAME: identity },
      });
      replicas.push(started);
      return started;
    },
    /** The Lease as the admin reads it. */
    async lease(): Promise<{ metadata: { annotations?: Record<string, string> }; spec?: { holderIdentity?: string } }> {
      return JSON.parse(await kubectlOk(['get', 'lease', leaseId, '--namespace', leaseNamespace, '-o', 'json'])) as never;
    },
  };
}

export interface E2E {
  namespace: string;
  emulator: RunningEmulator;
  operator: OperatorProcess;
  /** kubectl as the admin (the user), in this namespace. */
  kubectl(args: string[]): Promise<string>;
  apply(manifest: object | object[]): Promise<void>;
  /** The object as JSON, or undefined when it is gone. */
  get<T = Record<string, unknown>>(kind: string, name: string): Promise<T | undefined>;
  /** Waits until `condition` holds for the object, polling kubectl. */
  waitUntil(kind: string, name: string, condition: (obj: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Mutating calls the emulator received, optionally for one endpoint. */
  mutations(endpoint?: string): Promise<{ method: string; path: string; operation: string; status: number }[]>;
  /**
   * Evidence of another reconcile, instead of a sleep: pokes each object (an annotation the operator ignores) and
   * waits until the operator has planned two more reconciles of it (its debug log has one "planned" line per
   * reconcile). A key is reconciled one at a time, so the first of them has finished: whatever it would have
   * sent to Databricks is in the emulator's call log by then.
   */
  reconciledAgain(...names: string[]): Promise<void>;
  stop(): Promise<void>;
}

export interface StartE2EOptions {
  prefix: string;
  scenario?: ScenarioInput;
  operatorArgs?: string[];
  operatorEnv?: NodeJS.ProcessEnv;
  /** Virtual ms per real ms. Default 120: a 10-minute rollout takes 5 s. */
  speed?: number;
  /** Start the operator later (e.g. to create a Secret first). Default true. */
  startOperator?: boolean;
}

/** `startOperator(extraArgs)`: flags known only after the namespace exists (e.g. more namespaces to watch). */
export async function startE2E(options: StartE2EOptions): Promise<E2E & { startOperator(extraArgs?: string[]): OperatorProcess }> {
  const namespace = uniqueNamespace(options.prefix);
  await ensureNamespace(namespace);
  const emulator = await startEmulator({ scenario: options.scenario ?? {}, speed: options.speed ?? 120 });
  let operator: OperatorProcess | undefined;
  const launch = (extraArgs: string[] = []) => {
    operator = startOperator({ namespace, emulatorUrl: emulator.url, args: [...(options.operatorArgs ?? []), ...extraArgs], env: options.operatorEnv });
    return operator;
  };
  if (options.startOperator !== false) launch();

  const self = {
    namespace,
    emulator,
    get operator() {
      if (!operator) throw new Error('operator not started');
      return operator;
    },
    startOperator: launch,
    kubectl: (args: string[]) => kubectlOk(['--namespace', namespace, ...args]),
    apply: async (manifest: object | object[]) => {
      await applyOk(manifest, { namespace });
    },
    async get<T>(kind: string, name: string): Promise<T | undefined> {
      const result = await kubectl(['--namespace', namespace, 'get', kind, name, '-o', 'json']);
      if (result.exitCode !== 0) {
        if (/NotFound|not found/.test(result.stderr)) return undefined;
        throw new Error(result.stderr);
      }
      return JSON.parse(result.stdout) as T;
    },
    async waitUntil(kind: string, name: string, condition: (obj: Record<string, unknown>) => boolean, timeoutMs = 60_000) {
      return eventually(
        async () => {
          const obj = await self.get<Record<string, unknown>>(kind, name);
          if (!obj || !condition(obj)) throw new Error(`${kind}/${name} did not reach the condition; last seen:\n${JSON.stringify(obj?.['status'] ?? obj, null, 1)}`);
          return obj;
        },
        { timeoutMs, intervalMs: 250 },
      );
    },
    async mutations(endpoint?: string) {
      const url = new URL('/__emulator/calls', emulator.url);
      if (endpoint) url.searchParams.set('endpoint', endpoint);
      const body = (await (await fetch(url)).json()) as { calls: { method: string; path: string; operation: string; status: number }[] };
      return body.calls.filter((c) => c.method !== 'GET');
    },
    async reconciledAgain(...names: string[]) {
      for (const round of [1, 2]) {
        const before = new Map(names.map((name) => [name, plannedReconciles(operator?.logs() ?? '', `${namespace}/${name}`)]));
        for (const name of names) await self.kubectl(['annotate', 'pte', name, '--overwrite', `e2e.ptoperator.io/poke=${Date.now()}-${round}`]);
        await eventually(
          async () => {
            const behind = names.filter((name) => plannedReconciles(operator?.logs() ?? '', `${namespace}/${name}`) <= (before.get(name) ?? 0));
            if (behind.length > 0) throw new Error(`no new reconcile of ${behind.join(', ')} in the operator log`);
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        );
      }
    },
    async stop() {
      await operator?.stop('SIGTERM');
      await emulator.close();
    },
  };
  return self;
}

/** Reconciles of one key the operator has planned, from its debug log (one "planned" line each). */
export function plannedReconciles(log: string, key: string): number {
  let count = 0;
  for (const line of log.split('\n')) if (line.includes('"msg":"planned"') && line.includes(`"key":"${key}"`)) count++;
  return count;
}

/** A condition of an object, by type. */
export function condition(obj: Record<string, unknown> | undefined, type: string): { status: string; reason: string; message: string; observedGeneration?: number } | undefined {
  const conditions = ((obj?.['status'] as Record<string, unknown> | undefined)?.['conditions'] ?? []) as { type: string; status: string; reason: string; message: string; observedGeneration?: number }[];
  return conditions.find((c) => c.type === type);
}

export const isReady = (obj: Record<string, unknown>) => condition(obj, 'Ready')?.status === 'True';

/** An endpoint object for the tests; spec fields override the seed's llama example. */
export function endpointManifest(name: string, spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'serving.ptoperator.io/v1alpha1',
    kind: 'ProvisionedThroughputEndpoint',
    metadata: { name, ...metadata },
    spec: {
      model: { name: 'system.ai.meta_llama_v3_1_8b_instruct', version: '3' },
      throughput: { chunks: { min: 2, max: 3 } },
      capacityRetry: { initialBackoff: '1s', maxBackoff: '4s', timeout: '5m' },
      ...spec,
    },
  };
}

/** A call to the emulator's Databricks API with the test PAT, as a user's script makes it; throws on an error status. */
export async function databricksRequest(emulatorUrl: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(new URL(path, emulatorUrl), {
    method,
    headers: { authorization: `Bearer ${TEST_PAT}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** The emulator's call log (GET /__emulator/calls), filtered as its query allows (endpoint, operation, status...). */
export async function emulatorCalls(emulatorUrl: string, filter: CallFilter = {}): Promise<CallRecord[]> {
  const url = new URL('/__emulator/calls', emulatorUrl);
  for (const [key, value] of Object.entries(filter)) if (value !== undefined) url.searchParams.set(key, String(value));
  return ((await (await fetch(url)).json()) as { calls: CallRecord[] }).calls;
}

/** Installs emulator faults through its inspection API (POST /__emulator/faults); returns their ids. */
export async function addFaults(emulatorUrl: string, specs: FaultSpecInput | FaultSpecInput[]): Promise<string[]> {
  const response = await fetch(new URL('/__emulator/faults', emulatorUrl), { method: 'POST', body: JSON.stringify(specs) });
  if (!response.ok) throw new Error(`POST /__emulator/faults: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { faults: { id: string }[] }).faults.map((f) => f.id);
}

/** Removes one emulator fault (DELETE /__emulator/faults/:id): the outage is over. */
export async function removeFault(emulatorUrl: string, id: string): Promise<void> {
  const response = await fetch(new URL(`/__emulator/faults/${encodeURIComponent(id)}`, emulatorUrl), { method: 'DELETE' });
  if (!response.ok) throw new Error(`DELETE /__emulator/faults/${id}: ${response.status} ${await response.text()}`);
}

/**
 * Someone changes the endpoint in Databricks outside any API client (the UI, another tool): the emulator applies
 * `edit` (its /__emulator/endpoints/:name/edit body: entities, tags, mode) and logs no API call.
 */
export async function editOutOfBand(emulatorUrl: string, name: string, edit: Record<string, unknown>): Promise<void> {
  const response = await fetch(new URL(`/__emulator/endpoints/${name}/edit`, emulatorUrl), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(edit) });
  if (response.status !== 200) throw new Error(`POST /__emulator/endpoints/${name}/edit: ${response.status} ${await response.text()}`);
}

export interface KubectlWatch {
  /** What kubectl printed so far. */
  text(): string;
  /** Ends the watch; resolves with the whole transcript. */
  stop(): Promise<string>;
}

/**
 * Runs a long-lived kubectl (e.g. `get pte -w`) as the admin in a namespace, collecting its output. Call it in a
 * test: the watch is stopped when the test ends, failed too, so a failed attempt leaves no kubectl behind.
 */
export function watchKubectl(namespace: string, args: string[]): KubectlWatch {
  const env = cluster();
  const child = spawn(env.kubectl, ['--kubeconfig', env.kubeconfigAdmin, '--namespace', namespace, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const watch = {
    text: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await gone;
      return output;
    },
  };
  onTestFinished(async () => {
    await watch.stop();
  });
  return watch;
}

/** Parses `kubectl get -o yaml` text. */
export const fromYaml = (text: string) => parse(text) as Record<string, unknown>;
