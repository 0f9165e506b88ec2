// An informer stand-in for controller tests: whatever is added or updated goes straight to the handlers.
import type { EventSource } from '../../../src/kube/controller.js';
import type { EventHandlers } from '../../../src/kube/informer.js';

export class FakeSource<T> implements EventSource<T> {
  handlers: EventHandlers<T>[] = [];
  addHandlers(h: EventHandlers<T>) {
    this.handlers.push(h);
  }
  add(obj: T) {
    for (const h of this.handlers) h.add?.(obj);
  }
  update(oldObj: T, newObj: T) {
    for (const h of this.handlers) h.update?.(oldObj, newObj);
  }
}
