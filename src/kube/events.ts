import { pino } from 'pino';
import { scrubSecrets } from '../observability/logger.js';
import { MERGE_PATCH, type KubeClient } from './client.js';
import { isNotFound } from './errors.js';
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

  constructor(
    private readonly client: KubeClient,
    private readonly options: EventRecorderOptions,
  ) {
    this.log = (options.log ?? pino({ level: 'silent' })).child({ component: 'events' });
    this.now = options.now ?? (() => new Date());
  }

  async record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    // events are readable by anyone who can describe the object: never let a credential through
    const scrubbed = scrubSecrets(message);
    const text = scrubbed.length > MAX_MESSAGE ? `${scrubbed.slice(0, MAX_MESSAGE - 3)}...` : scrubbed;
    const key = eventSeriesKey(obj, type, reason, text);
    // repeats of one series are written one after another, so two concurrent repeats never create two Events
    const previous = this.pending.get(key) ?? Promise.resolve();
    const current = previous.then(() => this.write(key, obj, type, reason, text));
    this.pending.set(key, current);
    await current;
    if (this.pending.get(key) === current) this.pending.delete(key);
  }

  private async write(key: string, obj: KubeObject, type: EventType, reason: string, text: string): Promise<void> {
    const timestamp = this.now().toISOString().replace(/\.\d+Z$/, 'Z');
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
      this.log.warn({ err: err instanceof Error ? err.message : String(err), reason, object: obj.metadata.name }, 'could not record event');
    }
  }
}
