// Turns a DatabricksWorkspace (plus its Secret) or the operator's environment into a Databricks
// client. Clients are cached per workspace generation and Secret version, so a rotated Secret or
// an edited workspace takes effect at once, and an unchanged one reuses its token cache.
import { readFileSync } from 'node:fs';
import { type DatabricksWorkspace, type WorkspaceSpec, WorkspaceSpec as WorkspaceSpecSchema } from '../../api/v1alpha1/index.js';
import {
  type AuthConfig,
  type CallOptions,
  DatabricksClient,
  type DatabricksClientOptions,
  normalisedHostOrUndefined,
  unfitForHeader,
  type WorkspaceConnection,
} from '../../databricks/index.js';
import { findCondition, type Informer, type KubeObject } from '../../kube/index.js';
import { DEFAULT_WORKSPACE } from '../resources.js';
import { hostAllowed } from './allowed-hosts.js';
import { OperatorIdentities } from './operator-identity.js';
import { needsPerson, whatToFix } from './status.js';

/** A Secret as the operator keeps it (ReferencedSecrets): the named keys, and those too large for a credential. */
export type Secret = KubeObject & { data?: Record<string, string>; type?: string; tooLarge?: string[] };

export type CredentialsResult =
  | { ok: true; auth: AuthConfig; version: string }
  | { ok: false; reason: 'SecretNotFound' | 'AuthenticationFailed' | 'InvalidSpec' | 'FederationHostNotTrusted'; message: string };

/** Options every client gets: short deadlines and no waiting for rate budgets, so no worker blocks. */
export type SharedClientOptions = Omit<DatabricksClientOptions, 'host' | 'auth' | 'rateLimits' | 'budgetShareKey'>;

export interface WorkspaceConnectionsOptions {
  workspaces: Pick<Informer<DatabricksWorkspace & KubeObject>, 'get'>;
  /** The Secrets workspaces name; `readOnce` reads one never read since start (ReferencedSecrets). */
  secrets: Pick<Informer<Secret>, 'get'> & { readOnce?(namespace: string, name: string, keys: readonly string[], signal?: AbortSignal): Promise<void> };
  /** From DATABRICKS_* in the operator's environment (or --default-workspace-credentials-dir), or why there is none. */
  defaultConnection: WorkspaceConnection | { error: string };
  /** Where the default workspace's credentials come from, for messages (never their values). */
  defaultCredentialsSource?: string;
  /** Projected service-account token, for tokenFederation. */
  federationTokenFile: string;
  /** Namespaces whose endpoints may use the default workspace; "*" allows all (--default-workspace-namespaces). */
  defaultWorkspaceNamespaces: readonly string[];
  /** Whether a namespace matches --default-workspace-namespace-selector (from a Namespace informer); absent: no selector. */
  namespaceSelected?: (namespace: string) => boolean;
  /** Normalised hosts, besides the default workspace's, that may receive the federation token (--federation-trusted-hosts). */
  federationTrustedHosts: readonly string[];
  /** Host name patterns a workspace's spec.host must match (--allowed-workspace-hosts); empty or absent: any host. */
  allowedWorkspaceHosts?: readonly string[];
  client: SharedClientOptions;
}

export interface ResolvedWorkspace {
  /** "namespace/name", or DEFAULT_WORKSPACE */
  name: string;
  ready: boolean;
  /**
   * The endpoint's Synced reason when only a person can make it ready: a rule (DefaultWorkspaceNotAllowed), or the
   * workspace's verdict for its generation (WorkspaceStalled: the workspace is Stalled itself). None: retried.
   */
  reason?: 'DefaultWorkspaceNotAllowed' | 'WorkspaceStalled';
  /**
   * Not ready for now, but its last verdict was Ready: its changed spec is being verified. The endpoint keeps its
   * conditions and waits for the verdict (the workspace's next status wakes it), rather than say it is not ready.
   */
  pending?: true;
  /**
   * Being deleted, and the credentials are gone with its Secret (a namespace deletion deletes it; the operator keeps
   * the credentials it read only in memory, so a restart since lost them): nothing can be done in Databricks with it.
   */
  credentialsLost?: true;
  message?: string;
  host?: string;
  client?: DatabricksClient;
  /** Who the operator is in the workspace, as whoever grants it permissions there finds it. */
  identity?: string;
}

