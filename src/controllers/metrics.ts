import { STATUS_CODES } from 'node:http';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DatabricksMetricsSink } from '../databricks/index.js';

type ObjectWithConditions = { metadata?: { namespace?: string }; status?: { conditions?: { type: string; status: string; reason: string }[] } };

/**
 * The `status` label of a Databricks request: a status HTTP defines as itself, any other (a host may answer any of 100
 * to 999) as its class (`9xx`), so a host cannot make a series per status it makes up.
 */
const statusLabel = (status: number | undefined): string =>
  status === undefined ? 'none' : STATUS_CODES[status] !== undefined ? String(status) : `${String(status).charAt(0)}xx`;

/** How long a namespace without endpoint objects keeps its capacity counters' series. */
const SERIES_GRACE_MS = 15 * 60_000;

/** A counter by namespace (its series go some time after the namespace's last endpoint object). */
export interface NamespaceCounter {
  inc(labels: { namespace: string }, value?: number): void;
}

/** pt-operator's own metrics; the controller runtime's (reconcile, workqueue) live in src/kube. */
export class OperatorMetrics {
  readonly timeToReady: Histogram<'flavour'>;
  readonly capacityRetries: NamespaceCounter;
  readonly capacityFailures: NamespaceCounter;
  readonly databricksRequests: Counter<'operation' | 'status' | 'outcome'>;
  readonly databricksRequestDuration: Histogram<'operation'>;
  readonly databricksRetries: Counter<'operation' | 'kind'>;
  readonly budgetWait: Histogram<'host' | 'budget'>;
  readonly budgetQueueLength: Gauge<'host' | 'budget'>;
  readonly budgetRejected: Counter<'host' | 'budget'>;
  readonly budgetThrottled: Counter<'host' | 'budget'>;
  readonly budgetLimit: Gauge<'host' | 'budget'>;
  readonly endpointsByCondition: Gauge<'type' | 'status' | 'reason'>;
  private endpointSource: () => Iterable<ObjectWithConditions> = () => [];
  private leading: () => boolean = () => true;
  private limitSource: () => Iterable<{ host: string; budget: string; limit: number }> = () => [];

