// Tenant boundaries decided by WorkspaceConnections: who may use the default workspace (finding 4), where the
// operator's federation token may go (finding 5), and the workspace identity under which names are claimed.
import { describe, expect, it } from 'vitest';
import type { DatabricksWorkspace } from '../../../../src/api/v1alpha1/index.js';
import { type Secret, WorkspaceConnections, type WorkspaceConnectionsOptions } from '../../../../src/controllers/workspace/connections.js';
import type { KubeObject } from '../../../../src/kube/index.js';
import { redactSecrets } from '../../../../src/databricks/errors.js';

const DEFAULT_HOST = 'https://adb-1111111111111111.1.azuredatabricks.net';
const TENANT_HOST = 'https://attacker.example.com';

type Workspace = DatabricksWorkspace & KubeObject;

function connections(overrides: Partial<WorkspaceConnectionsOptions> = {}, workspaces: Workspace[] = []): WorkspaceConnections {
  const byKey = new Map(workspaces.map((w) => [`${w.metadata.namespace}/${w.metadata.name}`, w]));
  return new WorkspaceConnections({
    workspaces: { get: (key) => byKey.get(key) },
    secrets: { get: (): Secret | undefined => undefined },
    defaultConnection: { host: DEFAULT_HOST, auth: { type: 'pat', token: 'dapi-default' } },
    federationTokenFile: '/nonexistent/token',
    defaultWorkspaceNamespaces: ['ml'],
    federationTrustedHosts: [],
    client: {},
    ...overrides,
  });
}

const workspace = (namespace: string, name: string, host: string): Workspace =>
  ({ apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { namespace, name, generation: 1 }, spec: { host, auth: { tokenFederation: {} } } }) as Workspace;

describe('default workspace by permission', () => {
  it.each([
    ['a listed namespace', ['ml'], 'ml', true],
    ['another namespace', ['ml'], 'team-b', false],
    ['the wildcard', ['*'], 'team-b', true],
    ['nothing listed (the default)', [], 'ml', false],
  ])('%s', (_, allowed, namespace, ready) => {
    const resolved = connections({ defaultWorkspaceNamespaces: allowed }).forEndpoint(namespace, undefined);
    expect(resolved.ready).toBe(ready);
    if (!ready) {
      expect(resolved.reason).toBe('DefaultWorkspaceNotAllowed');
      expect(resolved.client).toBeUndefined();
      expect(resolved.message).toContain(`--default-workspace-namespaces`);
      expect(resolved.message).toContain('spec.workspaceRef');
    }
  });
});

describe('default workspace by namespace label', () => {
  it.each([
    ['a namespace the selector matches', 'team-b', true],
    ['a namespace it does not match', 'team-c', false],
    ['a listed namespace', 'ml', true],
  ])('%s', (_, namespace, ready) => {
    const resolved = connections({ namespaceSelected: (ns) => ns === 'team-b' }).forEndpoint(namespace, undefined);
    expect(resolved.ready).toBe(ready);
    if (!ready) expect(resolved.message).toContain('--default-workspace-namespace-selector');
  });
});

