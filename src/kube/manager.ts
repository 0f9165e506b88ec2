import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import { startProbeServer, type ProbeServer } from '../observability/server.js';
import type { KubeClient } from './client.js';
import { Controller, type ControllerOptions } from './controller.js';
import { Informer, type InformerOptions } from './informer.js';
import { LeaderElector, type LeaderElectorOptions } from './leader.js';
import type { Logger } from './logger.js';
import { RuntimeMetrics } from './metrics.js';
import type { KubeObject } from './types.js';

export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  registry: Registry;
  /** Lease to campaign on; omit to run controllers without election (single replica, tests). */
  leaderElection?: Omit<LeaderElectorOptions, 'identity' | 'log' | 'onStartedLeading' | 'onStoppedLeading'> & { identity?: string };
  /** Probe/metrics server; omit to serve nothing. */
  probes?: { host?: string; port: number };
  /** How long in-flight reconciles may run after a shutdown request. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** Install SIGTERM/SIGINT handlers that trigger a graceful stop. Default false (main turns it on). */
  handleSignals?: boolean;
}

export type StopReason = 'shutdown' | 'leadership-lost';

/**
 * Ties informers, controllers, leader election and the probe server together. Informers run on every replica
 * (so a standby is warm and ready); controllers run only while this replica leads.
 */
export class Manager {
  readonly metrics: RuntimeMetrics;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly controllers: Controller<KubeObject>[] = [];
  private readonly elector: LeaderElector | undefined;
  private readonly stopRequested = new AbortController();
  private stopReason: StopReason = 'shutdown';
  private server: ProbeServer | undefined;
  private controllersRunning = false;

  constructor(private readonly options: ManagerOptions) {
    this.metrics = new RuntimeMetrics(options.registry);
    const le = options.leaderElection;
    if (le) {
      const identity = le.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
      this.metrics.leaderStatus.set({ name: le.name }, 0);
      this.elector = new LeaderElector(options.client, {
        ...le,
        identity,
        log: options.log,
        onStartedLeading: () => {
          this.metrics.leaderStatus.set({ name: le.name }, 1);
          this.startControllers();
        },
        onStoppedLeading: () => {
          this.metrics.leaderStatus.set({ name: le.name }, 0);
          if (!this.stopRequested.signal.aborted) {
            // Another replica may hold the lease from now on: abort what runs at once (no drain), and stop;
            // the process exits and its pod restarts clean, as with controller-runtime.
            this.stopReason = 'leadership-lost';
            for (const c of this.controllers) c.abortInFlight();
            this.stopRequested.abort();
          }
        },
      });
    }
  }

  get probeUrl(): string | undefined {
    return this.server?.url;
  }

  informer<T extends KubeObject>(options: Omit<InformerOptions, 'log' | 'onStat'>): Informer<T> {
    const informer = new Informer<T>(this.options.client, {
      ...options,
      log: this.options.log,
      onStat: this.metrics.forInformer(options.resource.plural),
    });
    this.informers.push(informer as unknown as Informer<KubeObject>);
    return informer;
  }

  addController<T extends KubeObject>(options: Omit<ControllerOptions<T>, 'metrics' | 'log'>): Controller<T> {
    const controller = new Controller<T>({ ...options, metrics: this.metrics, log: this.options.log });
    this.controllers.push(controller as unknown as Controller<KubeObject>);
    return controller;
  }

  /** Ready when every informer has listed once; leadership is reported by leader_election_master_status. */
  ready(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : this.controllersRunning;
  }

  /** Requests a graceful stop; run() then drains, releases the lease and resolves. */
  stop(): void {
    this.stopRequested.abort();
  }

  /** Runs until stop() (or a signal, or lost leadership); resolves with why it stopped. */
  async run(): Promise<StopReason> {
    const log = this.options.log;
    const onSignal = (sig: NodeJS.Signals) => {
      log.info({ signal: sig }, 'shutdown requested');
      this.stop();
    };
    if (this.options.handleSignals) {
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    }
    if (this.options.probes) {
      this.server = await startProbeServer({ ...this.options.probes, registry: this.options.registry, readyz: () => this.ready() });
      log.info({ url: this.server.url }, 'serving /healthz /readyz /metrics');
    }
    for (const informer of this.informers) informer.start();
    const synced = await Promise.all(this.informers.map((i) => i.waitForSync(this.stopRequested.signal)));
    if (synced.every(Boolean)) {
      log.info('caches synced');
      if (this.elector) this.elector.start();
      else {
        this.startControllers();
      }
    }

    await new Promise<void>((resolve) => {
      if (this.stopRequested.signal.aborted) resolve();
      else this.stopRequested.signal.addEventListener('abort', () => resolve(), { once: true });
    });

    if (this.stopReason === 'leadership-lost') {
      // No drain and no goodbye to the API server (it may be the reason we lost the lease): stop intake,
      // give aborted reconciles a moment to unwind, and return so the caller exits.
      await Promise.all(this.controllers.map((c) => c.stop(0)));
      if (this.options.handleSignals) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      log.error({ reason: this.stopReason }, 'manager stopped: leadership lost');
      return this.stopReason;
    }
    // stop intake and drain, then hand back the lease, then stop watching, then stop serving
    const timeout = this.options.shutdownTimeoutMs ?? 30_000;
    const drained = await Promise.all(this.controllers.map((c) => c.stop(timeout)));
    if (!drained.every(Boolean)) log.warn('some reconciles did not finish within the shutdown bound');
    await this.elector?.stop({ release: true });
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.server?.close();
    if (this.options.handleSignals) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    log.info({ reason: this.stopReason }, 'manager stopped');
    return this.stopReason;
  }

  private startControllers(): void {
    if (this.controllersRunning || this.stopRequested.signal.aborted) return;
    this.controllersRunning = true;
    for (const c of this.controllers) c.start();
    this.options.log.info({ controllers: this.controllers.map((c) => c.name) }, 'controllers started');
  }
}
