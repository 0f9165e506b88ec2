import { collectDefaultMetrics, Registry } from 'prom-client';

/** A fresh registry with Node process metrics (CPU, RSS, heap, event loop lag, GC, handles). */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
