// 200 mutations requested at once in one workspace under the DEFAULT budget (50 per 5 minutes).
// The emulator runs its clock 100x fast and the client runs on the same scaled time, so the default
// budget is used unchanged. Prints the emulator's log of when the calls arrived, proof that none was
// refused with 429, and the schedule the sliding window computes for comparison.
//   npx tsx bench/databricks-budget.ts [--speed 100] [--count 200] [--workers 4] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DatabricksClient } from '../src/databricks/client.js';
import { DEFAULT_RATE_LIMITS, RateBudgetRegistry, earliestSlot, resolveLimits } from '../src/databricks/rate-budget.js';
import { HttpTransport } from '../src/databricks/transport.js';
import { startEmulator } from '../src/emulator/server.js';
import { maxInRollingWindow, scaledClock } from '../test/support/time.js';

const { values } = parseArgs({
  options: {
    speed: { type: 'string', default: '100' },
    count: { type: 'string', default: '200' },
    workers: { type: 'string', default: '4' },
    json: { type: 'string' },
  },
});
const speed = Number(values.speed);
const count = Number(values.count);
const workers = Number(values.workers);
const WINDOW_MS = DEFAULT_RATE_LIMITS.mutationWindowMs;

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

// 1. The schedule the window computes for `count` callers arriving at once (pure, t=0).
const spec = resolveLimits().mutation;
const planned: number[] = [];
for (let i = 0; i < count; i++) planned.push(earliestSlot(planned, 0, spec.limit, spec.windowMs + spec.marginMs));

// 2. A real run over HTTP against the emulator.
const emulator = await startEmulator({ scenario: { clock: { speed }, timing: { rolloutSeconds: 600 } } });
const transport = new HttpTransport();
const clock = scaledClock(speed);
const budgets = new RateBudgetRegistry(clock);
const maxQueue = { value: 0 };
budgets.setMetrics({ budgetQueueLength: (e) => (maxQueue.value = Math.max(maxQueue.value, e.queueLength)) });
// Several "workers" of one operator, each with its own client, spelling the host differently.
const clients = Array.from(
  { length: workers },
  (_, i) =>
    new DatabricksClient({
      host: i % 2 ? `${emulator.url}/` : emulator.url.toUpperCase().replace('HTTP://', 'http://'),
      auth: { type: 'pat', token: 'dapi00000000000000000000000000000000' },
      transport,
      budgets,
      clock,
      retryDeadlineMs: 60 * 60 * 1000,
    }),
);
// The operator reads before it mutates: open the connections first, as it would.
await Promise.all(clients.map((c) => c.checkCredentials()));
const realStart = Date.now();
const outcomes = await Promise.allSettled(
  Array.from({ length: count }, (_, i) =>
    clients[i % workers]!.createEndpoint({
      name: `bench-${String(i).padStart(3, '0')}`,
      config: {
        served_entities: [
          {
            entity_name: 'system.ai.meta_llama_v3_1_8b_instruct',
            entity_version: '3',
            min_provisioned_throughput: 1960,
            max_provisioned_throughput: 2940,
          },
        ],
      },
    }),
  ),
);
const realMs = Date.now() - realStart;
const creates = emulator.emulator.calls.query({ operation: 'create' });
await transport.close();
await emulator.close();

const t0 = creates[0]?.virtualTime ?? 0;
const arrivals = creates.map((c) => ({ seq: c.seq, endpoint: c.endpoint, atMs: c.virtualTime - t0, status: c.status }));
const byStatus: Record<string, number> = {};
for (const a of arrivals) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
const gaps = arrivals.slice(1).map((a, i) => a.atMs - (arrivals[i]?.atMs ?? 0)).sort((a, b) => a - b);
const failed = outcomes.filter((o) => o.status === 'rejected').length;
const maxObserved = maxInRollingWindow(arrivals.map((a) => a.atMs), WINDOW_MS);

console.log(`Default mutation budget: ${DEFAULT_RATE_LIMITS.mutationsPerWindow} per ${WINDOW_MS / 1000} s per workspace`);
console.log(`  sliding window: ${spec.limit} at once, each next one a window (+${seconds(spec.marginMs)} s margin) after the one ${spec.limit} before it`);
console.log(`\nPlanned schedule (fake clock, ${count} requested at t=0):`);
console.log(
  `  first ${planned.filter((t) => t === 0).length} at t=0; last at t=${seconds(planned.at(-1) ?? 0)} s; max in any rolling ${WINDOW_MS / 1000} s: ${maxInRollingWindow(planned, WINDOW_MS)}`,
);
console.log(`\nReal run: ${count} creates from ${workers} clients of one workspace; emulator clock x${speed}, limit 50 per rolling 300 s`);
console.log(`  wall time ${seconds(realMs)} s = ${seconds(realMs * speed)} virtual s; client-side failures: ${failed}`);
console.log(`  emulator call log: ${arrivals.length} creates, statuses ${JSON.stringify(byStatus)}, 429s: ${byStatus['429'] ?? 0}`);
console.log(`  max creates in any rolling 300 s (emulator's virtual time): ${maxObserved}`);
console.log(
  `  gaps between arrivals: min ${seconds(gaps[0] ?? 0)} s, median ${seconds(gaps[Math.floor(gaps.length / 2)] ?? 0)} s, max ${seconds(gaps.at(-1) ?? 0)} s; largest budget queue: ${maxQueue.value}`,
);
console.log('\nArrival log (virtual seconds after the first create, HTTP status):');
for (let i = 0; i < arrivals.length; i += 8) {
  console.log(
    '  ' +
      arrivals
        .slice(i, i + 8)
        .map((a) => `#${String(a.seq).padStart(3)} ${seconds(a.atMs).padStart(7)}s ${a.status}`)
        .join('  '),
  );
}
if (values.json) {
  writeFileSync(values.json, JSON.stringify({ speed, count, workers, spec, planned, arrivals, byStatus, maxObserved, realMs }, null, 2));
  console.log(`\nwrote ${values.json}`);
}

const ok = failed === 0 && arrivals.length === count && (byStatus['429'] ?? 0) === 0 && maxObserved <= DEFAULT_RATE_LIMITS.mutationsPerWindow;
if (!ok) {
  console.error('FAILED: some mutation was refused or the window limit was exceeded');
  process.exit(1);
}
