// Import of existing endpoints: endpoints made outside the operator (here straight through the
// emulator's API, as a notebook would), `pt-operator import`, `kubectl apply` of its YAML, Ready —
// and no config mutation in Databricks: the only write is each object's ownership tag.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { applyOk, eventually, repoRoot, run } from '../support/cluster.js';
import { type E2E, isReady, startE2E, TEST_PAT } from './harness.js';

let e2e: E2E;

const LLAMA = 'system.ai.meta_llama_v3_1_8b_instruct';

/** Five forms the operator expresses, two it cannot. */
const EXPRESSIBLE = {
  'chat-llama': {
    path: '/api/2.0/serving-endpoints',
    body: { name: 'chat-llama', config: { served_entities: [{ entity_name: LLAMA, entity_version: '3', min_provisioned_throughput: 1960, max_provisioned_throughput: 2940 }] }, tags: [{ key: 'team', value: 'genai' }, { key: 'cost-center', value: '42' }] },
  },
  'embed-gte': {
    path: '/api/2.0/serving-endpoints',
    body: { name: 'embed-gte', config: { served_entities: [{ entity_name: 'system.ai.gte_large_en_v1_5', entity_version: '2', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] } },
  },
  'gpt-oss': {
    path: '/api/2.0/serving-endpoints/pt',
    body: { name: 'gpt-oss', config: { served_entities: [{ entity_name: 'system.ai.gpt-oss-120b', entity_version: '1', provisioned_model_units: 100 }] }, tags: [{ key: 'tier', value: 'gold' }] },
  },
  Team_Maverick: {
    path: '/api/2.0/serving-endpoints/pt',
    body: { name: 'Team_Maverick', config: { served_entities: [{ entity_name: 'system.ai.llama-4-maverick', entity_version: '1', provisioned_model_units: 50 }] } },
  },
  'support-bot': {
    path: '/api/2.0/serving-endpoints',
    body: { name: 'support-bot', description: 'made in a notebook', config: { served_entities: [{ entity_name: 'main.default.support_bot_llama', entity_version: '2', min_provisioned_throughput: 980, max_provisioned_throughput: 3920 }] }, tags: [{ key: 'owner', value: 'support' }] },
  },
} as const;

const INEXPRESSIBLE = {
  'ab-split': {
    path: '/api/2.0/serving-endpoints',
    body: {
      name: 'ab-split',
      config: {
        served_entities: [
          { name: 'v2', entity_name: 'main.default.support_bot_llama', entity_version: '2', min_provisioned_throughput: 0, max_provisioned_throughput: 980 },
          { name: 'v3', entity_name: 'main.default.support_bot_llama', entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 },
        ],
        traffic_config: { routes: [{ served_entity_name: 'v2', traffic_percentage: 80 }, { served_entity_name: 'v3', traffic_percentage: 20 }] },
      },
    },
  },
  'cpu-classifier': {
    path: '/api/2.0/serving-endpoints',
    body: { name: 'cpu-classifier', config: { served_entities: [{ entity_name: 'main.default.support_bot_llama', entity_version: '1', workload_size: 'Small', scale_to_zero_enabled: true }] } },
  },
} as const;

interface EndpointBody {
  name: string;
  state: { config_update?: string };
  tags?: { key: string; value?: string }[];
}

async function databricks(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(new URL(path, e2e.emulator.url), {
    method,
    headers: { authorization: `Bearer ${TEST_PAT}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

const getEndpoint = (name: string) => databricks('GET', `/api/2.0/serving-endpoints/${name}`) as Promise<EndpointBody>;

interface Call {
  seq: number;
  method: string;
  operation: string;
  endpoint?: string;
}
async function calls(): Promise<Call[]> {
  const body = (await (await fetch(new URL('/__emulator/calls', e2e.emulator.url))).json()) as { calls: Call[] };
  return body.calls;
}

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-import' });
  for (const { path, body } of [...Object.values(EXPRESSIBLE), ...Object.values(INEXPRESSIBLE)]) await databricks('POST', path, body);
  await eventually(
    async () => {
      for (const name of [...Object.keys(EXPRESSIBLE), ...Object.keys(INEXPRESSIBLE)]) {
        const endpoint = await getEndpoint(name);
        if (endpoint.state.config_update !== 'NOT_UPDATING') throw new Error(`${name} is ${endpoint.state.config_update}`);
      }
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
});

afterAll(async () => {
  await e2e?.stop();
});

describe('pt-operator import', () => {
  it('imports five endpoints of different forms; applying the YAML makes no config mutation, only the ownership tag', async () => {
    const before = await calls();
    const lastSeqBeforeImport = before.at(-1)?.seq ?? 0;

    const result = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'import', '--host', e2e.emulator.url, '--all', '--namespace', e2e.namespace], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABRICKS_TOKEN: TEST_PAT },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/not imported: ab-split: it serves 2 entities split by traffic_config/);
    expect(result.stderr).toMatch(/not imported: cpu-classifier: it is not provisioned throughput/);
    expect(result.stderr).toMatch(/imported 5 of 7 endpoints/);
    expect(result.stdout).toMatch(/^# Not imported/);

    // The import itself only read.
    const importCalls = (await calls()).filter((c) => c.seq > lastSeqBeforeImport);
    expect(importCalls.filter((c) => c.method !== 'GET')).toEqual([]);

    const objects = parseAllDocuments(result.stdout).map((d) => d.toJS() as { metadata: { name: string }; spec: Record<string, unknown> });
    const byEndpoint = Object.fromEntries(objects.map((o) => [o.spec['endpointName'] as string, o]));
    expect(Object.keys(byEndpoint).sort()).toEqual(Object.keys(EXPRESSIBLE).sort());
    expect(byEndpoint['chat-llama']?.spec).toMatchObject({ throughput: { tokensPerSecond: { min: 1960, max: 2940 } }, tags: { team: 'genai', 'cost-center': '42' } });
    expect(byEndpoint['gpt-oss']?.spec).toMatchObject({ throughput: { modelUnits: 100 }, tags: { tier: 'gold' } });
    expect(byEndpoint['Team_Maverick']?.metadata.name).toBe('team-maverick');

    const seqBeforeApply = (await calls()).at(-1)?.seq ?? 0;
    await applyOk(result.stdout, { namespace: e2e.namespace });
    for (const object of objects) await e2e.waitUntil('pte', object.metadata.name, isReady, 90_000);

    // Settled, and looked at again after Ready (two more reads of each endpoint) without any change.
    const readyAt = (await calls()).at(-1)?.seq ?? 0;
    await eventually(
      async () => {
        const later = (await calls()).filter((c) => c.seq > readyAt && c.operation === 'get');
        for (const name of Object.keys(EXPRESSIBLE)) {
          if (later.filter((c) => c.endpoint === name).length < 2) throw new Error(`${name} not read twice since Ready`);
        }
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );

    const writes = (await calls()).filter((c) => c.seq > seqBeforeApply && c.method !== 'GET');
    const configMutations = writes.filter((c) => c.operation !== 'patchTags');
    expect(configMutations).toEqual([]);
    // One ownership claim per endpoint, and nothing for the endpoints that were not imported.
    expect(writes.map((c) => c.endpoint).sort()).toEqual(Object.keys(EXPRESSIBLE).sort());

    // User tags are exactly what they were; the claim only added the operator's own keys.
    for (const [name, { body }] of Object.entries(EXPRESSIBLE)) {
      const tags = Object.fromEntries(((await getEndpoint(name)).tags ?? []).map((t) => [t.key, t.value ?? '']));
      const userTags = Object.fromEntries(Object.entries(tags).filter(([key]) => !key.startsWith('pt-operator-')));
      const original = Object.fromEntries((('tags' in body ? body.tags : []) as readonly { key: string; value: string }[]).map((t) => [t.key, t.value]));
      expect(userTags, name).toEqual(original);
      expect(Object.keys(tags).filter((k) => k.startsWith('pt-operator-')).sort(), name).toEqual(['pt-operator-owner', 'pt-operator-owner-uid']);
    }
  });
});