describe('token federation only to trusted hosts', () => {
  it.each([
    ["the default workspace's host, from a namespace allowed the default workspace", 'ml', DEFAULT_HOST, [], true],
    ["the default workspace's host, spelt differently", 'ml', `${DEFAULT_HOST.toUpperCase()}:443/`, [], true],
    ['a host in --federation-trusted-hosts', 'team-b', TENANT_HOST, [TENANT_HOST], true],
    ["the default workspace's host listed in --federation-trusted-hosts, from any namespace", 'team-b', DEFAULT_HOST, [DEFAULT_HOST], true],
    ['any other host', 'team-b', TENANT_HOST, [], false],
  ])('%s', (_, namespace, host, trusted, ok) => {
    const result = connections({ federationTrustedHosts: trusted }).credentials(namespace, workspace(namespace, 'ws', host).spec);
    if (ok) expect(result).toMatchObject({ ok: true, auth: { type: 'token-federation' } });
    else expect(result).toMatchObject({ ok: false, reason: 'FederationHostNotTrusted', message: expect.stringContaining('--federation-trusted-hosts') });
  });

  // Federation at the default host acts as the operator there, which is what the default workspace is: a namespace
  // the admin did not allow the default workspace must not get it through a workspace of its own (session 11).
  it.each([
    ['not listed', {}, 'team-b'],
    ['not matching the selector', { namespaceSelected: (ns: string) => ns === 'team-c' }, 'team-b'],
  ])("the default workspace's host, from a namespace %s: refused, saying how to allow it", (_, overrides, namespace) => {
    const result = connections(overrides).credentials(namespace, workspace(namespace, 'ws', DEFAULT_HOST).spec);
    expect(result).toMatchObject({ ok: false, reason: 'FederationHostNotTrusted' });
    if (!result.ok) {
      expect(result.message).toContain(`namespace ${namespace} may not use the default workspace`);
      expect(result.message).toContain('--default-workspace-namespaces');
    }
    expect(connections(overrides).clientFor(workspace(namespace, 'ws', DEFAULT_HOST))).toMatchObject({ error: { reason: 'FederationHostNotTrusted' } });
  });

  it('with no default workspace, only the flag trusts a host', () => {
    const result = connections({ defaultConnection: { error: 'DATABRICKS_HOST is not set' } }).credentials('team-b', workspace('team-b', 'ws', DEFAULT_HOST).spec);
    expect(result).toMatchObject({ ok: false, reason: 'FederationHostNotTrusted' });
  });

  it('an untrusted workspace gets no client at all', () => {
    expect(connections().clientFor(workspace('team-b', 'ws', TENANT_HOST))).toMatchObject({ error: { reason: 'FederationHostNotTrusted' } });
  });
});

// Whoever may write a DatabricksWorkspace names the Secret and the host it goes to. Secrets of the types Kubernetes
// and Helm give their own meaning (service-account tokens, image pull and TLS keys, Helm releases) are never credentials
// of a workspace: reading one would hand a namespace's cluster credentials to that host (session 11).
describe('credentials come only from Secrets meant to hold them', () => {
  const pat = Buffer.from('dapi0123456789abcdef0123456789abcdef').toString('base64');
  const withSecret = (type: string | undefined) =>
    connections({ secrets: { get: (): Secret => ({ metadata: { name: 's', namespace: 'team-b', resourceVersion: '1' }, ...(type !== undefined && { type }), data: { token: pat } }) } });
  const tokenWorkspace = { host: TENANT_HOST, auth: { token: { secretRef: { name: 's', key: 'token' } } } } as Workspace['spec'];
  it.each([
    [undefined, true],
    ['Opaque', true],
    ['example.com/databricks-pat', true],
    ['kubernetes.io/service-account-token', false],
    ['kubernetes.io/dockerconfigjson', false],
    ['kubernetes.io/tls', false],
    ['bootstrap.kubernetes.io/token', false],
    ['helm.sh/release.v1', false],
  ])('type %s → usable %s', (type, ok) => {
    const result = withSecret(type).credentials('team-b', tokenWorkspace);
    if (ok) expect(result).toMatchObject({ ok: true, auth: { type: 'pat' } });
    else {
      expect(result).toMatchObject({ ok: false, reason: 'InvalidSpec' });
      if (!result.ok) {
        expect(result.message).toContain(`Secret team-b/s has type ${type}`);
        expect(result.message).toContain('kubectl -n team-b create secret generic');
        expect(result.message).not.toContain('dapi');
      }
    }
  });
});