/** The identity a workspace's credentials stand for, named by where they come from (their values are secret). */
export function describeIdentity(name: string, auth: WorkspaceSpec['auth']): string {
  const where = `DatabricksWorkspace ${name}`;
  if (auth.token) return `the owner of the personal access token in Secret ${auth.token.secretRef.name} (${where})`;
  if (auth.oauthM2M) return `the service principal whose client id is in Secret ${auth.oauthM2M.secretRef.name} (${where})`;
  const clientId = auth.tokenFederation?.clientId;
  return clientId ? `the service principal ${clientId} (${where}, token federation)` : `the identity the operator's service account is federated to (${where})`;
}

/** The CRD refuses adding spec.workspaceRef to an existing object (its CEL rule): only a new object can set it. */
const NEW_OBJECT_WITH_REF =
  'spec.workspaceRef cannot be added to an existing object: create a new object that sets spec.workspaceRef to a DatabricksWorkspace of this namespace';

export class WorkspaceConnections {
  private readonly clients = new Map<string, DatabricksClient>();
  private readonly identities = new OperatorIdentities();
  private defaultClient: DatabricksClient | undefined;
  private defaultConnection: WorkspaceConnection | { error: string };

  constructor(private readonly options: WorkspaceConnectionsOptions) {
    this.defaultConnection = options.defaultConnection;
  }

  /**
   * The default workspace's credentials were rotated: the next calls use them, with a new client (so an OAuth token
   * cached for the old client secret is never sent again). A reconcile still holding the old client finishes with it.
   */
  replaceDefaultConnection(connection: WorkspaceConnection): void {
    this.defaultConnection = connection;
    this.defaultClient?.release();
    this.defaultClient = undefined;
  }

