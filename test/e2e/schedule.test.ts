// Throughput schedules end to end: two windows a few seconds apart move the throughput up and down,
// ahead of each window's start by the lead time, with exactly one config update per change. The
// emulator runs at speed 1 (its clock is the operator's clock) with 2-second rollouts, so windows
// of cron expressions with seconds happen in real time. The tests mostly wait for windows to open and close, so they
// run at once, each on a namespace, emulator and operator of its own.
import { describe, expect, it, type OnTestFinishedHandler } from 'vitest';
import { MUTATING_OPERATIONS } from '../../src/emulator/call-log.js';
import { eventually } from '../support/cluster.js';
import { condition, type E2E, emulatorCalls, endpointManifest, isReady, type OperatorProcess, startE2E } from './harness.js';

type Environment = E2E & { startOperator(extraArgs?: string[]): OperatorProcess };

/** A cron expression (seconds first, UTC) for one moment of the day. */
const cronAt = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} * * *`;
};

const served = (obj: Record<string, unknown>) => (obj['status'] as { served?: { maxTokensPerSecond?: number } } | undefined)?.served?.maxTokensPerSecond;
const schedule = (obj: Record<string, unknown>) => (obj['status'] as { schedule?: { throughput?: string; nextWindow?: string } } | undefined)?.schedule;
const window = (obj: Record<string, unknown>) => (obj['status'] as { schedule?: { activeWindow?: string } } | undefined)?.schedule?.activeWindow;

// Each test, and a retry of it (vitest re-runs only the body), starts from a namespace, emulator and operator of its
// own, stopped when the attempt ends; the tests run at once, so each keeps its environment in its own body.
async function environment(onTestFinished: (fn: OnTestFinishedHandler) => void): Promise<Environment & { calls(endpoint: string): ReturnType<typeof emulatorCalls> }> {
  const e2e = await startE2E({ prefix: 'e2e-schedule', speed: 1, scenario: { timing: { rolloutSeconds: 2 } } });
  onTestFinished(() => e2e.stop());
  return Object.assign(e2e, { calls: (endpoint: string) => emulatorCalls(e2e.emulator.url, { endpoint }) });
}

describe.concurrent('throughput schedule', () => {
  it('moves the throughput up and down across two windows, lead time ahead, one update per change', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    // The operator is up and the endpoint Ready before the windows are set, so they start on time even
    // when the machine is busy.
    await e2e.apply(endpointManifest('sched-llama', { throughput: { chunks: { min: 1, max: 1 } } }));
    await e2e.waitUntil('pte', 'sched-llama', (o) => isReady(o) && served(o) === 980, 60_000);

    const t0 = Math.ceil(Date.now() / 1000) * 1000 + 5_000;
    // Each window long enough to see it in status (and `kubectl get -o wide`) before it closes; the batch's lead time
    // begins 6 s after the peak closed, so the test sees the peak's down (a 2 s rollout) before the batch's up.
    const peak = { start: t0 + 15_000, end: t0 + 25_000 };
    const batch = { start: t0 + 37_000, end: t0 + 45_000 };
    const LEAD_MS = 6_000;
    await e2e.kubectl([
      'patch',
      'pte',
      'sched-llama',
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: {
          schedule: {
            timeZone: 'UTC',
            leadTime: '6s',
            windows: [
              { name: 'peak', start: cronAt(peak.start), end: cronAt(peak.end), throughput: { chunks: { min: 3, max: 3 } } },
              { name: 'batch', start: cronAt(batch.start), end: cronAt(batch.end), throughput: { chunks: { min: 2, max: 2 } } },
            ],
          },
        },
      }),
    ]);
    const first = await e2e.waitUntil('pte', 'sched-llama', (o) => (o['status'] as { schedule?: unknown }).schedule !== undefined, 30_000);
    expect((first['status'] as { schedule?: unknown }).schedule).toEqual({
      throughput: 'chunks 1-1',
      nextChangeTime: new Date(peak.start - LEAD_MS).toISOString().replace('.000', ''),
      nextWindow: 'peak',
    });

    // Up for the peak, ahead of its start; `kubectl get -o wide` names the window and the next change.
    const inPeak = await e2e.waitUntil('pte', 'sched-llama', (o) => isReady(o) && window(o) === 'peak' && served(o) === 2940, 60_000);
    const wide = await e2e.kubectl(['get', 'pte', 'sched-llama', '-o', 'wide']);
    expect(wide).toMatch(/WINDOW\s+NEXT-CHANGE/);
    expect(wide).toMatch(new RegExp(`peak\\s+${new Date(peak.end).toISOString().replace('.000', '')}`));
    expect((inPeak['status'] as { schedule?: { nextWindow?: string } }).schedule?.nextWindow).toBe('(default)');

    // Down when the peak closes, up for the batch window, down again.
    await e2e.waitUntil('pte', 'sched-llama', (o) => isReady(o) && window(o) === undefined && served(o) === 980 && Date.now() >= peak.end, 60_000);
    await e2e.waitUntil('pte', 'sched-llama', (o) => isReady(o) && window(o) === 'batch' && served(o) === 1960, 60_000);
    await e2e.waitUntil('pte', 'sched-llama', (o) => isReady(o) && window(o) === undefined && served(o) === 980 && Date.now() >= batch.end, 60_000);

    const updates = (await e2e.calls('sched-llama')).filter((c) => c.operation === 'updateConfig');
    expect(updates.map((u) => u.status)).toEqual([200, 200, 200, 200]);
    const [up, down, up2, down2] = updates.map((u) => u.realTime) as [number, number, number, number];
    // Each change at its time: ups after the lead time began and before the window starts; downs once it closed.
    expect(up).toBeGreaterThanOrEqual(peak.start - LEAD_MS);
    expect(up).toBeLessThan(peak.start);
    expect(down).toBeGreaterThanOrEqual(peak.end);
    expect(up2).toBeGreaterThanOrEqual(batch.start - LEAD_MS);
    expect(up2).toBeLessThan(batch.start);
    expect(down2).toBeGreaterThanOrEqual(batch.end);
    expect((await e2e.calls('sched-llama')).filter((c) => c.operation === 'create')).toHaveLength(1);
  });

  // A second rise within the lead time of a first was sent only when the first was due: 'high' reached Databricks
  // at 'mid''s start, 10 s before its own instead of 20.
  it('two rises within one lead time: each is sent its own lead time early', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    await e2e.apply(endpointManifest('sched-rises', { throughput: { chunks: { min: 1, max: 1 } } }));
    await e2e.waitUntil('pte', 'sched-rises', (o) => isReady(o) && served(o) === 980, 60_000);

    const t0 = Math.ceil(Date.now() / 1000) * 1000 + 5_000;
    const LEAD_MS = 20_000;
    const mid = { start: t0 + 30_000, end: t0 + 60_000 };
    const high = { start: t0 + 40_000, end: t0 + 50_000 };
    const windows = [
      { name: 'high', start: cronAt(high.start), end: cronAt(high.end), throughput: { chunks: { min: 3, max: 3 } } },
      { name: 'mid', start: cronAt(mid.start), end: cronAt(mid.end), throughput: { chunks: { min: 2, max: 2 } } },
    ];
    await e2e.kubectl(['patch', 'pte', 'sched-rises', '--type=merge', '-p', JSON.stringify({ spec: { schedule: { timeZone: 'UTC', leadTime: '20s', windows } } })]);

    await e2e.waitUntil('pte', 'sched-rises', (o) => isReady(o) && window(o) === 'high' && served(o) === 2940, 90_000);
    await e2e.waitUntil('pte', 'sched-rises', (o) => isReady(o) && window(o) === undefined && served(o) === 980 && Date.now() >= mid.end, 90_000);
    const updates = (await e2e.calls('sched-rises')).filter((c) => c.operation === 'updateConfig');
    expect(updates.map((u) => u.status)).toEqual([200, 200, 200, 200]);
    const [up, up2, down, down2] = updates.map((u) => u.realTime) as [number, number, number, number];
    expect(up).toBeGreaterThanOrEqual(mid.start - LEAD_MS);
    expect(up2).toBeGreaterThanOrEqual(high.start - LEAD_MS);
    expect(up2).toBeLessThan(mid.start); // high is not held back until mid is due
    expect(down).toBeGreaterThanOrEqual(high.end); // back to mid when high closes
    expect(down2).toBeGreaterThanOrEqual(mid.end);
  });

  // A window that opened while ptoperator.io/paused was set was recorded as served, so removing the pause sent it as
  // drift: a DriftDetected Warning ("Databricks serves a config that differs from the spec") that sends a FinOps user
  // looking for an out-of-band edit nobody made.
  it('a window that opens while paused is sent when the pause ends: one update, as the window, not as drift', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    // The window is set once the endpoint is Ready, so the slow part (create, rollout) is not in the time it leaves
    // to see the schedule and pause before it opens.
    await e2e.apply(endpointManifest('sched-paused', { throughput: { chunks: { min: 1, max: 1 } } }));
    await e2e.waitUntil('pte', 'sched-paused', (o) => isReady(o) && served(o) === 980, 60_000);
    const opens = Math.ceil(Date.now() / 1000) * 1000 + 20_000;
    const windows = [{ name: 'peak', start: cronAt(opens), end: cronAt(opens + 30 * 60_000), throughput: { chunks: { min: 2, max: 2 } } }];
    await e2e.kubectl(['patch', 'pte', 'sched-paused', '--type=merge', '-p', JSON.stringify({ spec: { schedule: { timeZone: 'UTC', windows } } })]);
    await e2e.waitUntil('pte', 'sched-paused', (o) => isReady(o) && served(o) === 980 && schedule(o)?.nextWindow === 'peak', 30_000);
    await e2e.kubectl(['annotate', 'pte', 'sched-paused', 'ptoperator.io/paused=true']);
    await e2e.waitUntil('pte', 'sched-paused', (o) => condition(o, 'Synced')?.reason === 'ReconcilePaused', 30_000);
    expect(Date.now()).toBeLessThan(opens); // paused before the window opens
    const pausedAt = Math.max(0, ...(await e2e.calls('sched-paused')).map((c) => c.seq));

    // The window opens while paused (the paused object looks at the change, status says what the schedule asks for).
    await e2e.waitUntil('pte', 'sched-paused', (o) => schedule(o)?.throughput === 'chunks 2-2', 60_000);
    expect((await e2e.calls('sched-paused')).filter((c) => c.seq > pausedAt)).toEqual([]);

    await e2e.kubectl(['annotate', 'pte', 'sched-paused', 'ptoperator.io/paused-']);
    const resumed = await e2e.waitUntil('pte', 'sched-paused', (o) => isReady(o) && served(o) === 1960, 60_000);
    expect(window(resumed)).toBe('peak');
    const updates = (await e2e.calls('sched-paused')).filter((c) => c.seq > pausedAt && c.operation === 'updateConfig');
    expect(updates).toHaveLength(1);
    const described = await e2e.kubectl(['describe', 'pte', 'sched-paused']);
    expect(described).toMatch(/Normal\s+UpdatingConfig\s+/);
    expect(described).not.toMatch(/DriftDetected/);
  });

  it('a window throughput the model cannot take is InvalidSpec when the spec is applied, not when the window opens; nothing is sent', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    await e2e.apply(endpointManifest('sched-invalid', { throughput: { chunks: { min: 1, max: 1 } } }));
    await e2e.waitUntil('pte', 'sched-invalid', (o) => isReady(o) && served(o) === 980, 60_000);
    const seenBefore = Math.max(0, ...(await e2e.calls('sched-invalid')).map((c) => c.seq));

    // Opens in 10 minutes: long after the test has its answer.
    const opens = Date.now() + 10 * 60_000;
    const windows = [{ name: 'later', start: cronAt(opens), end: cronAt(opens + 10 * 60_000), throughput: { tokensPerSecond: { min: 0, max: 1234 } } }];
    await e2e.kubectl(['patch', 'pte', 'sched-invalid', '--type=merge', '-p', JSON.stringify({ spec: { schedule: { timeZone: 'UTC', windows } } })]);

    const refused = await e2e.waitUntil('pte', 'sched-invalid', (o) => condition(o, 'Synced')?.reason === 'InvalidSpec', 30_000);
    expect(condition(refused, 'Synced')).toMatchObject({
      status: 'False',
      message: expect.stringMatching(/^schedule window "later": schedule\.windows\[0\]\.throughput\.tokensPerSecond\.max 1234 is not a multiple of the model's chunk size 980 tokens\/s/),
    });
    expect(served(refused)).toBe(980); // the served config stays
    const mutations = (await e2e.calls('sched-invalid')).filter((c) => c.seq > seenBefore && MUTATING_OPERATIONS.has(c.operation));
    expect(mutations).toEqual([]);
  });
  // The old version of a canary follows the schedule; status.canary.from kept its throughput of when the canary
  // started, and removing spec.schedule then sent the old version back up to the window's throughput at night.
  it('a canary started in a window: once it closes status.canary.from reads the old version as it serves, and removing the schedule sends nothing', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    const model = 'main.default.support_bot_llama';
    // Created in a window that opened an hour ago and lasts another hour; its end is brought near only with the new
    // version, so the slow part (create, rollout) is not in the time it leaves to start the canary in the window.
    const opened = Math.ceil(Date.now() / 1000) * 1000 - 3_600_000;
    const peak = (end: number) => [{ name: 'peak', start: cronAt(opened), end: cronAt(end), throughput: { chunks: { min: 2, max: 2 } } }];
    const from = (o: Record<string, unknown>) => (o['status'] as { canary?: { from?: { maxTokensPerSecond?: number } } }).canary?.from?.maxTokensPerSecond;
    const canary = (o: Record<string, unknown>) => (o['status'] as { canary?: { phase?: string; versions?: { throughput: string }[] } }).canary;
    await e2e.apply(
      endpointManifest('sched-canary', { model: { name: model, version: '2' }, throughput: { chunks: { min: 1, max: 1 } }, schedule: { timeZone: 'UTC', windows: peak(opened + 2 * 3_600_000) }, canary: { steps: [50], pause: '10m' } }),
    );
    await e2e.waitUntil('pte', 'sched-canary', (o) => isReady(o) && served(o) === 1960 && window(o) === 'peak', 60_000);
    const closes = Math.ceil(Date.now() / 1000) * 1000 + 25_000; // time to start the canary in the window
    await e2e.kubectl(['patch', 'pte', 'sched-canary', '--type=merge', '-p', JSON.stringify({ spec: { model: { name: model, version: '3' }, schedule: { timeZone: 'UTC', windows: peak(closes) } } })]);
    const started = await e2e.waitUntil('pte', 'sched-canary', (o) => canary(o)?.phase === 'Paused', 60_000);
    expect(Date.now()).toBeLessThan(closes); // the canary started in the window
    expect(from(started)).toBe(1960);

    // The window closes: both versions go to the night's chunk, and status says the old version serves so.
    const night = await e2e.waitUntil('pte', 'sched-canary', (o) => canary(o)?.phase === 'Paused' && window(o) === undefined && canary(o)?.versions?.every((v) => v.throughput === '980-980 tokens/s') === true, 90_000);
    expect(from(night)).toBe(980);

    const before = Math.max(0, ...(await e2e.calls('sched-canary')).map((c) => c.seq));
    await e2e.kubectl(['patch', 'pte', 'sched-canary', '--type=merge', '-p', JSON.stringify({ spec: { schedule: null } })]);
    await e2e.waitUntil('pte', 'sched-canary', (o) => schedule(o) === undefined, 30_000);
    await e2e.reconciledAgain('sched-canary');
    expect((await e2e.calls('sched-canary')).filter((c) => c.seq > before && MUTATING_OPERATIONS.has(c.operation))).toEqual([]);
    expect(canary((await e2e.get('pte', 'sched-canary'))!)?.phase).toBe('Paused');
  });

  it('an operator stopped before a window opens and started after it opened sends the window once, at start-up', async ({ onTestFinished }) => {
    const e2e = await environment(onTestFinished);
    // The window is set once the endpoint is Ready, so the slow part (create, rollout) is not in the time it leaves
    // to see the schedule and stop the operator (a graceful shutdown of up to 5 s) before it opens.
    await e2e.apply(endpointManifest('sched-restart', { throughput: { chunks: { min: 1, max: 1 } } }));
    await e2e.waitUntil('pte', 'sched-restart', (o) => isReady(o) && served(o) === 980, 60_000);
    const opens = Math.ceil(Date.now() / 1000) * 1000 + 20_000;
    const windows = [{ name: 'peak', start: cronAt(opens), end: cronAt(opens + 30 * 60_000), throughput: { chunks: { min: 2, max: 2 } } }];
    await e2e.kubectl(['patch', 'pte', 'sched-restart', '--type=merge', '-p', JSON.stringify({ spec: { schedule: { timeZone: 'UTC', windows } } })]);
    await e2e.waitUntil('pte', 'sched-restart', (o) => isReady(o) && served(o) === 980 && schedule(o)?.nextWindow === 'peak', 30_000);
    await e2e.operator.stop('SIGTERM');
    expect(Date.now()).toBeLessThan(opens);
    await eventually(
      async () => {
        if (Date.now() < opens + 1_000) throw new Error('the window has not opened yet');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const stoppedAt = Math.max(0, ...(await e2e.calls('sched-restart')).map((c) => c.seq));

    e2e.startOperator();
    const opened = await e2e.waitUntil('pte', 'sched-restart', (o) => isReady(o) && served(o) === 1960 && window(o) === 'peak', 60_000);
    expect(schedule(opened)).toMatchObject({ throughput: 'chunks 2-2', nextWindow: '(default)' });
    await e2e.reconciledAgain('sched-restart');
    const updates = (await e2e.calls('sched-restart')).filter((c) => c.seq > stoppedAt && c.operation === 'updateConfig');
    expect(updates.map((u) => u.status)).toEqual([200]);
    expect(await e2e.kubectl(['describe', 'pte', 'sched-restart'])).not.toMatch(/DriftDetected/);
  });
});