// A tenant chose any spec.host, and the operator called it from its own Pod, whose egress reaches what the tenant's
// Pods may not (the cluster network, the API server, services behind a NetworkPolicy): 1000 characters of each
// answer came back in the workspace's status. The cluster admin can keep spec.host to Databricks' domains.
describe('workspace hosts the cluster admin allows (--allowed-workspace-hosts)', () => {
  const pat = Buffer.from('dapi0123456789abcdef0123456789abcdef').toString('base64');
  const allowing = (allowedWorkspaceHosts: string[]) =>
    connections({
      allowedWorkspaceHosts,
      secrets: { get: (): Secret => ({ metadata: { name: 'dbx', namespace: 'team-b', resourceVersion: '1' }, data: { token: pat } }) },
    });
  const at = (host: string) => ({ host, auth: { token: { secretRef: { name: 'dbx', key: 'token' } } } }) as Workspace['spec'];
  const allowed = ['*.cloud.databricks.com', 'adb-1111111111111111.1.azuredatabricks.net'];

  it.each([
    ['a host under an allowed domain', 'https://dbc-1.cloud.databricks.com', true],
    ['an allowed host, with its default port', 'https://ADB-1111111111111111.1.azuredatabricks.net:443', true],
    ['an address of the cluster network', 'https://10.96.0.1', false],
    ['a cluster service', 'https://kubernetes.default.svc', false],
    ['the domain itself, not a host under it', 'https://cloud.databricks.com', false],
    ['a look-alike that ends elsewhere', 'https://dbc-1.cloud.databricks.com.attacker.example', false],
    ['the loopback (the operator Pod itself)', 'http://127.0.0.1:8081', false],
  ])('%s (%s): allowed %s', (_, host, ok) => {
    const result = allowing(allowed).credentials('team-b', at(host));
    if (ok) expect(result).toMatchObject({ ok: true });
    else expect(result).toMatchObject({ ok: false, reason: 'InvalidSpec', message: expect.stringContaining('--allowed-workspace-hosts') });
    expect('client' in allowing(allowed).clientFor(workspaceWith(host))).toBe(ok);
  });

  // The flag's help: "The default workspace's host is the admin's own and needs no entry". A tenant's workspace at
  // that host (the admin's own Databricks workspace, with the tenant's own credentials) was InvalidSpec all the same.
  it("the default workspace's host needs no entry", () => {
    expect(allowing(['*.cloud.databricks.com']).credentials('team-b', at(DEFAULT_HOST))).toMatchObject({ ok: true });
  });

  it('without the flag, any host (as before)', () => {
    expect(allowing([]).credentials('team-b', at('https://10.96.0.1'))).toMatchObject({ ok: true });
  });

  const workspaceWith = (host: string): Workspace =>
    ({ apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { namespace: 'team-b', name: 'ws', generation: 1 }, spec: at(host) }) as Workspace;
});

