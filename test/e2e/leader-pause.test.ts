// Issue 11, finding 10: leader election when the kube-apiserver stops answering. The API server is frozen
// with SIGSTOP (its sockets stay open, so requests hang instead of failing) while two replicas run with
// --leader-elect. Each replica talks to its own emulator, so the emulators' call logs say which replica sent
// each Databricks mutation. Rules: the leader gives up within the renew deadline (10 s) even though its
// renew request never returns, aborts what it is doing and exits; the standby acts only after that; never
// two acting.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CallRecord, MUTATING_OPERATIONS } from '../../src/emulator/call-log.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { applyOk, cluster, ensureNamespace, eventually, uniqueNamespace } from '../support/cluster.js';
import { endpointManifest, type OperatorProcess, startOperator } from './harness.js';

const RENEW_DEADLINE_MS = 10_000; // the LeaderElector's default
const LEASE_DURATION_MS = 15_000;
/** Aborted reconciles get this long to unwind (the controller's abort grace) before the process is gone. */
const ABORT_SLACK_MS = 3_000;

// Per attempt (set in beforeEach): a retry must not meet the first attempt's objects, Lease or processes.
let namespace: string;
let leaseId: string;
let emulators: RunningEmulator[];
let replicas: OperatorProcess[];
let apiserverStopped = false;

const mutations = (e: RunningEmulator): CallRecord[] => e.emulator.calls.query().filter((c) => MUTATING_OPERATIONS.has(c.operation));

function replica(name: string, emulator: RunningEmulator): OperatorProcess {
  const process = startOperator({
    namespace,
    emulatorUrl: emulator.url,
    name: `${namespace}-${name}`,
    // A long call deadline: a create keeps retrying the emulator's 503s in the client, without touching the
    // API server, for as long as nobody aborts it.
    args: ['--leader-elect=true', `--leader-election-namespace=${cluster().operatorNamespace}`, `--leader-election-id=${leaseId}`, '--databricks-timeout=120s'],
    env: { POD_NAME: name },
  });
  replicas.push(process);
  return process;
}

// Each attempt (a retry too) starts from a namespace, emulator and operator of its own: vitest re-runs only the body.
beforeEach(async () => {
  namespace = uniqueNamespace('e2e-leader-pause');
  leaseId = `pt-e2e-pause-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  emulators = [];
  replicas = [];
  await ensureNamespace(namespace);
  for (let i = 0; i < 2; i++) {
    const emulator = await startEmulator({ speed: 120 });
    // Every create is answered 503 (retried by the client), so a replica that acts sends mutations all along.
    emulator.emulator.addFault({ type: 'unavailable', match: { method: 'POST', path: '/api/2.0/serving-endpoints' } });
    emulators.push(emulator);
  }
  await applyOk([0, 1, 2].map((i) => endpointManifest(`pause-${i}`)), { namespace });
});

afterEach(async () => {
  if (apiserverStopped) process.kill(cluster().apiserverPid, 'SIGCONT');
  await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
  await Promise.all(emulators.map((e) => e.close()));
});

describe('leader election with a frozen kube-apiserver (SIGSTOP, then SIGCONT)', () => {
  it('the leader stops acting and exits within the renew deadline; the standby acts only afterwards', async () => {
    const [emulatorA, emulatorB] = emulators as [RunningEmulator, RunningEmulator];
    const a = replica('replica-a', emulatorA);
    await eventually(
      async () => {
        if (mutations(emulatorA).length === 0) throw new Error('replica-a has not acted yet');
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    const b = replica('replica-b', emulatorB);
    await eventually(
      async () => {
        if (!b.logs().includes('"msg":"caches synced"')) throw new Error('replica-b is not a warm standby yet');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(mutations(emulatorB)).toHaveLength(0);

    const stoppedAt = Date.now();
    process.kill(cluster().apiserverPid, 'SIGSTOP');
    apiserverStopped = true;
    let exitedWhileFrozen: boolean;
    try {
      // While frozen: the leader must have given up and exited within the renew deadline (plus unwinding).
      exitedWhileFrozen = await eventually(
        async () => {
          if (!a.exited) throw new Error('replica-a still runs');
          return true;
        },
        { timeoutMs: RENEW_DEADLINE_MS + ABORT_SLACK_MS + 2_000, intervalMs: 100 },
      ).catch(() => false);
      // Stay frozen past the lease duration, so the standby may take the lease as soon as it can read it.
      const frozenFor = LEASE_DURATION_MS + 2_000 - (Date.now() - stoppedAt);
      if (frozenFor > 0) await new Promise((wake) => setTimeout(wake, frozenFor));
    } finally {
      process.kill(cluster().apiserverPid, 'SIGCONT');
      apiserverStopped = false;
    }
    const resumedAt = Date.now();
    const lateA = mutations(emulatorA).filter((c) => c.realTime > stoppedAt + RENEW_DEADLINE_MS + ABORT_SLACK_MS);
    // Before the fix: the renew hung with the API server, replica-a kept leading (and acting) through the freeze.
    expect(exitedWhileFrozen, a.logs().slice(-2_000)).toBe(true);
    expect(a.logs()).toContain('leadership lost');
    expect(lateA).toEqual([]);

    await eventually(
      async () => {
        if (mutations(emulatorB).length === 0) throw new Error('replica-b has not taken over yet');
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    const fromA = mutations(emulatorA);
    const fromB = mutations(emulatorB);
    const lastA = Math.max(...fromA.map((c) => c.realTime));
    const firstB = Math.min(...fromB.map((c) => c.realTime));
    console.log(
      `leader-pause: replica-a mutations ${fromA.length} (after the renew deadline: ${lateA.length}), ` +
        `last ${lastA - stoppedAt} ms after SIGSTOP; replica-b mutations ${fromB.length}, first ${firstB - stoppedAt} ms after SIGSTOP ` +
        `(resumed at ${resumedAt - stoppedAt} ms); replica-a exited while frozen: ${exitedWhileFrozen}`,
    );

    expect(fromA.filter((c) => c.realTime > stoppedAt + RENEW_DEADLINE_MS + ABORT_SLACK_MS)).toEqual([]);
    expect(lastA).toBeLessThan(firstB);
    expect(firstB).toBeGreaterThanOrEqual(resumedAt);
  });
});
