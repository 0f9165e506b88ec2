// A process paused (SIGSTOP, a frozen VM) past its lease runs its due timers on resume before its renew loop
// notices: a call that was waiting for its budget slot then goes out at once. The client asks `mayMutate` right
// before a request that changes something leaves, and sends none once it says no.
import { describe, expect, it } from 'vitest';
import { DatabricksClient } from '../../../src/databricks/client.js';
import { RateBudgetRegistry } from '../../../src/databricks/rate-budget.js';
import { HttpTransport, type HttpRequest, type HttpResponse } from '../../../src/databricks/transport.js';
import { FakeClock } from './fake-clock.js';

const HOST = 'https://adb-1.azuredatabricks.net';

/** Records every request and answers each with an empty success. */
class RecordingTransport extends HttpTransport {
  readonly sent: HttpRequest[] = [];
  override async send(_origin: string, req: HttpRequest): Promise<HttpResponse> {
    this.sent.push(req);
    return { status: 200, headers: {}, bodyText: '{}' };
  }
}

function fencedClient(mayMutate: () => boolean) {
  const clock = new FakeClock();
  const transport = new RecordingTransport();
  // one create/update a second: the second call waits for its slot, as a reconcile does for up to 2 s
  const budgets = new RateBudgetRegistry(clock, undefined, { mutationsPerWindow: 1, mutationWindowMs: 1_000 });
  // (an options object, not a literal: the client of before the fence took it too, and ignored mayMutate)
  const options = { host: HOST, auth: { type: 'pat' as const, token: 'dapi-secret' }, transport, clock, budgets, mayMutate };
  return { clock, transport, client: new DatabricksClient(options) };
}

const mutations = (sent: HttpRequest[]) => sent.filter((r) => r.method !== 'GET');

describe('a mutation fenced by mayMutate (a replica whose lease ran out)', () => {
  it('a tag patch waiting for nothing is not sent once mayMutate says no; reads still go out', async () => {
    let leading = false;
    const { transport, client } = fencedClient(() => leading);
    await expect(client.patchTags('llama-chat', { add_tags: [{ key: 'team', value: 'genai' }] })).rejects.toThrow(/not sent/);
    await client.getEndpoint('llama-chat').catch(() => undefined);
    expect(transport.sent.map((r) => r.method)).toEqual(['GET']);
    leading = true;
    await client.patchTags('llama-chat', { add_tags: [{ key: 'team', value: 'genai' }] });
    expect(mutations(transport.sent)).toHaveLength(1);
  });

  it('a config update that waited for its budget slot while the lease ran out is not sent after the wait', async () => {
    let leading = true;
    const { clock, transport, client } = fencedClient(() => leading);
    const config = { served_entities: [{ entity_name: 'main.default.llama', entity_version: '3', min_provisioned_throughput: 0, max_provisioned_throughput: 100 }] };
    await client.updateConfig('first', config).catch(() => undefined);
    expect(mutations(transport.sent)).toHaveLength(1);
    const second = client.updateConfig('second', config, { maxBudgetWaitMs: 2_000 }).then(
      () => 'sent',
      (err: unknown) => (err as Error).message,
    );
    await clock.advance(500);
    expect(mutations(transport.sent)).toHaveLength(1); // waiting for its slot
    // the process is paused past its lease while the call waits; on resume the slot is due at once
    leading = false;
    await clock.advance(2_000);
    expect(await second).toMatch(/not sent/);
    expect(mutations(transport.sent).map((r) => r.path)).toEqual(['/api/2.0/serving-endpoints/first/config']);
  });

  it.each([
    ['createEndpoint', (c: DatabricksClient) => c.createEndpoint({ name: 'e', config: { served_entities: [] } } as never)],
    ['deleteEndpoint', (c: DatabricksClient) => c.deleteEndpoint('e')],
    ['setPermissions', (c: DatabricksClient) => c.setPermissions('id-1', { access_control_list: [] })],
    ['putAiGateway', (c: DatabricksClient) => c.putAiGateway('e', {})],
    ['updateNotifications', (c: DatabricksClient) => c.updateNotifications('e', { email_notifications: {} } as never)],
  ])('%s is fenced too', async (_name, call) => {
    const { transport, client } = fencedClient(() => false);
    await expect(call(client)).rejects.toThrow(/not sent/);
    expect(mutations(transport.sent)).toEqual([]);
  });
});
