// Transport-level behaviour of the client over real HTTP against a scripted local server.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabricksClient, DatabricksClientOptions } from '../../../src/databricks/client.js';
import { HttpTransport, operatorVersion } from '../../../src/databricks/transport.js';
import { drop, json, startLocalServer, type LocalServer } from './local-server.js';
import { PAT, failure, testClient } from './support.js';

const ENDPOINT = {
  name: 'llama-chat',
  id: '88fd3f75a0d24b0380ddc40484d7a31b',
  state: { ready: 'READY', config_update: 'NOT_UPDATING' },
};

/** V8's collector, for measuring the memory held (vitest does not start workers with --expose-gc). */
v8.setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

let server: LocalServer;
let transport: HttpTransport;

beforeAll(async () => {
  server = await startLocalServer();
  transport = new HttpTransport();
});
afterAll(async () => {
  await transport.close();
  await server.close();
});

const client = (options: Partial<DatabricksClientOptions> = {}): DatabricksClient => testClient(server.url, transport, options);


describe('requests', () => {
  it('sends the SDK headers, a pt-operator User-Agent and a JSON body only when there is one', async () => {
    server.script(json(200, ENDPOINT));
    await client().getEndpoint('llama-chat');
    await client().updateConfig('llama-chat', { served_entities: [{ entity_name: 'a.b.c', entity_version: '1' }] });
    const [get, put] = server.requests;
    expect(get?.headers['user-agent']).toMatch(new RegExp(`^pt-operator/${operatorVersion().replace(/\./g, '\\.')} node/24\\.`));
    expect(operatorVersion()).toBe('0.1.0');
    expect(get?.headers['accept']).toBe('application/json');
    expect(get?.headers['authorization']).toBe(`Bearer ${PAT}`);
    expect(get?.headers['content-type']).toBeUndefined();
    expect(put?.method).toBe('PUT');
    expect(put?.url).toBe('/api/2.0/serving-endpoints/llama-chat/config');
    expect(put?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(put?.body ?? '')).toEqual({ served_entities: [{ entity_name: 'a.b.c', entity_version: '1' }] });
  });

  it('reuses one keep-alive connection per workspace', async () => {
    server.script(json(200, ENDPOINT));
    const own = new HttpTransport();
    try {
      const a = client({ transport: own });
      const b = client({ transport: own, host: `${server.url.toUpperCase().replace('HTTP', 'http')}/` });
      for (let i = 0; i < 3; i++) {
        await a.getEndpoint('llama-chat');
        await b.getEndpoint('llama-chat');
      }
      // 6 sequential requests ride on kept-alive sockets (undici may alternate between two)
      expect(server.requests).toHaveLength(6);
      expect(new Set(server.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
      expect(own.origins).toEqual([server.url]);
    } finally {
      await own.close();
    }
  });

  it('puts a UC model name with its dots in one path segment and encodes each segment', async () => {
    server.script(json(200, { optimizable: true, model_type: 'llama', throughput_chunk_size: 980 }));
    const info = await client().getModelOptimizationInfo('system.ai.meta_llama_v3_1_8b_instruct', '3');
    expect(info).toEqual({ optimizable: true, model_type: 'llama', throughput_chunk_size: 980 });
    await client().getModelOptimizationInfo('main.my schema.model/x', '1');
    expect(server.requests.map((r) => r.url)).toEqual([
      '/api/2.0/serving-endpoints/get-model-optimization-info/system.ai.meta_llama_v3_1_8b_instruct/3',
      '/api/2.0/serving-endpoints/get-model-optimization-info/main.my%20schema.model%2Fx/1',
    ]);
  });

  it('refuses plain http:// for a host that is not loopback', () => {
    expect(() => client({ host: 'http://adb-1.azuredatabricks.net' })).toThrow(/only allowed for loopback/);
  });

  // A tenant's host may answer with a redirect to any address (the API server, another tenant's host): followed, the
  // request would go there with the tenant's Authorization, past --allowed-workspace-hosts.
  it('never follows a redirect: the other host sees no request, and the answer is an error without the credential', async () => {
    const elsewhere = await startLocalServer();
    try {
      server.script((req, res) => {
        res.writeHead(307, { location: `${elsewhere.url}${req.url}` });
        res.end(`moved; you sent ${req.headers.authorization ?? ''}`);
      });
      elsewhere.script(json(200, ENDPOINT));
      const err = await failure(client().getEndpoint('llama-chat'));
      expect(err.status).toBe(307);
      expect(elsewhere.requests).toHaveLength(0);
      expect(JSON.stringify({ m: err.message, j: err })).not.toContain(PAT);
    } finally {
      await elsewhere.close();
    }
  });
});

describe('responses that do not fit', () => {
  it('turns a 2xx body of the wrong shape into an InvalidResponse error, not a crash', async () => {
    server.script(json(200, { name: 42, state: 'weird' }, { 'x-request-id': 'rid-9' }));
    const err = await failure(client().getEndpoint('llama-chat'));
    expect(err.kind).toBe('InvalidResponse');
    expect(err.requestId).toBe('rid-9');
    expect(err.message).toMatch(/does not fit getEndpoint: name: .*; state: /);
    expect(server.requests).toHaveLength(1);
  });

  it('turns a non-JSON 2xx body into InvalidResponse', async () => {
    server.script(json(200, '<html>proxy login</html>'));
    expect((await failure(client().listEndpoints())).message).toMatch(/not JSON/);
  });

  it('reads a list element by element with the same answers and errors as a whole-body parse', async () => {
    const item = { ...ENDPOINT, id: 'e1', tags: [{ key: 'k', value: '"]},{' }], config: { served_entities: [] } };
    server.script(json(200, { endpoints: [item, { ...item, name: 'second', id: 'e2' }], next_page_token: '' }));
    // (the tags are kept, for ownership: one of them holds what would close the array and its object in raw JSON)
    expect(await client().listEndpoints()).toStrictEqual([
      { name: 'llama-chat', id: 'e1', state: ENDPOINT.state, tags: item.tags },
      { name: 'second', id: 'e2', state: ENDPOINT.state, tags: item.tags },
    ]);
    server.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"endpoints":[${JSON.stringify(item)},${JSON.stringify(item).slice(0, 40)}`);
    });
    expect((await failure(client().listEndpoints())).message).toMatch(/answered 200 with a body that does not fit listEndpoints: not JSON/);
    server.script(json(200, { endpoints: [item, { name: 7 }] }));
    expect((await failure(client().listEndpoints())).message).toMatch(/does not fit listEndpoints: endpoints\.1\.name: /);
  });

  // 2.6 million "{}" fit in the 8 MB cap: parsed and validated, they ran the operator out of memory (session 11)
  it('refuses a list of more than 100,000 endpoints as InvalidResponse, before parsing them', async () => {
    server.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"endpoints":[${Array.from({ length: 100_001 }, () => '{}').join(',')}]}`);
    });
    const error = await failure(client({ retryDeadlineMs: 1000 }).listEndpoints());
    expect(error).toMatchObject({ kind: 'InvalidResponse' });
    expect(error.message).toContain('more than 100000 elements in "endpoints"');
  });

  it('accepts unknown fields and unknown enum values', async () => {
    server.script(
      json(200, { ...ENDPOINT, brand_new: { x: 1 }, state: { ready: 'READY', config_update: 'UPDATE_PAUSED', suspend: 'NOT_SUSPENDED' } }),
    );
    const endpoint = await client().getEndpoint('llama-chat');
    expect(endpoint.state.config_update).toBe('UPDATE_PAUSED');
    expect(endpoint).not.toHaveProperty('brand_new');
  });
});

