// Databricks changes a model's chunk size over time (reference §8). Under two Ready endpoints that serve their
// spec, one in chunks and one in tokens per second, the change alone sends nothing to Databricks, both stay
// Ready, and each gets one ChunkSizeChanged Warning.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type E2E, condition, endpointManifest, isReady, startE2E } from './harness.js';

const MISTRAL = 'system.ai.mistral_7b_instruct_v0_2';
let e2e: E2E;

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  e2e = await startE2E({ prefix: 'e2e-chunks' });
});

afterEach(async () => {
  await e2e?.stop();
});

const chunkSizeOf = (obj: Record<string, unknown>) =>
  ((obj['status'] as { optimization?: { chunkSize?: number } } | undefined)?.optimization?.chunkSize);

async function warnings(name: string): Promise<{ reason: string; message: string; count?: number }[]> {
  const list = JSON.parse(await e2e.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name},type=Warning`, '-o', 'json'])) as {
    items: { reason: string; message: string; count?: number }[];
  };
  return list.items;
}

describe('a model chunk size that Databricks changes', () => {
  it('changes nothing in Databricks: both endpoints stay Ready, one ChunkSizeChanged Warning each', async () => {
    await e2e.apply([
      endpointManifest('chunky', { model: { name: MISTRAL, version: '1' }, throughput: { chunks: { min: 1, max: 2 } } }),
      endpointManifest('tps', { model: { name: MISTRAL, version: '2' }, throughput: { tokensPerSecond: { min: 970, max: 1940 } } }),
    ]);
    for (const name of ['chunky', 'tps']) await e2e.waitUntil('pte', name, (o) => isReady(o) && chunkSizeOf(o) === 970, 60_000);
    const mutationsBefore = (await e2e.mutations()).length;

    const changed = await fetch(new URL(`/__emulator/catalog/${MISTRAL}`, e2e.emulator.url), { method: 'POST', body: JSON.stringify({ throughput_chunk_size: 1940 }) });
    expect(changed.status).toBe(200);

    // Evidence the operator saw the new chunk size, then that it reconciled again after that.
    for (const name of ['chunky', 'tps']) await e2e.waitUntil('pte', name, (o) => chunkSizeOf(o) === 1940, 30_000);
    await e2e.reconciledAgain('chunky', 'tps');

    expect(await e2e.mutations()).toHaveLength(mutationsBefore);
    for (const name of ['chunky', 'tps']) {
      const obj = await e2e.get('pte', name);
      expect(condition(obj, 'Ready'), name).toMatchObject({ status: 'True', reason: 'Available' });
      expect(condition(obj, 'Synced'), name).toMatchObject({ status: 'True' });
      expect(condition(obj, 'Stalled')?.status ?? 'False', name).toBe('False');
      expect((obj?.['status'] as { optimization?: unknown }).optimization).toMatchObject({ chunkSize: 1940, appliedChunkSize: 970 });
      const warned = await warnings(name);
      expect(warned.map((w) => [w.reason, w.count ?? 1]), name).toEqual([['ChunkSizeChanged', 1]]);
      expect(warned[0]?.message).toContain('from 970 to 1940 tokens/s');
    }
    expect((await warnings('tps'))[0]?.message).toContain('not a multiple of the model\'s chunk size 1940');
    expect((await warnings('chunky'))[0]?.message).toContain('1940-3880 tokens/s');
  });
});
