// The workspace holds as many serving endpoints as Databricks allows (the emulator's limits.endpointsPerWorkspace,
// here 1): a create is refused with the quota's error. The user's fix is outside the object: delete an endpoint the
// workspace no longer needs. Before, the refusal was taken for an invalid spec (InvalidSpec) and never tried again
// until someone set ptoperator.io/requested-at; now it is QuotaExceeded (Stalled) and tried again at each poll.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { type E2E, condition, endpointManifest, isReady, startE2E } from './harness.js';

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ prefix: 'e2e-quota', scenario: { limits: { endpointsPerWorkspace: 1 } }, operatorArgs: ['--poll-interval=5s'] });
});

afterAll(async () => {
  await e2e?.stop();
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
});

async function creates(name: string): Promise<{ status: number }[]> {
  return (await e2e.mutations(name)).filter((c) => c.operation === 'create');
}