describe('retries', () => {
  it('waits for an HTTP-date Retry-After of a 429, then succeeds', async () => {
    const retryAt = new Date(Date.now() + 2000);
    server.script(json(429, { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' }, { 'retry-after': retryAt.toUTCString() }), json(200, ENDPOINT));
    const started = Date.now();
    await client().getEndpoint('llama-chat');
    // HTTP dates have 1 s resolution
    expect(Date.now() - started).toBeGreaterThanOrEqual(retryAt.getTime() - started - 1000);
    expect(server.requests).toHaveLength(2);
  });

  // A DELETE or a tag patch has no client budget to pause: the 429's Retry-After was then not waited at all, and a
  // host answering 429 to a DELETE got thousands of requests a second (session 11).
  it.each([
    ['a DELETE', (c: DatabricksClient) => c.deleteEndpoint('llama-chat')],
    ['a tag patch', (c: DatabricksClient) => c.patchTags('llama-chat', { add_tags: [{ key: 'team', value: 'genai' }] })],
  ])("waits for a 429's Retry-After on %s too", async (_, call) => {
    server.script(json(429, { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' }, { 'retry-after': '1' }), json(200, {}));
    const started = Date.now();
    await call(client());
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(server.requests).toHaveLength(2);
  });

  it('retries a 503 with backoff and gives up at the overall deadline with the last error', async () => {
    server.script(json(503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'busy' }, { 'x-databricks-request-id': 'dbx-7' }));
    const started = Date.now();
    const attempts: string[] = [];
    const retries: number[] = [];
    const metrics = {
      request: (e: { operation: string; status: number | undefined; outcome: string }) => attempts.push(`${e.operation} ${e.status} ${e.outcome}`),
      retry: (e: { delayMs: number }) => retries.push(e.delayMs),
    };
    const err = await failure(client({ retryDeadlineMs: 500, metrics }).getEndpoint('llama-chat'));
    expect(err.kind).toBe('Transient');
    expect(err.status).toBe(503);
    expect(err.requestId).toBe('dbx-7');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(server.requests.length).toBeGreaterThan(1);
    expect(attempts).toHaveLength(server.requests.length);
    expect(new Set(attempts)).toEqual(new Set(['getEndpoint 503 Transient']));
    expect(retries).toHaveLength(server.requests.length - 1);
  });

  it('does not retry a 500 on a create: it reads the endpoint by name instead', async () => {
    server.script(json(500, { error_code: 'INTERNAL_ERROR', message: 'oops' }), json(200, ENDPOINT));
    const endpoint = await client().createEndpoint({ name: 'llama-chat' });
    expect(endpoint.id).toBe(ENDPOINT.id);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /api/2.0/serving-endpoints',
      'GET /api/2.0/serving-endpoints/llama-chat',
    ]);
  });

  it('retries a dropped connection of an idempotent call', async () => {
    server.script(drop, json(200, { tags: [{ key: 'team', value: 'genai' }] }));
    const res = await client().patchTags('llama-chat', { add_tags: [{ key: 'team', value: 'genai' }] });
    expect(res.tags).toEqual([{ key: 'team', value: 'genai' }]);
    expect(server.requests).toHaveLength(2);
  });

  it('applies a per-request deadline and reports it as Transient CLIENT_TIMEOUT', async () => {
    server.script(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 400));
      json(200, ENDPOINT)(_req, res);
    });
    const err = await failure(client({ requestTimeoutMs: 100, retryDeadlineMs: 250 }).getEndpoint('llama-chat'));
    expect(err.kind).toBe('Transient');
    expect(err.errorCode).toBe('CLIENT_TIMEOUT');
  });

  it('stops at once when the caller aborts', async () => {
    server.script(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 1000));
      json(200, ENDPOINT)(_req, res);
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('reconcile cancelled')), 50);
    await expect(client().getEndpoint('llama-chat', { signal: controller.signal })).rejects.toThrow('reconcile cancelled');
  });

  it('scrubs a token that the server echoes back in its error message', async () => {
    server.script((req, res) =>
      json(401, { error_code: 'UNAUTHENTICATED', message: `Invalid credential: ${req.headers.authorization ?? ''} (token ${PAT})` })(req, res),
    );
    const err = await failure(client().getEndpoint('llama-chat'));
    expect(err.serverMessage).toBe('Invalid credential: Bearer [REDACTED] (token [REDACTED])');
    expect(JSON.stringify({ m: err.message, s: err.stack, j: err })).not.toContain(PAT);
  });

  it('never repeats a refused PAT (no retry storm)', async () => {
    server.script(json(401, { error_code: 'UNAUTHENTICATED', message: 'Invalid access token.' }));
    const err = await failure(client().listEndpoints());
    expect(err.kind).toBe('Auth');
    expect(err.status).toBe(401);
    expect(server.requests).toHaveLength(1);
  });
});