  /** Read the credentials a workspace spec names from its Secret (or the token file). */
  credentials(namespace: string, spec: WorkspaceSpec): CredentialsResult {
    const { auth } = spec;
    const allowedHosts = this.options.allowedWorkspaceHosts ?? [];
    const host = normalisedHostOrUndefined(spec.host);
    // a host that is no workspace URL is refused when its client is made; the default workspace's is the admin's own
    if (host !== undefined && host !== this.defaultHost() && !hostAllowed(host, allowedHosts)) {
      return {
        ok: false,
        reason: 'InvalidSpec',
        message: `spec.host ${spec.host} is not among the hosts the cluster admin allows workspaces to name (--allowed-workspace-hosts: ${allowedHosts.join(', ')}); nothing was sent to it. Name your Databricks workspace's URL, or ask the admin to add its host`,
      };
    }
    if (auth.tokenFederation) {
      // The operator's own service-account token: never to a host the platform team has not trusted.
      const trust = this.federationTrust(namespace, spec.host);
      if (trust === 'defaultHostNotAllowed') {
        return {
          ok: false,
          reason: 'FederationHostNotTrusted',
          message: `token federation at ${spec.host}, the default workspace's host, acts there as the operator, and namespace ${namespace} may not use the default workspace. Use auth.token or auth.oauthM2M with a Secret of this namespace, or ask the cluster admin to add ${namespace} to the operator's --default-workspace-namespaces (chart value defaultWorkspace.allowedNamespaces)${
            this.options.namespaceSelected ? ' or to label the namespace to match --default-workspace-namespace-selector' : ''
          }, or the host to --federation-trusted-hosts (chart value tokenFederation.trustedHosts)`,
        };
      }
      if (trust === 'untrusted') {
        return {
          ok: false,
          reason: 'FederationHostNotTrusted',
          message: `token federation sends the operator's service-account token to ${spec.host}, which is not a trusted host. Use auth.token or auth.oauthM2M with a Secret of this namespace, or ask the cluster admin to add the host to the operator's --federation-trusted-hosts (chart value tokenFederation.trustedHosts)`,
        };
      }
      const audienceProblem = this.checkFederationAudience(auth.tokenFederation.audience);
      if (audienceProblem) return { ok: false, reason: 'AuthenticationFailed', message: audienceProblem };
      return {
        ok: true,
        auth: {
          type: 'token-federation',
          tokenFilePath: this.options.federationTokenFile,
          ...(auth.tokenFederation.clientId ? { clientId: auth.tokenFederation.clientId } : {}),
        },
        version: 'federation',
      };
    }
    const ref = auth.token?.secretRef ?? auth.oauthM2M?.secretRef;
    if (!ref) return { ok: false, reason: 'InvalidSpec', message: 'spec.auth sets no method' };
    const secret = this.options.secrets.get(`${namespace}/${ref.name}`);
    if (!secret) {
      return {
        ok: false,
        reason: 'SecretNotFound',
        message: `Secret ${namespace}/${ref.name} not found: create it, e.g. ${createSecretCommand(namespace, ref.name, auth)}`,
      };
    }
    if (secret.type !== undefined && !isCredentialSecretType(secret.type)) {
      return {
        ok: false,
        reason: 'InvalidSpec',
        message: `Secret ${namespace}/${ref.name} has type ${secret.type}, which Kubernetes or Helm give their own meaning; the operator reads Databricks credentials only from Opaque Secrets (or types of your own): put them in a Secret of their own, e.g. ${createSecretCommand(namespace, '<name>', auth)}, and name it in spec.auth`,
      };
    }
    const read = (key: string): string | undefined => {
      const value = secret.data?.[key];
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8').trim();
    };
    /**
     * Why the value of `key` cannot be used (never the value itself), or undefined when it can. `field` is the spec
     * field that names the key and `what` the value it holds, for the message of a missing key.
     */
    const problem = (key: string, value: string | undefined, field: string, what: string): CredentialsResult | undefined => {
      if (secret.tooLarge?.includes(key)) {
        return {
          ok: false,
          reason: 'SecretNotFound',
          message: `key "${key}" of Secret ${namespace}/${ref.name} holds more than 16 KiB, which no Databricks credential does; store the ${auth.token ? 'token' : 'value'} alone`,
        };
      }
      if (!value) {
        // The Secret's other keys are not named: a reader of the workspace's status may not be allowed to read Secrets.
        return {
          ok: false,
          reason: 'SecretNotFound',
          message: `Secret ${namespace}/${ref.name} has no non-empty key "${key}". Set ${field} to the key that holds the ${what}, or add it: ${createSecretCommand(namespace, ref.name, auth)} --dry-run=client -o yaml | kubectl apply -f -`,
        };
      }
      if (unfitForHeader(value)) {
        return {
          ok: false,
          reason: 'SecretNotFound',
          message: `key "${key}" of Secret ${namespace}/${ref.name} holds characters not allowed in an HTTP header (control or non-ASCII characters); store the ${auth.token ? 'token' : 'value'} alone`,
        };
      }
      return undefined;
    };
    const version = secret.metadata.resourceVersion ?? '';
    if (auth.token) {
      const token = read(auth.token.secretRef.key);
      return problem(auth.token.secretRef.key, token, 'spec.auth.token.secretRef.key', 'token') ?? { ok: true, auth: { type: 'pat', token: token as string }, version };
    }
    const m2m = auth.oauthM2M?.secretRef as NonNullable<WorkspaceSpec['auth']['oauthM2M']>['secretRef'];
    const clientId = read(m2m.clientIdKey);
    const clientSecret = read(m2m.clientSecretKey);
    return (
      problem(m2m.clientIdKey, clientId, 'spec.auth.oauthM2M.secretRef.clientIdKey', 'client ID') ??
      problem(m2m.clientSecretKey, clientSecret, 'spec.auth.oauthM2M.secretRef.clientSecretKey', 'client secret') ?? { ok: true, auth: { type: 'oauth-m2m', clientId: clientId as string, clientSecret: clientSecret as string }, version }
    );
  }

  /**
   * Who the operator is in the workspace `client` (from forEndpoint) acts in, as Databricks names it (SCIM Me's
   * userName): asked once per client, i.e. per credential; undefined while unknown (a failure is asked again later).
   */
  operatorIdentity(client: DatabricksClient, options?: CallOptions): Promise<string | undefined> {
    return this.identities.of(client, options);
  }

  /**
   * Who the operator is at the default workspace (SCIM Me, memoised with the endpoints' ask), with its host; undefined
   * without a usable default workspace. The identity is undefined when the ask failed.
   */
  async defaultWorkspaceIdentity(options?: CallOptions): Promise<{ host: string; identity: string | undefined } | undefined> {
    const { client, host } = this.defaultWorkspace();
    if (!client || !host) return undefined;
    return { host, identity: await this.identities.of(client, options) };
  }

  /** What is known of the operator's identity behind `client`, without asking. */
  knownOperatorIdentity(client: DatabricksClient): string | undefined {
    return this.identities.known(client);
  }

  /** Whether the operator's identity behind `client` is being asked now (the answer not in yet). */
  operatorIdentityAsked(client: DatabricksClient): boolean {
    return this.identities.asking(client);
  }

  /** Whether `client` was made with the default workspace's credentials now in use (not ones replaced since). */
  isCurrentDefaultClient(client: DatabricksClient): boolean {
    return client === this.defaultClient;
  }

