// The workspace holds as many serving endpoints as Databricks allows (the emulator's limits.endpointsPerWorkspace,
// here 1): a create is refused with the quota's error. The user's fix is outside the object: delete an endpoint the
// workspace no longer needs. Before, the refusal was taken for an invalid spec (InvalidSpec) and never tried again
// until someone set ptoperator.io/requested-at; now it is QuotaExceeded (Stalled) and tried again at each poll.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { type E2E, type OperatorProcess, condition, endpointManifest, isReady, startE2E } from './harness.js';

let e2e: E2E & { startOperator(): OperatorProcess };

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-quota', scenario: { limits: { endpointsPerWorkspace: 1 } }, operatorArgs: ['--poll-interval=5s'] });
});

afterAll(async () => {
  await e2e?.stop();
});

// Each attempt (a retry too) starts from an empty workspace: the quota is 1.
beforeEach(async () => {
  await e2e.kubectl(['delete', 'pte', '--all', '--wait=true', '--timeout=60s']);
});

describe("the workspace's quota of serving endpoints", () => {

  it('a create refused by the quota says so, and goes out by itself once an endpoint is deleted to make room', async () => {
    await e2e.apply(endpointManifest('first'));
    await e2e.waitUntil('pte', 'first', isReady, 60_000);

    await e2e.apply(endpointManifest('second'));
    const refused = await e2e.waitUntil('pte', 'second', (o) => condition(o, 'Synced')?.reason === 'QuotaExceeded', 30_000);
    expect(condition(refused, 'Synced')?.message).toMatch(/Delete serving endpoints the workspace no longer needs/);
    expect(condition(refused, 'Stalled')).toMatchObject({ status: 'True', reason: 'QuotaExceeded' });
    expect(condition(refused, 'Ready')).toMatchObject({ status: 'False', reason: 'QuotaExceeded' });
    // tried again at each poll, refused each time: the operator does not give up on it
    await eventually(
      async () => {
        const sent = await creates('second');
        if (sent.length < 2) throw new Error(`${sent.length} create(s) of second so far`);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );

    // room is made: the create goes out at the next poll, with no annotation and no restart
    await e2e.kubectl(['delete', 'pte', 'first', '--wait=true', '--timeout=60s']);
    const ready = await e2e.waitUntil('pte', 'second', isReady, 60_000);
    expect(condition(ready, 'Stalled')).toBeUndefined();
    expect((await creates('second')).filter((c) => c.status === 200)).toHaveLength(1);
  });

  // Each try is a create charged to the host's create/update budget, shared by every endpoint on the host: objects
  // over the quota must not spend it on creates bound to be refused. One create at a time probes the full workspace.
  it('several objects over the quota: one create per poll interval probes the workspace, not one per object', async () => {
    await e2e.apply(endpointManifest('holder'));
    await e2e.waitUntil('pte', 'holder', isReady, 60_000);
    const waiting = ['over-1', 'over-2', 'over-3'];
    await e2e.apply(waiting.map((name) => endpointManifest(name)));
    for (const name of waiting) await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'QuotaExceeded', 30_000);
    const sentBefore = (await Promise.all(waiting.map(creates))).flat().length;
    const started = Date.now();
    // six poll intervals of 5 s
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    const tries = (await Promise.all(waiting.map(creates))).flat().length - sentBefore;
    const intervals = (Date.now() - started) / 5_000;
    // it keeps trying, one per interval at most (and one for a probe whose interval began just before): three
    // objects make one try per interval, not three (18 in 30 s before)
    expect(tries).toBeGreaterThanOrEqual(2);
    expect(tries).toBeLessThanOrEqual(Math.ceil(intervals) + 1);
    for (const name of waiting) expect(condition(await get(name), 'Synced')?.reason).toBe('QuotaExceeded');

    // room is made: every waiting object goes at its next look, one of them gets the place
    await e2e.kubectl(['delete', 'pte', 'holder', '--wait=true', '--timeout=60s']);
    await eventually(
      async () => {
        const ready = (await Promise.all(waiting.map((name) => get(name)))).filter(isReady);
        if (ready.length !== 1) throw new Error(`${ready.length} of the waiting objects Ready`);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });
});

describe("the workspace's quota of serving endpoints across a restart", () => {

  // Every object Synced=False is looked at right after a start: the objects the quota refused must not each send a
  // create bound to be refused (charged to the budget every endpoint on the host shares) after every restart.
  it('a restart with several objects over the quota: one create probes the workspace, not one per object', async () => {
    await e2e.apply(endpointManifest('holder'));
    await e2e.waitUntil('pte', 'holder', isReady, 60_000);
    const waiting = ['over-1', 'over-2', 'over-3'];
    await e2e.apply(waiting.map((name) => endpointManifest(name)));
    for (const name of waiting) await e2e.waitUntil('pte', name, (o) => condition(o, 'Synced')?.reason === 'QuotaExceeded', 30_000);

    await e2e.operator.stop('SIGTERM');
    const sentBefore = (await Promise.all(waiting.map(creates))).flat().length;
    const restarted = e2e.startOperator();
    // Each waiting object's first look after the start has decided: a create sent (and refused), or a wait for the probe.
    const decided = (name: string) =>
      restarted
        .logs()
        .split('\n')
        .some((line) => line.includes(`"key":"${e2e.namespace}/${name}"`) && (line.includes('Databricks action failed') || line.includes("another object's create probes it")));
    await eventually(
      async () => {
        const pending = waiting.filter((name) => !decided(name));
        if (pending.length > 0) throw new Error(`not decided yet: ${pending.join(', ')}`);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const sentAfter = (await Promise.all(waiting.map(creates))).flat().length - sentBefore;
    expect(sentAfter).toBe(1);
    for (const name of waiting) expect(condition(await get(name), 'Synced')?.reason).toBe('QuotaExceeded');
  });
});

async function get(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await e2e.kubectl(['get', 'pte', name, '-o', 'json'])) as Record<string, unknown>;
}

async function creates(name: string): Promise<{ status: number }[]> {
  return (await e2e.mutations(name)).filter((c) => c.operation === 'create');
}