// They were sent, refused by the HTTP client as "invalid authorization header", and reported as HostUnreachable,
// retried forever with advice about spec.host.
describe('a credential that cannot go in an HTTP header is a Secret problem, never echoed', () => {
  const withData = (data: Record<string, string>) =>
    connections({ secrets: { get: (): Secret => ({ metadata: { name: 'dbx', namespace: 'team-b', resourceVersion: '1' }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) }) } });
  const tokenWorkspace = { host: TENANT_HOST, auth: { token: { secretRef: { name: 'dbx', key: 'token' } } } } as Workspace['spec'];
  const m2mWorkspace = { host: TENANT_HOST, auth: { oauthM2M: { secretRef: { name: 'dbx', clientIdKey: 'client-id', clientSecretKey: 'client-secret' } } } } as Workspace['spec'];

  it.each(['dapiSECRET\x01XYZ', 'dapiSECRETé€', 'dapiSECRET\nsecond-line'])('token %j: SecretNotFound naming the key, not the value', (token) => {
    const result = withData({ token }).credentials('team-b', tokenWorkspace);
    expect(result).toMatchObject({ ok: false, reason: 'SecretNotFound' });
    const message = result.ok ? '' : result.message;
    expect(message).toContain('key "token" of Secret team-b/dbx holds characters not allowed in an HTTP header (control or non-ASCII characters); store the token alone');
    expect(message).not.toContain('SECRET');
  });

  it.each([
    ['client-id', { 'client-id': 'id\u0000SECRET', 'client-secret': 'fine' }],
    ['client-secret', { 'client-id': 'id', 'client-secret': 'SECRET€' }],
  ])('OAuth %s likewise', (key, data) => {
    const result = withData(data).credentials('team-b', m2mWorkspace);
    expect(result).toMatchObject({ ok: false, reason: 'SecretNotFound' });
    expect(result.ok ? '' : result.message).toContain(`key "${key}" of Secret team-b/dbx holds characters not allowed in an HTTP header`);
    expect(result.ok ? '' : result.message).not.toContain('SECRET');
  });

  it('a key the Secret cache found too large for a credential: refused, saying so', () => {
    const result = connections({
      secrets: { get: (): Secret => ({ metadata: { name: 'dbx', namespace: 'team-b', resourceVersion: '1' }, data: {}, tooLarge: ['token'] }) },
    }).credentials('team-b', tokenWorkspace);
    expect(result).toMatchObject({ ok: false, reason: 'SecretNotFound' });
    expect(result.ok ? '' : result.message).toContain('key "token" of Secret team-b/dbx holds more than 16 KiB');
  });

  it('surrounding whitespace and a final newline (echo into a file) are still trimmed, not refused', () => {
    expect(withData({ token: '  dapi0123\n' }).credentials('team-b', tokenWorkspace)).toMatchObject({ ok: true, auth: { type: 'pat', token: 'dapi0123' } });
  });
});

describe("an endpoint's workspace while its verdict is renewed", () => {
  const pat = Buffer.from('dapi0123456789abcdef0123456789abcdef').toString('base64');
  const verified = (generation: number, observedGeneration: number, status = 'True'): Workspace =>
    ({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { namespace: 'ml', name: 'prod', generation },
      spec: { host: TENANT_HOST, auth: { token: { secretRef: { name: 'dbx-pat', key: 'token' } } } },
      status: { conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'Authenticated' : 'AuthenticationFailed', message: 'm', observedGeneration, lastTransitionTime: '2026-03-01T12:00:00Z' }] },
    }) as unknown as Workspace;
  const withSecret = (w: Workspace) =>
    connections({ secrets: { get: (): Secret => ({ metadata: { name: 'dbx-pat', namespace: 'ml', resourceVersion: '1' }, data: { token: pat } }) } }, [w]);

  it('Ready and verified for its generation: ready', () => {
    expect(withSecret(verified(2, 2)).forEndpoint('ml', { name: 'prod' })).toMatchObject({ ready: true });
  });

  it('Ready for an older generation (its spec just changed): pending, not "not ready"', () => {
    const resolved = withSecret(verified(3, 2)).forEndpoint('ml', { name: 'prod' });
    expect(resolved).toMatchObject({ ready: false, pending: true });
  });

  it('refused for an older generation: not pending (the last verdict was not Ready)', () => {
    expect(withSecret(verified(3, 2, 'False')).forEndpoint('ml', { name: 'prod' })).toMatchObject({ ready: false });
    expect(withSecret(verified(3, 2, 'False')).forEndpoint('ml', { name: 'prod' }).pending).toBeUndefined();
  });

  it.each([
    ['being deleted, its Secret gone (read after a restart)', true, false, { ready: false, credentialsLost: true }],
    ['being deleted, its Secret still read', true, true, { ready: true }],
    ['not being deleted, its Secret gone: create it', false, false, { ready: false }],
  ])('%s', (_, deleting, secretThere, expected) => {
    const w = verified(2, 2);
    if (deleting) w.metadata.deletionTimestamp = '2026-03-01T12:00:00Z';
    const c = secretThere ? withSecret(w) : connections({ secrets: { get: () => undefined } }, [w]);
    const resolved = c.forEndpoint('ml', { name: 'prod' });
    expect(resolved).toMatchObject(expected);
    if (!expected.ready) expect(resolved.message).toContain(deleting ? 'is being deleted and its Secret ml/dbx-pat is gone' : 'create it');
    if (deleting && !secretThere) expect(resolved.message).not.toContain('create it');
    if (!deleting) expect(resolved.credentialsLost).toBeUndefined();
  });

  it("readCredentialsOnce reads the workspace's Secret through the Secret cache", async () => {
    const asked: string[] = [];
    const c = connections({ secrets: { get: () => undefined, readOnce: async (ns: string, name: string) => void asked.push(`${ns}/${name}`) } }, [verified(1, 1)]);
    await c.readCredentialsOnce('ml', { name: 'prod' }, new AbortController().signal);
    await c.readCredentialsOnce('ml', undefined, new AbortController().signal);
    expect(asked).toEqual(['ml/dbx-pat']);
  });
});