  /** A client for a workspace object, cached while its spec and Secret are unchanged. */
  clientFor(workspace: DatabricksWorkspace): { client: DatabricksClient } | { error: CredentialsResult & { ok: false } } {
    const namespace = workspace.metadata.namespace ?? '';
    const spec = workspace.spec;
    const credentials = this.credentials(namespace, spec);
    if (!credentials.ok) return { error: credentials };
    // The UID too: a workspace deleted and created again under its name starts again at generation 1.
    const key = `${namespace}/${workspace.metadata.name}@${workspace.metadata.uid ?? ''}/${workspace.metadata.generation ?? 0}#${credentials.version}`;
    let client = this.clients.get(key);
    if (!client) {
      this.forget(`${namespace}/${workspace.metadata.name}`);
      try {
        // spec.rateLimits is this workspace's own share: it can lower what this workspace sends, never
        // the host's budget (the operator's configuration), so one tenant cannot throttle another.
        client = new DatabricksClient({
          ...this.options.client,
          host: spec.host,
          auth: credentials.auth,
          rateLimits: spec.rateLimits,
          budgetShareKey: `${namespace}/${workspace.metadata.name}`,
        });
      } catch (err) {
        return { error: { ok: false, reason: 'InvalidSpec', message: err instanceof Error ? err.message : String(err) } };
      }
      this.clients.set(key, client);
    }
    return { client };
  }

  /** Drops the clients of the workspace `key` (namespace/name): it is gone, or they are replaced. */
  forget(key: string): void {
    for (const [old, replaced] of this.clients) {
      if (!old.startsWith(`${key}@`)) continue;
      this.clients.delete(old);
      // A reconcile still holding it finishes its calls: the host's budgets are dropped only once idle.
      replaced.release();
    }
  }

  /** The workspace an endpoint uses, and whether it can be used now. */
  forEndpoint(namespace: string, workspaceRef: { name: string } | undefined): ResolvedWorkspace {
    if (!workspaceRef) {
      if (!this.mayUseDefault(namespace)) {
        return {
          name: DEFAULT_WORKSPACE,
          ready: false,
          reason: 'DefaultWorkspaceNotAllowed',
          message: `namespace ${namespace} may not use the default workspace (the endpoint sets no spec.workspaceRef). ${NEW_OBJECT_WITH_REF}, or ask the cluster admin to add ${namespace} to the operator's --default-workspace-namespaces (chart value defaultWorkspace.allowedNamespaces)${
            this.options.namespaceSelected ? ', or to label the namespace to match --default-workspace-namespace-selector' : ''
          }`,
        };
      }
      return this.defaultWorkspace();
    }
    const name = `${namespace}/${workspaceRef.name}`;
    const workspace = this.options.workspaces.get(name);
    if (!workspace) {
      return { name, ready: false, message: `DatabricksWorkspace ${name} not found: create it in namespace ${namespace} (an endpoint uses a DatabricksWorkspace of its own namespace; spec.workspaceRef cannot change)` };
    }
    const parsed = WorkspaceSpecSchema.safeParse(workspace.spec);
    if (!parsed.success) return { name, ready: false, message: `DatabricksWorkspace ${name} is invalid: ${parsed.error.issues[0]?.message}` };
    if (workspace.metadata.deletionTimestamp !== undefined) {
      const lost = this.lostCredentials(namespace, parsed.data);
      if (lost) return { name, ready: false, credentialsLost: true, host: parsed.data.host, message: `DatabricksWorkspace ${name} is being deleted and ${lost}` };
    }
    const ready = findCondition(workspace.status?.conditions, 'Ready');
    // Marking an object deleted bumps its generation; a workspace being deleted keeps the verdict it had, so the
    // endpoints that use it can still delete their Databricks endpoints (its finalizer waits for them).
    const current =
      ready?.observedGeneration === undefined || ready.observedGeneration === workspace.metadata.generation || workspace.metadata.deletionTimestamp !== undefined;
    if (ready?.status === 'True' && !current) {
      return { name, ready: false, pending: true, host: parsed.data.host, message: `DatabricksWorkspace ${name} changed and is being verified again` };
    }
    if (ready?.status !== 'True' || !current) {
      // Its Secret, credentials or spec refused: nothing changes until someone fixes them (an edit is verified anew).
      // What to fix comes before the workspace's own message, whose end (a command with "token=<token>") the
      // scrubbing of condition messages redacts up to the next space.
      if (ready?.status === 'False' && current && needsPerson(ready.reason)) {
        const fix = whatToFix(ready.reason, namespace, parsed.data);
        const message = `DatabricksWorkspace ${name} is not ready (${ready.reason}): ${fix}; this endpoint goes on by itself once the workspace is Ready. The workspace says: ${ready.message}`;
        return { name, ready: false, reason: 'WorkspaceStalled', host: parsed.data.host, message };
      }
      const why = ready && current ? `${ready.reason}: ${ready.message}` : 'its credentials have not been verified yet';
      return { name, ready: false, host: parsed.data.host, message: `DatabricksWorkspace ${name} is not ready (${why})` };
    }
    const result = this.clientFor({ ...workspace, spec: parsed.data });
    if ('error' in result) return { name, ready: false, host: parsed.data.host, message: `DatabricksWorkspace ${name}: ${result.error.message}` };
    return { name, ready: true, host: parsed.data.host, client: result.client, identity: describeIdentity(name, parsed.data.auth) };
  }

