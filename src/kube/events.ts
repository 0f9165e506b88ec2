import { pino } from 'pino';
import { scrubSecrets } from '../observability/logger.js';
import { MERGE_PATCH, type KubeClient } from './client.js';
import { isNotFound } from './errors.js';
import { kubeTime } from './time.js';
import type { Logger } from './logger.js';
import { CoreResources, type KubeObject } from './types.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** Shown as the event's source and reportingComponent, e.g. "pt-operator". */
  component: string;
  /** This process (pod name), shown as reportingInstance. */
  instance?: string;
  /** How many distinct (object, reason, message) series are remembered for aggregation. Default 4096. */
  cacheSize?: number;
  /**
   * Event writes in flight at once (default 2). Events are written beside the status writes but must not crowd
   * them out: a burst of thousands would otherwise open as many requests at once and make every status write wait
   * behind them at the API server (issue 12). client-go's recorder writes them one at a time.
   */
  maxInFlight?: number;
  /**
   * Events waiting for a write beyond this many are dropped and counted (default 10,000): an Event is best-effort.
   * A namespace below its share (this divided among the namespaces waiting) still gets room, up to twice this in all.
   */
  maxQueued?: number;
  /** Told the number of Events waiting or being written, on each change, and each Event dropped. */
  metrics?: { queued(n: number): void; dropped(): void };
  log?: Logger;
  now?: () => Date;
}

interface Series {
  name: string;
  namespace: string;
  count: number;
}

/** The identity of a repeated event: same object (by uid), type, reason and message — client-go's aggregation key. */
export function eventSeriesKey(obj: KubeObject, type: EventType, reason: string, message: string): string {
  const m = obj.metadata;
  return [obj.apiVersion, obj.kind, m.namespace ?? '', m.name, m.uid ?? '', type, reason, message].join('\u0000');
}

const MAX_MESSAGE = 1024;

/**
 * Records core/v1 Events for `kubectl describe`. A repeat of the same event patches count and lastTimestamp of the
 * existing Event instead of creating another, so describe shows "(x5 over 10m)". Recording never throws: an event
 * is best-effort and must not fail a reconcile.
 */