  constructor(registry: Registry, options: { now?: () => number } = {}) {
    const registers = [registry];
    const source = () => this.endpointSource();
    const leading = () => this.leading();
    // A counter's series must exist at 0 before its first increment: Prometheus sees no increase in a series born at
    // 1, so `increase(...[1h]) > 0` would miss a namespace's first capacity failure. Every namespace with endpoint
    // objects in the cache has its series from the first scrape on, on a standby too: a new leader counts in its first
    // reconciles what failed during the handover, before Prometheus scrapes it as leader. A namespace without any for
    // SERIES_GRACE_MS loses them (per-PR namespaces come and go; kept longer than a few scrapes, so the last increment
    // is seen).
    const now = options.now ?? Date.now;
    const atZeroForEachNamespace = function (this: Counter<'namespace'>, withSeries: Map<string, number>) {
      const namespaces = new Set<string>();
      for (const obj of source()) if (obj.metadata?.namespace) namespaces.add(obj.metadata.namespace);
      for (const namespace of namespaces) this.inc({ namespace }, 0);
      const at = now();
      for (const [namespace, lastSeen] of withSeries) {
        if (namespaces.has(namespace)) continue;
        if (at - lastSeen > SERIES_GRACE_MS) {
          this.remove({ namespace });
          withSeries.delete(namespace);
        }
      }
      for (const namespace of namespaces) withSeries.set(namespace, at);
    };
    this.timeToReady = new Histogram({
      name: 'pt_operator_endpoint_time_to_ready_seconds',
      help: 'Time from a create or config change until the desired config serves.',
      labelNames: ['flavour'],
      buckets: [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600],
      registers,
    });
    const failuresSeen = new Map<string, number>();
    const retriesSeen = new Map<string, number>();
    /** An increment counts as seeing its namespace: its series stays for the grace even if its object is gone. */
    const seenWhenCounted = (counter: Counter<'namespace'>, seen: Map<string, number>): NamespaceCounter => ({
      inc: (labels, value) => {
        seen.set(labels.namespace, now());
        counter.inc(labels, value);
      },
    });
    this.capacityFailures = seenWhenCounted(new Counter({
      name: 'pt_operator_capacity_failures_total',
      help: 'Rollouts that failed for lack of GPU capacity.',
      labelNames: ['namespace'],
      registers,
      collect() {
        atZeroForEachNamespace.call(this, failuresSeen);
      },
    }), failuresSeen);
    this.capacityRetries = seenWhenCounted(new Counter({
      name: 'pt_operator_capacity_retries_total',
      help: 'Rollouts re-issued after a GPU-capacity failure.',
      labelNames: ['namespace'],
      registers,
      collect() {
        atZeroForEachNamespace.call(this, retriesSeen);
      },
    }), retriesSeen);
    this.databricksRequests = new Counter({
      name: 'pt_operator_databricks_requests_total',
      help: 'HTTP requests to Databricks, by operation, HTTP status and outcome (ok or the error kind).',
      labelNames: ['operation', 'status', 'outcome'],
      registers,
    });
    this.databricksRequestDuration = new Histogram({
      name: 'pt_operator_databricks_request_duration_seconds',
      help: 'Duration of one HTTP request to Databricks.',
      labelNames: ['operation'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.databricksRetries = new Counter({
      name: 'pt_operator_databricks_retries_total',
      help: 'Databricks requests repeated after a retryable failure.',
      labelNames: ['operation', 'kind'],
      registers,
    });
    this.budgetWait = new Histogram({
      name: 'pt_operator_rate_budget_wait_seconds',
      help: 'Time a call waited for the rate budget of its Databricks host.',
      labelNames: ['host', 'budget'],
      buckets: [0, 0.01, 0.1, 0.5, 1, 5, 15, 60],
      registers,
    });
    this.budgetQueueLength = new Gauge({
      name: 'pt_operator_rate_budget_queue_length',
      help: 'Calls waiting for a workspace rate budget.',
      labelNames: ['host', 'budget'],
      registers,
    });
    this.budgetRejected = new Counter({
      name: 'pt_operator_rate_budget_rejected_total',
      help: 'Calls refused by the client-side rate budget of their Databricks host (requeued, nothing sent).',
      labelNames: ['host', 'budget'],
      registers,
    });
    this.budgetThrottled = new Counter({
      name: 'pt_operator_rate_budget_throttled_total',
      help: 'Databricks answered 429: the budget of that host paused for Retry-After (at least 1 s) and shrank.',
      labelNames: ['host', 'budget'],
      registers,
    });
    const limits = () => this.limitSource();
    this.budgetLimit = new Gauge({
      name: 'pt_operator_rate_budget_limit',
      help: "Limit in force per Databricks host: create/update calls per window (below the configured one after a 429), or requests per second.",
      labelNames: ['host', 'budget'],
      registers,
      collect() {
        this.reset();
        for (const l of limits()) this.set({ host: l.host, budget: l.budget }, l.limit);
      },
    });
    this.endpointsByCondition = new Gauge({
      name: 'pt_operator_endpoints',
      help: 'ProvisionedThroughputEndpoints by condition type, status and reason.',
      labelNames: ['type', 'status', 'reason'],
      registers,
      // Counted at scrape time from the informer cache, so the gauge can never drift from the objects; by the leader
      // only (a standby's cache holds the same objects: a sum over the replicas would count each twice).
      collect() {
        this.reset();
        if (!leading()) return;
        // Counted in a plain map first: one labelled inc per condition cost 17 ms a scrape at 10,000 objects.
        const counts = new Map<string, { labels: { type: string; status: string; reason: string }; count: number }>();
        for (const obj of source()) {
          for (const c of obj.status?.conditions ?? []) {
            const key = `${c.type}\u0000${c.status}\u0000${c.reason}`;
            const seen = counts.get(key);
            if (seen) seen.count++;
            else counts.set(key, { labels: { type: c.type, status: c.status, reason: c.reason }, count: 1 });
          }
        }
        for (const { labels, count } of counts.values()) this.set(labels, count);
      },
    });
  }

  /**
   * Where the endpoints-by-condition gauge counts from (the endpoint informer's cache), and the namespaces whose
   * capacity counters are exported at 0; `leading` says whether this replica acts (only the leader counts endpoints).
   */
  countEndpointsFrom(source: () => Iterable<ObjectWithConditions>, options: { leading?: () => boolean } = {}): void {
    this.endpointSource = source;
    this.leading = options.leading ?? (() => true);
  }

  /** Where the budget-limit gauge reads from (the operator's RateBudgetRegistry). */
  budgetLimitsFrom(source: () => Iterable<{ host: string; budget: string; limit: number }>): void {
    this.limitSource = source;
  }

  /** The hooks the Databricks client calls. */
  databricksSink(): DatabricksMetricsSink {
    return {
      request: (e) => {
        this.databricksRequests.inc({ operation: e.operation, status: statusLabel(e.status), outcome: e.outcome });
        this.databricksRequestDuration.observe({ operation: e.operation }, e.durationMs / 1000);
      },
      retry: (e) => this.databricksRetries.inc({ operation: e.operation, kind: e.kind }),
      budgetWait: (e) => this.budgetWait.observe({ host: e.host, budget: e.budget }, e.waitMs / 1000),
      budgetQueueLength: (e) => this.budgetQueueLength.set({ host: e.host, budget: e.budget }, e.queueLength),
      budgetRejected: (e) => this.budgetRejected.inc({ host: e.host, budget: e.budget }),
      budgetThrottled: (e) => this.budgetThrottled.inc({ host: e.host, budget: e.budget }),
      // pt_operator_rate_budget_limit is read from the registry at scrape time, so it drops the host by itself.
      budgetReleased: ({ host }) => {
        for (const budget of ['mutation', 'read']) {
          for (const metric of [this.budgetWait, this.budgetQueueLength, this.budgetRejected, this.budgetThrottled]) metric.remove({ host, budget });
        }
      },
    };
  }
}