  /**
   * Reads the Secret an endpoint's workspace names if it was never read since the operator started, so that its
   * absence from the cache means it is missing (after a restart, the workspace reconciler may not have read it yet).
   */
  async readCredentialsOnce(namespace: string, workspaceRef: { name: string } | undefined, signal: AbortSignal): Promise<void> {
    if (!workspaceRef || !this.options.secrets.readOnce) return;
    const spec = this.options.workspaces.get(`${namespace}/${workspaceRef.name}`)?.spec as WorkspaceSpec | undefined;
    const secret = credentialSecretOf(spec);
    if (secret) await this.options.secrets.readOnce(namespace, secret.name, secret.keys, signal);
  }

  /**
   * The Databricks workspace an endpoint object would act in, as a normalised host: the identity under which
   * two objects claim one endpoint name (objects of different namespaces may name one host). Undefined when
   * the object may not use any workspace, or its workspace's credentials were refused (claimsNames).
   */
  identityOf(namespace: string, workspaceRef: { name: string } | undefined): string | undefined {
    let host: string | undefined;
    if (!workspaceRef) {
      const connection = this.defaultConnection;
      host = this.mayUseDefault(namespace) && !('error' in connection) ? connection.host : undefined;
    } else {
      const workspace = this.options.workspaces.get(`${namespace}/${workspaceRef.name}`);
      if (workspace && claimsNames(findCondition(workspace.status?.conditions, 'Ready'))) host = (workspace.spec as { host?: unknown }).host as string | undefined;
    }
    return typeof host === 'string' ? normalisedHostOrUndefined(host) : undefined;
  }

  /**
   * Why a workspace being deleted has no credentials left, if so: its Secret is gone (or lacks the key) and was not
   * read before (a restart), or a verification found it gone (deleted before the workspace). Its Secret cannot be created again in a namespace being deleted, so no "create it".
   */
  lostCredentials(namespace: string, spec: WorkspaceSpec): string | undefined {
    const credentials = this.credentials(namespace, spec);
    if (credentials.ok || credentials.reason !== 'SecretNotFound') return undefined;
    const ref = spec.auth.token?.secretRef.name ?? spec.auth.oauthM2M?.secretRef.name;
    return `its Secret ${namespace}/${ref} is gone: the operator has no credentials for ${spec.host} (it keeps the ones it read only in memory, and has had none since it restarted or found the Secret missing)`;
  }

  private mayUseDefault(namespace: string): boolean {
    const allowed = this.options.defaultWorkspaceNamespaces;
    return allowed.includes('*') || allowed.includes(namespace) || this.options.namespaceSelected?.(namespace) === true;
  }

  /**
   * Whether a namespace's workspace may exchange the operator's token at `host`: a host of --federation-trusted-hosts
   * for every namespace; the default workspace's host only for the namespaces allowed the default workspace, since
   * federation there acts as the operator, as the default workspace does.
   */
  private federationTrust(namespace: string, host: string): 'trusted' | 'defaultHostNotAllowed' | 'untrusted' {
    const target = normalisedHostOrUndefined(host);
    if (target === undefined) return 'untrusted';
    if (this.options.federationTrustedHosts.includes(target)) return 'trusted';
    if (target !== this.defaultHost()) return 'untrusted';
    return this.mayUseDefault(namespace) ? 'trusted' : 'defaultHostNotAllowed';
  }

  /** The default workspace's host, normalised; undefined without a default workspace. */
  private defaultHost(): string | undefined {
    const connection = this.defaultConnection;
    return 'error' in connection ? undefined : normalisedHostOrUndefined(connection.host);
  }