// A workspace whose last verdict for its generation needs a person (it is Stalled itself, workspace/status.ts) makes its
// endpoints Stalled too (WorkspaceStalled), saying what to fix; one the operator retries or has not judged yet keeps
// them Reconciling (WorkspaceNotReady, no reason of its own).
describe("an endpoint's workspace that needs a person", () => {
  const judged = (reason: string | undefined, auth: Record<string, unknown> = { token: { secretRef: { name: 'dbx-pat', key: 'token' } } }, observedGeneration = 1): Workspace =>
    ({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'DatabricksWorkspace',
      metadata: { namespace: 'ml', name: 'prod', generation: 1 },
      spec: { host: TENANT_HOST, auth },
      ...(reason && { status: { conditions: [{ type: 'Ready', status: 'False', reason, message: 'what the workspace says', observedGeneration, lastTransitionTime: '2026-03-01T12:00:00Z' }] } }),
    }) as unknown as Workspace;
  const federation = { tokenFederation: { clientId: 'sp-1' } };
  it.each([
    ['its Secret missing', judged('SecretNotFound'), 'fix its credentials Secret ml/dbx-pat'],
    ['its credentials refused', judged('AuthenticationFailed'), 'fix its credentials Secret ml/dbx-pat'],
    ['its token federation refused', judged('AuthenticationFailed', federation), 'fix its token federation'],
    ['its spec invalid', judged('InvalidSpec'), 'fix its spec'],
    ['its federation host not trusted', judged('FederationHostNotTrusted', federation), 'fix its spec.auth'],
  ])('%s: WorkspaceStalled, naming the workspace, its reason and what to fix', (_, ws, fix) => {
    const resolved = connections({}, [ws]).forEndpoint('ml', { name: 'prod' });
    expect(resolved).toMatchObject({ ready: false, reason: 'WorkspaceStalled' });
    expect(resolved.message).toMatch(/^DatabricksWorkspace ml\/prod is not ready \(\w+\): /);
    expect(resolved.message).toContain(`): ${fix}`);
    expect(resolved.message).toMatch(/The workspace says: what the workspace says$/);
  });

  it.each([
    ['its host unreachable (retried)', judged('HostUnreachable')],
    ['not verified yet', judged(undefined)],
    ['refused for an older generation (its changed spec is verified next)', judged('AuthenticationFailed', undefined, 0)],
    ['missing', undefined],
  ])('%s: WorkspaceNotReady (Reconciling)', (_, ws) => {
    const resolved = connections({}, ws ? [ws] : []).forEndpoint('ml', { name: 'prod' });
    expect(resolved).toMatchObject({ ready: false });
    expect(resolved.reason).toBeUndefined();
  });

  // A new tenant whose platform team keeps the DatabricksWorkspace in its own namespace writes workspaceRef: {name:
  // prod} (a `namespace` there is refused by kubectl, or dropped by a client that does not validate fields): the
  // message says where the workspace must be, without naming any other namespace's objects.
  it('missing: the message says to create it in the endpoint\'s namespace, the only one an endpoint may use', () => {
    const resolved = connections({}, []).forEndpoint('ml', { name: 'prod' });
    expect(resolved.message).toBe(
      'DatabricksWorkspace ml/prod not found: create it in namespace ml (an endpoint uses a DatabricksWorkspace of its own namespace; spec.workspaceRef cannot change)',
    );
  });
});

