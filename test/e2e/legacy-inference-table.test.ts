// An endpoint with a legacy inference table (config.auto_capture_config, reference §2.2), adopted by an object:
// the config PUT replaces the whole config, so a throughput change must carry the inference table over, or
// request logging would stop.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type E2E, endpointManifest, isReady, startE2E } from './harness.js';

const LLAMA = 'system.ai.meta_llama_v3_1_8b_instruct';
const AUTO_CAPTURE = { catalog_name: 'main', schema_name: 'default', table_name_prefix: 'ac', enabled: true };
let e2e: E2E;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  e2e = await startE2E({
    prefix: 'e2e-autocap',
    scenario: {
      endpoints: [
        {
          name: 'autocap',
          config: {
            served_entities: [{ entity_name: LLAMA, entity_version: '3', min_provisioned_throughput: 980, max_provisioned_throughput: 1960 }],
            auto_capture_config: AUTO_CAPTURE,
          },
        },
      ],
    },
  });
});

afterEach(async () => {
  await e2e?.stop();
});

const servedMax = (obj: Record<string, unknown>) => (obj['status'] as { served?: { maxTokensPerSecond?: number } } | undefined)?.served?.maxTokensPerSecond;

type EmulatedEndpoint = { name: string; config?: { auto_capture_config?: unknown; served_entities?: { max_provisioned_throughput?: number }[] } };

async function emulatorEndpoint(name: string): Promise<EmulatedEndpoint> {
  const state = (await (await fetch(new URL('/__emulator/state', e2e.emulator.url))).json()) as { endpoints: EmulatedEndpoint[] };
  const endpoint = state.endpoints.find((e) => e.name === name);
  if (!endpoint) throw new Error(`no endpoint ${name} in the emulator`);
  return endpoint;
}

describe('a legacy inference table', () => {
  it('is kept through a throughput change of an adopted endpoint', async () => {
    const spec = { model: { name: LLAMA, version: '3' }, throughput: { tokensPerSecond: { min: 980, max: 1960 } }, deletionPolicy: 'Orphan' };
    await e2e.apply(endpointManifest('autocap', spec, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    await e2e.waitUntil('pte', 'autocap', (o) => isReady(o) && servedMax(o) === 1960, 60_000);

    await e2e.apply(endpointManifest('autocap', { ...spec, throughput: { tokensPerSecond: { min: 980, max: 2940 } } }, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    await e2e.waitUntil('pte', 'autocap', (o) => isReady(o) && servedMax(o) === 2940, 60_000);

    expect((await e2e.mutations('autocap')).filter((c) => c.operation === 'updateConfig')).toHaveLength(1);
    const endpoint = await emulatorEndpoint('autocap');
    expect(endpoint.config?.served_entities?.[0]?.max_provisioned_throughput).toBe(2940);
    expect(endpoint.config?.auto_capture_config).toMatchObject({ ...AUTO_CAPTURE, state: { payload_table: { name: 'ac_payload', status: 'ACTIVE' } } });
  });
});
