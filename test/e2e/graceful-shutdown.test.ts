// A rolling update or a node drain sends the leader SIGTERM while it works. Day-2 contract (docs/upgrade.md): the
// reconciles in flight finish, their status and Events are written, the Lease is handed back, and the process exits
// 0; the next replica resumes from status. Here three creates are held 3 s by the emulator when SIGTERM arrives.
import { describe, expect, it, onTestFinished } from 'vitest';
import { eventually } from '../support/cluster.js';
import { condition, endpointManifest, leaderReplicas, startE2E } from './harness.js';

const NAMES = ['drain-0', 'drain-1', 'drain-2'];
const CREATE_HELD_MS = 3_000;

describe('graceful shutdown of the real operator', () => {
  it('SIGTERM while creates and their status writes are in flight: all written, the Lease released, exit code 0; the successor sends no second create', async () => {
    // A namespace, emulator and Lease of this attempt's own: a retry must not meet the first attempt's leader.
    const e2e = await startE2E({ prefix: 'e2e-drain', startOperator: false });
    onTestFinished(() => e2e.emulator.close());
    const { replica, lease } = leaderReplicas(e2e, { prefix: 'pt-e2e-drain', args: ['--shutdown-timeout=20s'] });

    const leader = replica('leader');
    await eventually(
      async () => {
        if ((await lease()).spec?.holderIdentity !== 'leader') throw new Error('the leader does not hold the Lease yet');
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    e2e.emulator.emulator.addFault({ type: 'latency', ms: CREATE_HELD_MS, times: NAMES.length, match: { method: 'POST', path: '/api/2.0/serving-endpoints' } });
    await e2e.apply(NAMES.map((name) => endpointManifest(name)));
    // Every create has been sent (the log line comes right before the call) and none answered yet.
    await eventually(
      async () => {
        const acting = leader.logs().split('\n').filter((line) => line.includes('"msg":"acting on Databricks"')).length;
        if (acting < NAMES.length) throw new Error(`${acting} creates sent so far`);
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    expect(e2e.emulator.emulator.calls.query().filter((c) => c.operation === 'create')).toHaveLength(0);

    await leader.stop('SIGTERM');
    expect(leader.exitCode, leader.logs().split('\n').slice(-5).join('\n')).toBe(0);
    const log = leader.logs();
    expect(log).toContain('"msg":"released the lease"');
    expect(log).not.toContain('reconciles still running after the drain bound');
    // Nothing the drained reconciles learned was lost: each create's answer is in status, written before the exit.
    expect((await lease()).spec?.holderIdentity ?? '').toBe('');
    for (const name of NAMES) {
      const obj = await e2e.get<Record<string, unknown>>('pte', name);
      const status = obj?.['status'] as { endpointId?: string } | undefined;
      expect(status?.endpointId, `${name}: status.endpointId`).toBeTruthy();
      expect(condition(obj, 'Ready')?.reason, `${name}: Ready`).toBe('Creating');
    }
    const events = await e2e.kubectl(['get', 'events', '-o', 'jsonpath={range .items[*]}{.reason}/{.involvedObject.name}{"\\n"}{end}']);
    for (const name of NAMES) expect(events, `the CreatingEndpoint Event of ${name}`).toContain(`CreatingEndpoint/${name}`);

    // The successor resumes from status: every endpoint Ready, with the one create each.
    replica('successor');
    for (const name of NAMES) await e2e.kubectl(['wait', `pte/${name}`, '--for=condition=Ready', '--timeout=90s']);
    const creates = e2e.emulator.emulator.calls.query().filter((c) => c.operation === 'create');
    expect(creates.map((c) => c.endpoint).sort()).toEqual(NAMES);
  });
});