export class EventRecorder {
  private readonly series = new Map<string, Series>(); // insertion order doubles as LRU order
  private readonly pending = new Map<string, Promise<void>>();
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  /** Events recorded and not yet written (waiting for a slot or being written). */
  private unwritten = 0;
  private inFlight = 0;
  /** Events not yet written, by namespace */
  private readonly unwrittenIn = new Map<string, number>();
  /** Events waiting for a write slot, by namespace; namespaces take turns for the slots (`turnOrder`) */
  private readonly slotWaiters = new Map<string, Array<() => void>>();
  private readonly turnOrder: string[] = [];
  private droppedCount = 0;
  private readonly drainWaiters: Array<(flushed: boolean) => void> = [];
  private lastDropWarning = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly client: KubeClient,
    private readonly options: EventRecorderOptions,
  ) {
    this.log = (options.log ?? pino({ level: 'silent' })).child({ component: 'events' });
    this.now = options.now ?? (() => new Date());
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 2);
    this.maxQueued = options.maxQueued ?? 10_000;
  }

  /** Events recorded and not yet written. */
  get queued(): number {
    return this.unwritten;
  }

  /** Events dropped because `maxQueued` were already waiting. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Resolves once the Event is written (or could not be: recording never throws). */
  record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    if (!this.hasRoomFor(obj.metadata.namespace ?? '')) {
      this.drop(reason, obj);
      return Promise.resolve();
    }
    // events are readable by anyone who can describe the object: never let a credential through
    const scrubbed = scrubSecrets(message);
    const text = scrubbed.length > MAX_MESSAGE ? `${scrubbed.slice(0, MAX_MESSAGE - 3)}...` : scrubbed;
    // A waiting Event keeps only the reference it writes, not the object (thousands may wait in a burst). Not an
    // async function: its suspended frame would hold `obj` (often the API's answer, managedFields and all) until
    // the Event is written (a heap snapshot at 10,000 endpoints: 5,471 such objects held by waiting Events).
    const { apiVersion, kind, metadata } = obj;
    const ref: KubeObject = { apiVersion, kind, metadata: { name: metadata.name, namespace: metadata.namespace, uid: metadata.uid, resourceVersion: metadata.resourceVersion } };
    return this.enqueue(eventSeriesKey(obj, type, reason, text), ref, type, reason, text);
  }

  /**
   * A full queue drops a namespace's Event only when the namespace holds its share of the queue already: one that
   * floods the operator with Events loses its own, not another namespace's (a tenant can create many failing objects).
   */
  private hasRoomFor(namespace: string): boolean {
    if (this.unwritten < this.maxQueued) return true;
    const own = this.unwrittenIn.get(namespace) ?? 0;
    const share = this.maxQueued / (this.unwrittenIn.size + (own === 0 ? 1 : 0));
    return own < share && this.unwritten < 2 * this.maxQueued;
  }

  private async enqueue(key: string, ref: KubeObject, type: EventType, reason: string, text: string): Promise<void> {
    const namespace = ref.metadata.namespace ?? '';
    this.unwrittenIn.set(namespace, (this.unwrittenIn.get(namespace) ?? 0) + 1);
    this.setUnwritten(this.unwritten + 1);
    // repeats of one series are written one after another, so two concurrent repeats never create two Events
    const previous = this.pending.get(key) ?? Promise.resolve();
    const current = previous.then(() => this.writeInSlot(key, ref, type, reason, text));
    this.pending.set(key, current);
    await current;
    if (this.pending.get(key) === current) this.pending.delete(key);
  }

  private drop(reason: string, obj: KubeObject): void {
    this.droppedCount++;
    this.options.metrics?.dropped();
    const at = Date.now();
    // one line a minute at most: a flood of drops must not become a flood of logs
    if (at - this.lastDropWarning < 60_000) return;
    this.lastDropWarning = at;
    this.log.warn({ reason, object: obj.metadata.name, namespace: obj.metadata.namespace, queued: this.unwritten, dropped: this.droppedCount }, 'too many Events waiting to be written; dropping this one');
  }

  private setUnwritten(n: number): void {
    this.unwritten = n;
    this.options.metrics?.queued(n);
    if (n === 0) for (const resolve of this.drainWaiters.splice(0)) resolve(true);
  }

  /**
   * Resolves true once every Event recorded so far is written (or given up on), false if that takes longer than
   * `timeoutMs`. At shutdown, after the reconciles drained: the Events they recorded are not lost with the process.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    if (this.unwritten === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const flushed = await Promise.race([
      new Promise<boolean>((resolve) => this.drainWaiters.push(resolve)),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return flushed;
  }

  private async writeInSlot(key: string, obj: KubeObject, type: EventType, reason: string, text: string): Promise<void> {
    const namespace = obj.metadata.namespace ?? '';
    if (this.inFlight >= this.maxInFlight) await new Promise<void>((resolve) => this.waitForSlot(namespace, resolve));
    else this.inFlight++;
    try {
      await this.write(key, obj, type, reason, text);
    } finally {
      const left = (this.unwrittenIn.get(namespace) ?? 1) - 1;
      if (left > 0) this.unwrittenIn.set(namespace, left);
      else this.unwrittenIn.delete(namespace);
      this.setUnwritten(this.unwritten - 1);
      // the slot passes straight to the next waiter (inFlight unchanged), or is freed
      const next = this.nextWaiter();
      if (next) next();
      else this.inFlight--;
    }
  }

  private waitForSlot(namespace: string, resolve: () => void): void {
    const line = this.slotWaiters.get(namespace);
    if (line) return void line.push(resolve);
    this.slotWaiters.set(namespace, [resolve]);
    this.turnOrder.push(namespace);
  }

  /** The next waiter of the namespace whose turn it is; its namespace goes to the back if more of it wait. */
  private nextWaiter(): (() => void) | undefined {
    const namespace = this.turnOrder.shift();
    if (namespace === undefined) return undefined;
    const line = this.slotWaiters.get(namespace) as Array<() => void>;
    const next = line.shift();
    if (line.length > 0) this.turnOrder.push(namespace);
    else this.slotWaiters.delete(namespace);
    return next;
  }

  private async write(key: string, obj: KubeObject, type: EventType, reason: string, text: string): Promise<void> {
    const timestamp = kubeTime(this.now());
    try {
      const known = this.series.get(key);
      if (known) {
        this.series.delete(key);
        this.series.set(key, known);
        try {
          await this.client.patch(
            CoreResources.event,
            known.namespace,
            known.name,
            { count: known.count + 1, lastTimestamp: timestamp },
            MERGE_PATCH,
          );
          known.count++;
          return;
        } catch (err) {
          // the Event expired (1 h TTL by default): start a new series below
          if (!isNotFound(err)) throw err;
          this.series.delete(key);
        }
      }
      const namespace = obj.metadata.namespace ?? 'default';
      const name = `${obj.metadata.name}.${(Date.now() * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`;
      await this.client.create(CoreResources.event, namespace, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace: obj.metadata.namespace,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
        type,
        reason,
        message: text,
        count: 1,
        firstTimestamp: timestamp,
        lastTimestamp: timestamp,
        source: { component: this.options.component },
        reportingComponent: this.options.component,
        reportingInstance: this.options.instance ?? '',
      } as KubeObject);
      this.series.set(key, { name, namespace, count: 1 });
      if (this.series.size > (this.options.cacheSize ?? 4096)) {
        const oldest = this.series.keys().next().value;
        if (oldest !== undefined) this.series.delete(oldest);
      }
    } catch (err) {
      // Its message stays in the log at least (a namespace being deleted refuses every new Event).
      this.log.warn({ err: err instanceof Error ? err.message : String(err), type, reason, message: text, object: obj.metadata.name, namespace: obj.metadata.namespace }, 'could not record event');
    }
  }
}
