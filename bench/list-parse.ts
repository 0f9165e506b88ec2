// Reading a workspace's list of 10,000 endpoints (issue 12 item 4): peak RSS and CPU of a process that reads the
// same list 150 times (about what the operator reads while it rolls out 10,000 endpoints), parsed whole with
// JSON.parse (the client before json-items.ts, the baseline) and element by element as the client does now. Each
// way runs in its own Node process with the image's node flags, three repetitions interleaved; the list is the
// emulator's own answer for one endpoint, repeated with distinct names and IDs.
//   npm run bench -- list-parse
//   npx tsx bench/list-parse.ts [--endpoints 10000] [--reads 150] [--reps 3]
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LISTED_ENDPOINT_FIELDS, ListedEndpointsResponseSchema } from '../src/databricks/api-types.js';
import { DatabricksClient } from '../src/databricks/index.js';
import { keepFields, parseJsonShrinkingItems } from '../src/databricks/json-items.js';
import { startEmulator } from '../src/emulator/server.js';
import { repoRoot } from '../test/support/cluster.js';
import { productionNodeFlags } from './lib/production.js';
import { median } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '10000' },
    reads: { type: 'string', default: '150' },
    reps: { type: 'string', default: '3' },
    /** internal: run one way in this process */
    worker: { type: 'string' },
    body: { type: 'string' },
  },
});
type Way = 'whole' | 'items';
const ways: Way[] = ['whole', 'items'];

if (values.worker) {
  const text = readFileSync(values.body as string, 'utf8');
  const parse = (body: string) =>
    values.worker === 'whole'
      ? ListedEndpointsResponseSchema.parse(JSON.parse(body))
      : ListedEndpointsResponseSchema.parse(parseJsonShrinkingItems(body, 'endpoints', keepFields(LISTED_ENDPOINT_FIELDS)));
  const kept: unknown[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < Number(values.reads); i++) {
    // a fresh string each time, as each answer is; the reconciler keeps a list a second, so two are alive at once
    const body = `${text.slice(0, -1)}${' '.repeat(i % 2)}}`;
    kept[i % 2] = new Map((parse(body).endpoints ?? []).map((e) => [e.name, e.state?.config_update]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({ peakRssMiB: process.resourceUsage().maxRSS / 1024, cpuSeconds: (used.user + used.system) / 1e6 }));
  process.exit(0);
}

const n = Number(values.endpoints);
const reps = Number(values.reps);
const body = await listBody(n);
const bodyFile = join(tmpdir(), `pt-list-parse-${process.pid}.json`);
writeFileSync(bodyFile, body);
console.error(`a list of ${n} endpoints: ${(body.length / 2 ** 20).toFixed(1)} MiB of JSON, read ${values.reads} times per process`);

const results: Record<Way, { peakRssMiB: number; cpuSeconds: number }[]> = { whole: [], items: [] };
for (let rep = 0; rep < reps; rep++) {
  for (const way of rep % 2 === 0 ? ways : [...ways].reverse()) {
    const run = spawnSync(
      process.execPath,
      [...productionNodeFlags(repoRoot), '--import', 'tsx', fileURLToPath(import.meta.url), `--worker=${way}`, `--body=${bodyFile}`, `--reads=${values.reads}`],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    if (run.status !== 0) throw new Error(`${way} failed: ${run.stderr}`);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as { peakRssMiB: number; cpuSeconds: number };
    results[way].push(result);
    console.error(`rep ${rep + 1} ${way}: peak RSS ${result.peakRssMiB.toFixed(0)} MiB, CPU ${result.cpuSeconds.toFixed(2)} s`);
  }
}

const figure = (xs: number[], digits: number) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
const rss = (way: Way) => results[way].map((r) => r.peakRssMiB);
const cpu = (way: Way) => results[way].map((r) => r.cpuSeconds);
console.log(`\nList parsing: ${reps} repetitions, interleaved, each way in its own process (the image's node flags); median (min–max)`);
console.log('| way | peak RSS MiB | ratio | CPU s | ratio |');
console.log('|---|---|---|---|---|');
for (const way of ways) {
  console.log(
    `| ${way === 'whole' ? 'JSON.parse of the whole list (baseline)' : 'element by element (the client)'} | ${figure(rss(way), 0)} | ${(median(rss(way)) / median(rss('whole'))).toFixed(2)}× | ${figure(cpu(way), 2)} | ${(median(cpu(way)) / median(cpu('whole'))).toFixed(2)}× |`,
  );
}

/** The emulator's list answer for one endpoint the operator created, repeated `count` times with distinct names and IDs. */
async function listBody(count: number): Promise<string> {
  const emulator = await startEmulator({});
  try {
    const client = new DatabricksClient({ host: emulator.url, auth: { type: 'pat', token: 'dapi0123456789abcdef0123456789abcdef' } });
    const info = await client.getModelOptimizationInfo('system.ai.meta_llama_v3_1_8b_instruct', '3');
    await client.createEndpoint({
      name: 'ep-00000',
      config: {
        served_entities: [{ entity_name: 'system.ai.meta_llama_v3_1_8b_instruct', entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: info.throughput_chunk_size ?? 1 }],
      },
      tags: [
        { key: 'ptoperator.io/owner-uid', value: '6f1c2d3e-1111-2222-3333-444455556666' },
        { key: 'ptoperator.io/owner', value: 'bench-namespace.ep-00000' },
      ],
    });
    const res = await fetch(`${emulator.url}/api/2.0/serving-endpoints`, { headers: { authorization: 'Bearer dapi0123456789abcdef0123456789abcdef' } });
    const [item] = ((await res.json()) as { endpoints: Record<string, unknown>[] }).endpoints;
    const endpoints = Array.from({ length: count }, (_, i) => ({ ...item, name: `ep-${String(i).padStart(5, '0')}`, id: `${String(i).padStart(32, '0')}` }));
    return JSON.stringify({ endpoints });
  } finally {
    await emulator.close();
  }
}