  private defaultWorkspace(): ResolvedWorkspace {
    const connection = this.defaultConnection;
    if ('error' in connection) {
      // Only the cluster admin (or a new object with a workspaceRef) can fix it: Stalled, though it is looked at again.
      return {
        name: DEFAULT_WORKSPACE,
        ready: false,
        reason: 'WorkspaceStalled',
        message: `no spec.workspaceRef and no default workspace: ${connection.error}. ${NEW_OBJECT_WITH_REF}, or ask the cluster admin to configure the operator's default workspace`,
      };
    }
    this.defaultClient ??= new DatabricksClient({ ...this.options.client, host: connection.host, auth: connection.auth });
    return { name: DEFAULT_WORKSPACE, ready: true, host: connection.host, client: this.defaultClient, identity: `the operator's default identity (${this.options.defaultCredentialsSource ?? 'its DATABRICKS_* environment'})` };
  }

  /** A projected token's audience is fixed by the pod spec; say so clearly when it does not match. */
  private checkFederationAudience(audience: string | undefined): string | undefined {
    if (!audience) return undefined;
    let token: string;
    try {
      token = readFileSync(this.options.federationTokenFile, 'utf8').trim();
    } catch {
      return `token federation needs the projected service-account token at ${this.options.federationTokenFile}; enable tokenFederation in the Helm chart`;
    }
    const audiences = jwtAudiences(token);
    if (audiences.includes(audience)) return undefined;
    return `the projected service-account token has audience ${audiences.join(', ') || '(none)'}, not ${audience}: set the chart value tokenFederation.audience to ${audience}`;
  }
}

/**
 * Whether the objects of a workspace with this last verdict claim endpoint names on its host (docs/security.md rule
 * 6): not once it was refused (credentials, Secret, spec), or a tenant without valid credentials could hold other
 * tenants' names there without ever sending a call. Its last verdict counts, whatever generation it judged: a Ready
 * workspace being verified again, or read before its first verification after a restart, keeps its claims, so a
 * younger object cannot create the endpoint meanwhile. One not verified yet claims too (its first verdict comes
 * within seconds), and so does an unreachable host: it is retried, and it is the host every claimant there reaches.
 */
export function claimsNames(ready: { status: string; reason?: string } | undefined): boolean {
  return ready === undefined || ready.status !== 'False' || (ready.reason !== undefined && !needsPerson(ready.reason));
}

/** The Secret a workspace spec names and the keys of it that hold its credentials (defaulted as the CRD does). */
export function credentialSecretOf(spec: WorkspaceSpec | undefined): { name: string; keys: string[] } | undefined {
  const auth = spec?.auth as { token?: { secretRef?: Partial<{ name: string; key: string }> }; oauthM2M?: { secretRef?: Partial<{ name: string; clientIdKey: string; clientSecretKey: string }> } } | undefined;
  const token = auth?.token?.secretRef;
  if (token?.name) return { name: token.name, keys: [token.key ?? 'token'] };
  const m2m = auth?.oauthM2M?.secretRef;
  if (m2m?.name) return { name: m2m.name, keys: [m2m.clientIdKey ?? 'client-id', m2m.clientSecretKey ?? 'client-secret'] };
  return undefined;
}

function createSecretCommand(namespace: string, name: string, auth: WorkspaceSpec['auth']): string {
  const m2m = auth.oauthM2M?.secretRef;
  const literals = auth.token
    ? `--from-literal=${auth.token.secretRef.key}=<token>`
    : `--from-literal=${m2m?.clientIdKey ?? 'client-id'}=<id> --from-literal=${m2m?.clientSecretKey ?? 'client-secret'}=<secret>`;
  return `kubectl -n ${namespace} create secret generic ${name} ${literals}`;
}

/**
 * Whoever writes a DatabricksWorkspace names the Secret and the host its value goes to. Secret types that Kubernetes
 * (service-account tokens, image pull, TLS and bootstrap keys) or Helm (releases, whose manifests hold other Secrets)
 * give their own meaning are never workspace credentials, so they are never sent: Opaque and types of one's own are.
 */
export function isCredentialSecretType(type: string): boolean {
  return !/^([a-z0-9-]+\.)*kubernetes\.io\//.test(type) && !type.startsWith('helm.sh/');
}

/** The `aud` claim of a JWT, read without verifying it (Databricks verifies; we only explain mismatches). */
export function jwtAudiences(jwt: string): string[] {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud?: string | string[] };
    return payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  } catch {
    return [];
  }
}
