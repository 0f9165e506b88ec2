// Scenario files as users write them: the example in docs/emulator.md, YAML and JSON on disk.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../../src/emulator/scenario.js';
import { startEmulator } from '../../../src/emulator/server.js';

const root = join(import.meta.dirname, '..', '..', '..');

describe('scenario files', () => {
  it('the example in docs/emulator.md is a valid scenario', () => {
    const doc = readFileSync(join(root, 'docs', 'emulator.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const scenario = parseScenario(parseYaml(example!));
    expect(scenario.catalog.models.map((m) => m.name)).toEqual(['main.ml.support_bot', 'main.ml.big_moe', 'main.ml.classifier']);
    expect(scenario.endpoints.map((e) => e.name)).toEqual(['legacy-llama']);
  });

  it('starts from a YAML file: its catalog, credentials, seeded endpoints and timings apply', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-scenario-'));
    const file = join(dir, 'scenario.yaml');
    writeFileSync(
      file,
      [
        'clock: { speed: 0 }',
        'timing: { rolloutSeconds: 60 }',
        'catalog:',
        '  includeDefaults: false',
        '  models: [{ name: main.ml.bot, versions: [1], model_type: llama, throughput_chunk_size: 500 }]',
        'auth: { pats: [dapi-only-this] }',
        'endpoints:',
        '  - { name: seeded, config: { served_entities: [{ entity_name: main.ml.bot, entity_version: 1, max_provisioned_throughput: 500 }] } }',
      ].join('\n'),
    );
    const running = await startEmulator({ scenarioFile: file });
    try {
      const get = (path: string, token = 'dapi-only-this') =>
        fetch(`${running.url}/api/2.0/serving-endpoints${path}`, { headers: { Authorization: `Bearer ${token}` } });
      expect((await get('', 'dapi-something-else')).status).toBe(403);
      expect(await (await get('/seeded')).json()).toMatchObject({ state: { ready: 'READY' }, config: { served_entities: [{ max_provisioned_throughput: 500 }] } });
      expect((await get('/get-model-optimization-info/system.ai.meta_llama_v3_1_8b_instruct/3')).status).toBe(404);
      expect(running.emulator.clock.speed).toBe(0);
    } finally {
      await running.close();
    }
  });

  it('reads JSON too, and names the problem in an invalid file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-scenario-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ limits: { mutationsPerWindow: 2 } }));
    const running = await startEmulator({ scenarioFile: good });
    expect(running.emulator.budget.limit).toBe(2);
    await running.close();

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'faults:\n  - { type: earthquake }\n');
    await expect(startEmulator({ scenarioFile: bad })).rejects.toThrow(/scenario .*bad\.yaml is invalid[\s\S]*faults/);
  });
});
