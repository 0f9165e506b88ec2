import { describe, expect, it } from 'vitest';
import { CallLog, countCalls } from '../../../src/emulator/call-log.js';

const call = (method: string, path: string, operation: string, status = 200, endpoint?: string) => ({
  method,
  path,
  operation,
  status,
  virtualTime: 0,
  realTime: 0,
  ...(endpoint ? { endpoint } : {}),
});

describe('CallLog', () => {
  it('filters by method, path prefix, endpoint, status and sequence, and counts what it returns', () => {
    const log = new CallLog();
    log.record(call('POST', '/api/2.0/serving-endpoints', 'create', 200, 'a'));
    log.record(call('GET', '/api/2.0/serving-endpoints/a', 'get', 200, 'a'));
    log.record(call('PUT', '/api/2.0/serving-endpoints/a/config', 'updateConfig', 409, 'a'));
    log.record(call('POST', '/oidc/v1/token', 'token'));
    expect(log.query({ path: '/api/*', method: 'get' }).map((c) => c.seq)).toEqual([2]);
    expect(log.query({ status: 409 }).map((c) => c.operation)).toEqual(['updateConfig']);
    expect(log.query({ afterSeq: 2 }).map((c) => c.seq)).toEqual([3, 4]);
    expect(countCalls(log.query({ endpoint: 'a' }))).toEqual({
      total: 3,
      byMethod: { POST: 1, GET: 1, PUT: 1 },
      byPath: { '/api/2.0/serving-endpoints': 1, '/api/2.0/serving-endpoints/a': 1, '/api/2.0/serving-endpoints/a/config': 1 },
      byOperation: { create: 1, get: 1, updateConfig: 1 },
      byEndpoint: { a: 3 },
      byStatus: { '200': 2, '409': 1 },
    });
  });

  it('keeps only the newest records when it grows past its cap, with sequence numbers going on', () => {
    const log = new CallLog(10);
    for (let i = 0; i < 12; i++) log.record(call('GET', '/api/2.0/serving-endpoints', 'list'));
    const seqs = log.query().map((c) => c.seq);
    expect(seqs).toHaveLength(10);
    expect(seqs.at(-1)).toBe(12);
  });
});
