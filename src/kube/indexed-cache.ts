// The informer's cache: objects by key, plus secondary indexes (like client-go's Indexer), so a lookup such as
// "every object that names this endpoint" costs the size of the answer, not a scan of 10,000 objects.
import type { KubeObject } from './types.js';

/** The index values of an object (several, or none). */
export type IndexFunction<T> = (obj: T) => readonly string[];

export class IndexedCache<T extends KubeObject> {
  private readonly objects = new Map<string, T>();
  private readonly indexes = new Map<string, { keysOf: IndexFunction<T>; entries: Map<string, Set<string>> }>();

  get size(): number {
    return this.objects.size;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  values(): IterableIterator<T> {
    return this.objects.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.objects.entries();
  }

  set(key: string, obj: T): void {
    const old = this.objects.get(key);
    if (old) this.unindex(key, old);
    this.objects.set(key, obj);
    this.index(key, obj);
  }

  delete(key: string): void {
    const old = this.objects.get(key);
    if (!old) return;
    this.unindex(key, old);
    this.objects.delete(key);
  }

  /** Adds an index; objects already cached are indexed at once. A name can be added once. */
  addIndex(name: string, keysOf: IndexFunction<T>): void {
    if (this.indexes.has(name)) throw new Error(`index ${name} exists already`);
    const index = { keysOf, entries: new Map<string, Set<string>>() };
    this.indexes.set(name, index);
    for (const [key, obj] of this.objects) for (const value of keysOf(obj)) add(index.entries, value, key);
  }

  /** The cached objects whose index `name` holds `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`no index ${name}`);
    const keys = index.entries.get(value);
    if (!keys) return [];
    const found: T[] = [];
    for (const key of keys) {
      const obj = this.objects.get(key);
      if (obj) found.push(obj);
    }
    return found;
  }

  private index(key: string, obj: T): void {
    for (const { keysOf, entries } of this.indexes.values()) for (const value of keysOf(obj)) add(entries, value, key);
  }

  private unindex(key: string, obj: T): void {
    for (const { keysOf, entries } of this.indexes.values()) {
      for (const value of keysOf(obj)) {
        const keys = entries.get(value);
        keys?.delete(key);
        if (keys?.size === 0) entries.delete(value);
      }
    }
  }
}

function add(entries: Map<string, Set<string>>, value: string, key: string): void {
  let keys = entries.get(value);
  if (!keys) entries.set(value, (keys = new Set()));
  keys.add(key);
}
