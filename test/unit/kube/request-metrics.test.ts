// The client's own count of its requests to the API server, by Kubernetes verb and resource (issue 12 item 5:
// writes per object, cross-checked against the API server's audit log by bench/rollout.ts).
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type KubeRequest, describeKubeRequest } from '../../../src/kube/client.js';
import { RuntimeMetrics } from '../../../src/kube/metrics.js';

const PTE = '/apis/serving.ptoperator.io/v1alpha1/namespaces/ml/provisionedthroughputendpoints';

describe('describeKubeRequest', () => {
  it.each<[KubeRequest['method'], string, boolean, { verb: string; resource: string; subresource: string }]>([
    ['GET', PTE, false, { verb: 'list', resource: 'provisionedthroughputendpoints', subresource: '' }],
    ['GET', PTE, true, { verb: 'watch', resource: 'provisionedthroughputendpoints', subresource: '' }],
    ['GET', `${PTE}/llama`, false, { verb: 'get', resource: 'provisionedthroughputendpoints', subresource: '' }],
    ['PATCH', `${PTE}/llama`, false, { verb: 'patch', resource: 'provisionedthroughputendpoints', subresource: '' }],
    ['PATCH', `${PTE}/llama/status`, false, { verb: 'patch', resource: 'provisionedthroughputendpoints', subresource: 'status' }],
    ['POST', '/api/v1/namespaces/ml/events', false, { verb: 'create', resource: 'events', subresource: '' }],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/ops/leases/leader', false, { verb: 'update', resource: 'leases', subresource: '' }],
    ['DELETE', '/api/v1/namespaces/ml/secrets/s', false, { verb: 'delete', resource: 'secrets', subresource: '' }],
    ['GET', '/api/v1/namespaces/ml', false, { verb: 'get', resource: 'namespaces', subresource: '' }],
    ['GET', '/api/v1/namespaces', true, { verb: 'watch', resource: 'namespaces', subresource: '' }],
    ['GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.y', false, { verb: 'get', resource: 'customresourcedefinitions', subresource: '' }],
    // a non-resource URL (the clock probe's GET /version) keeps its path
    ['GET', '/version', false, { verb: 'get', resource: '/version', subresource: '' }],
  ])('%s %s (watch %s)', (method, path, watch, expected) => {
    expect(describeKubeRequest(method, path, watch)).toEqual(expected);
  });
});

describe('RuntimeMetrics.observeKubeResponse', () => {
  it('counts each request by verb, resource, subresource and code, and times all but watches', async () => {
    const registry = new Registry();
    const metrics = new RuntimeMetrics(registry);
    const at = { sentAt: 1_000, receivedAt: 1_020, date: undefined };
    metrics.observeKubeResponse({ method: 'PATCH', path: `${PTE}/a/status`, watch: false, statusCode: 200, ...at });
    metrics.observeKubeResponse({ method: 'PATCH', path: `${PTE}/b/status`, watch: false, statusCode: 409, ...at });
    metrics.observeKubeResponse({ method: 'POST', path: '/api/v1/namespaces/ml/events', watch: false, statusCode: 201, ...at });
    metrics.observeKubeResponse({ method: 'GET', path: PTE, watch: true, statusCode: 200, ...at });
    const text = await registry.metrics();
    expect(text).toContain('pt_operator_kubernetes_requests_total{verb="patch",resource="provisionedthroughputendpoints",subresource="status",code="200"} 1');
    expect(text).toContain('pt_operator_kubernetes_requests_total{verb="patch",resource="provisionedthroughputendpoints",subresource="status",code="409"} 1');
    expect(text).toContain('pt_operator_kubernetes_requests_total{verb="create",resource="events",subresource="",code="201"} 1');
    expect(text).toContain('pt_operator_kubernetes_requests_total{verb="watch",resource="provisionedthroughputendpoints",subresource="",code="200"} 1');
    expect(text).toContain('pt_operator_kubernetes_request_duration_seconds_count{verb="patch",resource="provisionedthroughputendpoints",subresource="status"} 2');
    expect(text).not.toContain('pt_operator_kubernetes_request_duration_seconds_count{verb="watch"');
  });
});