describe('workspace identity for claims', () => {
  const c = connections({}, [workspace('team-b', 'same', `${DEFAULT_HOST}/`), workspace('team-b', 'other', TENANT_HOST)]);
  it.each([
    ['the default workspace, allowed namespace', 'ml', undefined, DEFAULT_HOST],
    ['the default workspace, refused namespace', 'team-b', undefined, undefined],
    ['a workspace on the same host', 'team-b', { name: 'same' }, DEFAULT_HOST],
    ['a workspace on another host', 'team-b', { name: 'other' }, TENANT_HOST],
    ['a missing workspace', 'team-b', { name: 'absent' }, undefined],
  ])('%s', (_, namespace, ref, identity) => {
    expect(c.identityOf(namespace, ref)).toBe(identity);
  });

  // Only an object able to act in a workspace claims names there: one whose credentials were refused would
  // otherwise hold other tenants' names on a shared host without ever sending a call (docs/security.md rule 6).
  const judged = (ready: { status: string; reason: string; observedGeneration: number } | undefined): Workspace =>
    ({
      ...workspace('team-a', 'ws', DEFAULT_HOST),
      metadata: { namespace: 'team-a', name: 'ws', generation: 2 },
      ...(ready && { status: { conditions: [{ type: 'Ready', message: 'm', lastTransitionTime: '2026-03-01T12:00:00Z', ...ready }] } }),
    }) as unknown as Workspace;
  it.each([
    ['Ready for its generation', { status: 'True', reason: 'Authenticated', observedGeneration: 2 }, DEFAULT_HOST],
    ['Ready, its changed spec being verified again (it keeps its claims meanwhile)', { status: 'True', reason: 'Authenticated', observedGeneration: 1 }, DEFAULT_HOST],
    ['not verified yet (its first verdict pending, e.g. created with its endpoint object)', undefined, DEFAULT_HOST],
    // retried, and not for a tenant to choose: the host is the one every claimant there reaches
    ['its host unreachable for now', { status: 'False', reason: 'HostUnreachable', observedGeneration: 2 }, DEFAULT_HOST],
    ['its credentials refused', { status: 'False', reason: 'AuthenticationFailed', observedGeneration: 2 }, undefined],
    ['its Secret missing', { status: 'False', reason: 'SecretNotFound', observedGeneration: 2 }, undefined],
    ['refused, its changed spec not verified yet', { status: 'False', reason: 'AuthenticationFailed', observedGeneration: 1 }, undefined],
    ['its federation host not trusted', { status: 'False', reason: 'FederationHostNotTrusted', observedGeneration: 2 }, undefined],
  ])('a workspace %s', (_, ready, identity) => {
    const ws = judged(ready);
    expect(connections({}, [ws]).identityOf('team-a', { name: 'ws' })).toBe(identity);
  });
});

