import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { describeKubeRequest, type KubeResponseInfo } from './client.js';
import type { WorkQueueMetrics } from './workqueue.js';

export type ReconcileResult = 'success' | 'error' | 'requeue_after';

/** Controller and workqueue metrics under controller-runtime's names, so stock dashboards work. */
export class RuntimeMetrics {
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly terminalReconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly slowReconciles: Gauge<'controller'>;
  readonly reconcilesDeferred: Counter<'controller'>;
  readonly depth: Gauge<'name' | 'controller'>;
  readonly adds: Counter<'name' | 'controller'>;
  readonly queueDuration: Histogram<'name' | 'controller'>;
  readonly workDuration: Histogram<'name' | 'controller'>;
  readonly retries: Counter<'name' | 'controller'>;
  readonly leaderStatus: Gauge<'name'>;
  readonly informerEvents: Counter<'resource' | 'event'>;
  readonly kubeRequests: Counter<'verb' | 'resource' | 'subresource' | 'code'>;
  readonly kubeRequestDuration: Histogram<'verb' | 'resource' | 'subresource'>;
  readonly eventsQueued: Gauge;
  readonly eventsDropped: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    const queueBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000];
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.terminalReconcileErrors = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60],
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
    this.slowReconciles = new Gauge({
      name: 'pt_operator_slow_reconciles',
      help: 'Reconciles that ran past --slow-reconcile-after and go on without holding a worker (their key stays locked)',
      labelNames: ['controller'],
      registers,
    });
    this.reconcilesDeferred = new Counter({
      name: 'pt_operator_reconciles_deferred_total',
      help: 'Keys put back unstarted because their namespace already had --max-slow-reconciles-per-namespace slow reconciles running',
      labelNames: ['controller'],
      registers,
    });
    this.depth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name', 'controller'],
      registers,
    });
    this.adds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name', 'controller'],
      registers,
    });
    this.queueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name', 'controller'],
      buckets: queueBuckets,
      registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name', 'controller'],
      buckets: queueBuckets,
      registers,
    });
    this.retries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name', 'controller'],
      registers,
    });
    this.informerEvents = new Counter({
      name: 'informer_list_watch_total',
      help: 'Lists, watches, 410 relists, watchdog recycles and list/watch errors per informer',
      labelNames: ['resource', 'event'],
      registers,
    });
    // The client's own count of what it asks the API server, by Kubernetes verb: writes per object, and the
    // cross-check against the API server's audit log (bench/rollout.ts).
    this.kubeRequests = new Counter({
      name: 'pt_operator_kubernetes_requests_total',
      help: 'Requests to the Kubernetes API by verb (get, list, watch, create, update, patch, delete), resource, subresource and HTTP code (0: no answer)',
      labelNames: ['verb', 'resource', 'subresource', 'code'],
      registers,
    });
    this.kubeRequestDuration = new Histogram({
      name: 'pt_operator_kubernetes_request_duration_seconds',
      help: 'Time from sending a request to the Kubernetes API until its response headers arrive (watches not included)',
      labelNames: ['verb', 'resource', 'subresource'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.eventsQueued = new Gauge({
      name: 'pt_operator_events_queued',
      help: 'Kubernetes Events recorded and not yet written (they are written two at a time, behind nothing else)',
      registers,
    });
    this.eventsDropped = new Counter({
      name: 'pt_operator_events_dropped_total',
      help: 'Kubernetes Events dropped because 10,000 were already waiting to be written and their namespace held its share of them, or 20,000 in all',
      registers,
    });
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers,
    });
  }

  /**
   * The controller's series at 0 before anything happens, as controller-runtime does: Prometheus sees no increase in a
   * counter series born at 1, so the first reconcile errors after a start would not show in increase() or rate().
   */
  initController(controller: string): void {
    const labels = { controller };
    for (const result of ['success', 'error', 'requeue_after'] satisfies ReconcileResult[]) this.reconcileTotal.inc({ ...labels, result }, 0);
    this.reconcileErrors.inc(labels, 0);
    this.terminalReconcileErrors.inc(labels, 0);
    this.reconcilesDeferred.inc(labels, 0);
    this.activeWorkers.set(labels, 0);
    this.slowReconciles.set(labels, 0);
    const queue = { name: controller, controller };
    this.depth.set(queue, 0);
    this.adds.inc(queue, 0);
    this.retries.inc(queue, 0);
  }

  /** Counts an informer's list/watch milestones (see InformerStats). */
  forInformer(resource: string): (stat: string) => void {
    return (event) => this.informerEvents.inc({ resource, event });
  }

  /** Counts one request to the Kubernetes API (KubeClient.addResponseObserver). */
  observeKubeResponse(info: KubeResponseInfo): void {
    const { verb, resource, subresource } = describeKubeRequest(info.method, info.path, info.watch);
    this.kubeRequests.inc({ verb, resource, subresource, code: String(info.statusCode) });
    if (verb !== 'watch') this.kubeRequestDuration.observe({ verb, resource, subresource }, (info.receivedAt - info.sentAt) / 1000);
  }

  /** What an EventRecorder reports (EventRecorderOptions.metrics). */
  forEvents(): { queued(n: number): void; dropped(): void } {
    return { queued: (n) => this.eventsQueued.set(n), dropped: () => this.eventsDropped.inc() };
  }

  /** Workqueue observations for one controller's queue. */
  forQueue(controller: string): WorkQueueMetrics {
    const labels = { name: controller, controller };
    return {
      depth: (n) => this.depth.set(labels, n),
      added: () => this.adds.inc(labels),
      queueLatency: (s) => this.queueDuration.observe(labels, s),
      workDuration: (s) => this.workDuration.observe(labels, s),
      retried: () => this.retries.inc(labels),
    };
  }
}