// A connection pool per host, kept forever: a tenant changing spec.host again and again grew the operator's memory
// without bound (20,000 hosts: +375 MB; session 11). The least recently used beyond maxOrigins are closed.
describe('connection pools', () => {
  it('keeps at most maxOrigins pools, closing the least recently used', async () => {
    const small = new HttpTransport({ maxOrigins: 2 });
    try {
      small.poolFor('https://a.example');
      small.poolFor('https://b.example');
      small.poolFor('https://a.example'); // used again: b is now the least recent
      small.poolFor('https://c.example');
      expect(small.origins).toEqual(['https://a.example', 'https://c.example']);
    } finally {
      await small.close();
    }
  });
});

describe('bounds on what a host sends back (issue 11, finding 11)', () => {
  it('refuses a response body larger than the cap without reading it all, as InvalidResponse', async () => {
    const capped = new HttpTransport({ maxResponseBytes: 64 * 1024 });
    let bytesWritten = 0;
    // An endless body: before the cap, the client read until memory ran out.
    server.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 'a');
      const pump = (): void => {
        while (!res.destroyed && bytesWritten < 64 * 1024 * 1024) {
          bytesWritten += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    try {
      const error = await failure(client({ transport: capped, retryDeadlineMs: 2_000 }).getEndpoint('llama-chat'));
      expect(error.kind).toBe('InvalidResponse');
      expect(error.message).toMatch(/larger than 65536 bytes/);
      expect(bytesWritten).toBeLessThan(8 * 1024 * 1024);
    } finally {
      await capped.close();
    }
  });

  it('holds a bounded amount of answers in memory when hosts send almost the cap and then stall', async () => {
    // A tenant's host answers every call with just under 8 MiB and then nothing until the deadline. Each such call
    // held its bytes for the whole deadline: a tenant with a few namespaces (each may keep 8 slow reconciles per
    // controller going) held hundreds of MiB, and the operator's 512 MiB limit had it OOM-killed, for every tenant.
    const wide = new HttpTransport({ connectionsPerOrigin: 32 });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    server.script((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      let written = 0;
      const pump = (): void => {
        while (!res.destroyed && written + chunk.length < 8 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });
    // Bytes held, not garbage not collected yet: collected before each sample.
    const held = () => (collectGarbage(), process.memoryUsage().arrayBuffers);
    const baseline = held();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, held())), 20);
    try {
      const stalled = client({ transport: wide, requestTimeoutMs: 2_000, retryDeadlineMs: 2_000 });
      await Promise.all(Array.from({ length: 32 }, () => failure(stalled.getEndpoint('llama-chat'))));
    } finally {
      clearInterval(sampler);
      server.script(json(200, ENDPOINT));
      await wide.close();
    }
    // 32 MiB for the answers past 256 KiB, 256 KiB for each other one: 40 MiB (before the bound: about 170).
    expect((peak - baseline) / 2 ** 20).toBeLessThan(64);
  });

  it('keeps at most 1000 characters of a server error message', async () => {
    server.script(json(400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'x'.repeat(100_000) }));
    const error = await failure(client().getEndpoint('llama-chat'));
    expect(error.kind).toBe('InvalidRequest');
    expect(error.serverMessage?.length).toBeLessThanOrEqual(1001);
    expect(error.message.length).toBeLessThan(1200);
  });
});
