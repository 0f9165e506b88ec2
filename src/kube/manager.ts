import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import { type Authorize, startProbeServer, type ProbeServer, type TlsCertificate } from '../observability/server.js';
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
  /** Where /healthz and /readyz are served (--health-probe-bind-address); omit to serve none. */
  probes?: { host?: string; port: number };
  /**
   * Where /metrics is served (--metrics-bind-address); omit to serve none. `withProbes`: on the probe server
   * instead of a server of its own (the deprecated --probe-address). `tls` and `authorize` make it controller-runtime's secure
   * metrics: HTTPS, and only callers whose token may GET /metrics; `tls` as a function is re-read (a renewed certificate).
   */
  metrics?: { host?: string; port: number; tls?: TlsCertificate | (() => TlsCertificate); authorize?: Authorize; withProbes?: boolean };
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
/** How long the after-drain steps (afterDrain) may take at a graceful stop: short, the pod's grace period runs. */
export const AFTER_DRAIN_TIMEOUT_MS = 2_000;

export class Manager {
  readonly metrics: RuntimeMetrics;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly controllers: Controller<KubeObject>[] = [];
  private readonly elector: LeaderElector | undefined;
  private readonly stopRequested = new AbortController();
  private stopReason: StopReason = 'shutdown';
  private servers: ProbeServer[] = [];
  private controllersRunning = false;
  private readonly drainSteps: Array<(timeoutMs: number) => Promise<unknown>> = [];
  private readonly leadingSteps: Array<() => void> = [];

  constructor(private readonly options: ManagerOptions) {
    this.metrics = new RuntimeMetrics(options.registry);
    options.client.addResponseObserver((info) => this.metrics.observeKubeResponse(info));
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
          // Another replica may hold the lease from now on: abort what runs at once, during a shutdown's drain too
          // (the drain then ends early, and the lease is not released: it is no longer ours).
          for (const c of this.controllers) c.abortInFlight();
          if (!this.stopRequested.signal.aborted) {
            // no drain: stop, and the process exits and its pod restarts clean, as with controller-runtime
            this.stopReason = 'leadership-lost';
            this.stopRequested.abort();
          }
        },
      });
    }
  }

  /** URL of the probe server (the first server started). */
  get probeUrl(): string | undefined {
    return this.servers[0]?.url;
  }

  /** URL of the server that answers /metrics. */
  get metricsUrl(): string | undefined {
    return this.servers[this.metricsServerIndex]?.url;
  }

  informer<T extends KubeObject>(options: Omit<InformerOptions, 'log' | 'onStat' | 'onRecovered'>): Informer<T> {
    const informer = new Informer<T>(this.options.client, {
      ...options,
      log: this.options.log,
      onStat: this.metrics.forInformer(options.resource.plural),
      // The apiserver is back: what failed during the outage is retried now, not after its grown backoff.
      onRecovered: () => {
        for (const c of this.controllers) c.queue.retryBackedOffNow();
      },
    });
    this.informers.push(informer as unknown as Informer<KubeObject>);
    return informer;
  }

  addController<T extends KubeObject>(options: Omit<ControllerOptions<T>, 'mayStart' | 'metrics' | 'log'>): Controller<T> {
    const controller = new Controller<T>({ ...options, mayStart: () => this.isLeader, metrics: this.metrics, log: this.options.log });
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

  /**
   * Work to finish at a graceful stop once the reconciles have drained, before the lease is released, within
   * AFTER_DRAIN_TIMEOUT_MS (e.g. writing the Events they recorded).
   */
  afterDrain(step: (timeoutMs: number) => Promise<unknown>): void {
    this.drainSteps.push(step);
  }

  /** Work to start once this replica leads, beside its controllers (a standby does nothing towards Databricks). */
  whenLeading(step: () => void): void {
    this.leadingSteps.push(step);
  }

  /** Requests a graceful stop; run() then drains, releases the lease and resolves. */
  stop(): void {
    this.stopRequested.abort();
  }

  private metricsServerIndex = 0;

  private async startServers(): Promise<void> {
    const { probes, metrics, registry, log } = this.options;
    const readyz = () => this.ready();
    // Not silent: the old certificate is served until it expires, and then every scrape fails its TLS verification.
    const tlsReloadFailed = (problem: string) =>
      log.warn({ problem }, 'the renewed metrics certificate cannot be used; the previous one is still served (check tls.crt and tls.key of the metrics certificate Secret)');
    if (probes && metrics?.withProbes) {
      const server = await startProbeServer({ ...probes, registry, readyz, tls: metrics.tls, tlsReloadFailed, authorizeMetrics: metrics.authorize });
      this.servers.push(server);
      log.info({ url: server.url }, 'serving /healthz /readyz /metrics');
      return;
    }
    if (probes) {
      const server = await startProbeServer({ ...probes, readyz });
      this.servers.push(server);
      log.info({ url: server.url }, 'serving /healthz /readyz');
    }
    if (metrics) {
      const server = await startProbeServer({ host: metrics.host, port: metrics.port, registry, tls: metrics.tls, tlsReloadFailed, authorizeMetrics: metrics.authorize });
      this.metricsServerIndex = this.servers.length;
      this.servers.push(server);
      log.info({ url: server.url, authenticated: metrics.authorize !== undefined }, 'serving /metrics');
    }
  }

  /** Runs until stop() (or a signal, or lost leadership); resolves with why it stopped. */
  async run(): Promise<StopReason> {
    const log = this.options.log;
    const onSignal = (sig: NodeJS.Signals) => {
      log.info({ signal: sig }, 'shutdown requested');
      this.stop();
    };
    const removeSignalHandlers = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
    if (this.options.handleSignals) {
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    }
    try {
      await this.startServers();
    } catch (err) {
      // A listener already bound would keep the process alive, answering /healthz, with nothing reconciling.
      await Promise.all(this.servers.map((server) => server.close()));
      this.servers = [];
      removeSignalHandlers();
      throw err;
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
      removeSignalHandlers();
      log.error({ reason: this.stopReason }, 'manager stopped: leadership lost');
      return this.stopReason;
    }
    // stop intake and drain, then hand back the lease, then stop watching, then stop serving
    const timeout = this.options.shutdownTimeoutMs ?? 30_000;
    const drained = await Promise.all(this.controllers.map((c) => c.stop(timeout)));
    if (!drained.every(Boolean)) log.warn('some reconciles did not finish within the shutdown bound');
    await Promise.all(this.drainSteps.map((step) => step(AFTER_DRAIN_TIMEOUT_MS)));
    await this.elector?.stop({ release: true });
    await Promise.all(this.informers.map((i) => i.stop()));
    await Promise.all(this.servers.map((server) => server.close()));
    removeSignalHandlers();
    log.info({ reason: this.stopReason }, 'manager stopped');
    return this.stopReason;
  }

  private startControllers(): void {
    if (this.controllersRunning || this.stopRequested.signal.aborted) return;
    this.controllersRunning = true;
    for (const c of this.controllers) c.start();
    this.options.log.info({ controllers: this.controllers.map((c) => c.name) }, 'controllers started');
    for (const step of this.leadingSteps) step();
  }
}
