// An informer stand-in for controller tests: whatever is added or updated goes straight to the handlers, and a handler
// added later is told every object held so far, as Informer.addHandlers does.
import type { EventSource } from '../../../src/kube/controller.js';
import type { EventHandlers } from '../../../src/kube/informer.js';

type Named = { metadata?: { namespace?: string; name?: string } };
const keyOf = (obj: unknown) => `${(obj as Named).metadata?.namespace ?? ''}/${(obj as Named).metadata?.name ?? ''}`;

export class FakeSource<T> implements EventSource<T> {
  handlers: EventHandlers<T>[] = [];
  private readonly cache = new Map<string, T>();
  addHandlers(h: EventHandlers<T>) {
    this.handlers.push(h);
    for (const obj of this.cache.values()) h.add?.(obj);
  }
  add(obj: T) {
    this.cache.set(keyOf(obj), obj);
    for (const h of this.handlers) h.add?.(obj);
  }
  update(oldObj: T, newObj: T) {
    this.cache.set(keyOf(newObj), newObj);
    for (const h of this.handlers) h.update?.(oldObj, newObj);
  }
}