// The command the SecretNotFound message offers made keys client-id and client-secret whatever spec.auth named: run
// as offered, it left the workspace refused again ("has no non-empty key").
describe('a missing Secret: the command offered makes the keys the workspace reads', () => {
  it('OAuth M2M with keys of its own', () => {
    const spec = { host: TENANT_HOST, auth: { oauthM2M: { secretRef: { name: 'sp', clientIdKey: 'id', clientSecretKey: 'secret' } } } } as Workspace['spec'];
    const result = connections().credentials('team-b', spec);
    expect(result).toMatchObject({ ok: false, reason: 'SecretNotFound' });
    expect(result.ok ? '' : result.message).toContain('kubectl -n team-b create secret generic sp --from-literal=id=<id> --from-literal=secret=<secret>');
  });

  it('OAuth M2M with the default keys, and a token', () => {
    const m2m = { host: TENANT_HOST, auth: { oauthM2M: { secretRef: { name: 'sp', clientIdKey: 'client-id', clientSecretKey: 'client-secret' } } } } as Workspace['spec'];
    const m2mResult = connections().credentials('team-b', m2m);
    expect(m2mResult.ok ? '' : m2mResult.message).toContain('create secret generic sp --from-literal=client-id=<id> --from-literal=client-secret=<secret>');
    const pat = { host: TENANT_HOST, auth: { token: { secretRef: { name: 'dbx', key: 'pat' } } } } as Workspace['spec'];
    const patResult = connections().credentials('team-b', pat);
    expect(patResult.ok ? '' : patResult.message).toContain('create secret generic dbx --from-literal=pat=<token>');
  });
});

// A new tenant's Secret made with another key (`--from-literal=pat=...` for a workspace reading `token`) was answered
// "has no non-empty key" and no more: the message now says the two ways out, without listing the Secret's keys (a
// reader of the workspace's status may not read Secrets).
describe('a Secret without the key the workspace reads', () => {
  const withData = (data: Record<string, string>) =>
    connections({ secrets: { get: (): Secret => ({ metadata: { name: 'dbx', namespace: 'team-b', resourceVersion: '1' }, data }) } });

  it('a token: names the key, the command that adds it, and the field that names another key', () => {
    const spec = { host: TENANT_HOST, auth: { token: { secretRef: { name: 'dbx', key: 'token' } } } } as Workspace['spec'];
    const result = withData({ pat: Buffer.from('dapi-secret-value').toString('base64') }).credentials('team-b', spec);
    expect(result).toMatchObject({ ok: false, reason: 'SecretNotFound' });
    const message = result.ok ? '' : result.message;
    expect(message).toBe(
      'Secret team-b/dbx has no non-empty key "token". Set spec.auth.token.secretRef.key to the key that holds the token, or add it: kubectl -n team-b create secret generic dbx --from-literal=token=<token> --dry-run=client -o yaml | kubectl apply -f -',
    );
    expect(message).not.toContain('pat');
    // what a condition shows after the scrubbing of secret-looking text (`"token": value` is one) still says what to set
    expect(redactSecrets(message)).toContain('"token". Set spec.auth.token.secretRef.key to the key that holds the token, or add it: kubectl');
  });

  it('OAuth M2M: names the field of the key missing', () => {
    const spec = { host: TENANT_HOST, auth: { oauthM2M: { secretRef: { name: 'dbx', clientIdKey: 'client-id', clientSecretKey: 'client-secret' } } } } as Workspace['spec'];
    const result = withData({ 'client-id': Buffer.from('abc').toString('base64') }).credentials('team-b', spec);
    expect(result.ok ? '' : result.message).toContain('has no non-empty key "client-secret". Set spec.auth.oauthM2M.secretRef.clientSecretKey to the key that holds the client secret, or add it: kubectl -n team-b create secret generic dbx --from-literal=client-id=<id> --from-literal=client-secret=<secret> --dry-run=client');
  });
});

// A Secret deleted before its workspace (and found gone by a verification) leaves no copy either: the message said the
// operator had restarted, which a user who watched it run knows to be false.
describe('the credentials of a workspace being deleted, lost', () => {
  it('says why without claiming a restart happened', () => {
    const spec = { host: TENANT_HOST, auth: { token: { secretRef: { name: 'dbx', key: 'token' } } } } as Workspace['spec'];
    const lost = connections().lostCredentials('team-b', spec);
    expect(lost).toContain('its Secret team-b/dbx is gone: the operator has no credentials for');
    expect(lost).toContain('restarted or found the Secret missing');
  });
});
