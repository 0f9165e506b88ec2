// Issue 15 item 2 end to end: four endpoints share one schedule window change under a create/update budget of
// 2 per 5 minutes (--databricks-mutations-per-5-minutes=2). The first two to ask are updated at the change; the
// other two send nothing, and their status says why and when their turn comes (one window later). The
// endpoints exist beforehand and are adopted, which sends nothing, so the whole budget is the window change's.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { type E2E, condition, endpointManifest, isReady, startE2E } from './harness.js';

let e2e: E2E;
const MODEL = 'system.ai.meta_llama_v3_1_8b_instruct';
const NAMES = ['sched-a', 'sched-b', 'sched-c', 'sched-d'];

interface Call {
  operation: string;
  endpoint?: string;
  realTime: number;
}
async function updates(): Promise<Call[]> {
  const url = new URL('/__emulator/calls', e2e.emulator.url);
  url.searchParams.set('operation', 'updateConfig');
  return ((await (await fetch(url)).json()) as { calls: Call[] }).calls;
}

const cronAt = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} * * *`;
};

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  e2e = await startE2E({
    prefix: 'e2e-schedbudget',
    speed: 1,
    operatorArgs: ['--databricks-mutations-per-5-minutes=2'],
    scenario: {
      timing: { rolloutSeconds: 2 },
      endpoints: NAMES.map((name) => ({ name, config: { served_entities: [{ entity_name: MODEL, entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 980 }] } })),
    },
  });
});

afterEach(async () => {
  await e2e?.stop();
});

describe('a schedule window change shared by more endpoints than the budget allows', () => {
  it('the first two are updated at the change; the others wait for their reserved slot, and status says until when', async () => {
    const manifests = (spec: Record<string, unknown>) => NAMES.map((name) => endpointManifest(name, { throughput: { chunks: { min: 0, max: 1 } }, ...spec }, { annotations: { 'ptoperator.io/adopt': 'true' } }));
    await e2e.apply(manifests({}));
    await Promise.all(NAMES.map((name) => e2e.waitUntil('pte', name, isReady, 60_000)));
    // The window is set once all are Ready, so the slow part (adopting four) is not in the time it leaves to see it:
    // one kubectl apply for the four, then their status read at once, take a second or two of the 12.
    const start = Math.ceil(Date.now() / 1000) * 1000 + 12_000;
    const schedule = {
      timeZone: 'UTC',
      windows: [{ name: 'peak', start: cronAt(start), end: cronAt(start + 3_600_000), throughput: { chunks: { min: 1, max: 1 } } }],
    };
    await e2e.apply(manifests({ schedule }));
    const nextWindow = (o: Record<string, unknown>) => (o['status'] as { schedule?: { nextWindow?: string } }).schedule?.nextWindow;
    await Promise.all(NAMES.map((name) => e2e.waitUntil('pte', name, (o) => isReady(o) && nextWindow(o) === 'peak', 30_000)));
    expect(Date.now()).toBeLessThan(start); // all four saw the window before it opened
    expect(await updates()).toEqual([]);

    // At the change: two updates, then the other two report their turn.
    const waiting = await eventually(
      async () => {
        const objects = await Promise.all(NAMES.map(async (name) => ({ name, obj: (await e2e.get('pte', name)) as Record<string, unknown> })));
        const limited = objects.filter(({ obj }) => condition(obj, 'Synced')?.reason === 'RateLimited');
        if (limited.length < 2) throw new Error(`${limited.length} object(s) report the budget so far`);
        return limited;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const sent = await updates();
    expect(sent).toHaveLength(2);
    for (const call of sent) expect(call.realTime).toBeGreaterThanOrEqual(start);
    expect(new Set([...sent.map((c) => c.endpoint), ...waiting.map((w) => w.name)])).toEqual(new Set(NAMES));

    for (const { name, obj } of waiting) {
      const message = condition(obj, 'Synced')?.message ?? '';
      expect(message, name).toContain('waiting for the create/update budget of this Databricks host');
      const turn = Date.parse(/this change is sent at (\S+)$/.exec(message)?.[1] ?? '');
      // One 5-minute window (plus the 2 s margin) after the first two went out.
      expect(turn - Math.min(...sent.map((c) => c.realTime)), name).toBeGreaterThanOrEqual(295_000);
      expect(turn - Math.min(...sent.map((c) => c.realTime)), name).toBeLessThanOrEqual(310_000);
    }

    // The waiting ones send nothing in the meantime (not even a read): poke them, see the operator hold them
    // for their slot (its debug log), then count.
    const held = (name: string) => e2e.operator.logs().split('\n').filter((l) => l.includes('"msg":"waiting for the reserved budget slot"') && l.includes(`/${name}"`)).length;
    const before = new Map(waiting.map((w) => [w.name, held(w.name)]));
    for (const { name } of waiting) await e2e.kubectl(['annotate', 'pte', name, '--overwrite', `e2e.ptoperator.io/poke=${Date.now()}`]);
    await eventually(
      async () => {
        for (const { name } of waiting) if (held(name) <= (before.get(name) ?? 0)) throw new Error(`${name} not looked at again yet`);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(await updates()).toHaveLength(2);
  });
});
