// `pt-operator run`: wire the informers, both controllers, leader election and probes together.
import type { DatabricksWorkspace } from '../api/v1alpha1/index.js';
import { proxyShownAs, RateBudgetRegistry, systemClock, transportFromEnvironment, trustedCertificatesFrom } from '../databricks/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiserverClock,
  ClockProbe,
  type Controller,
  CoreResources,
  delegatedAuthorizer,
  EventRecorder,
  KubeClient,
  type KubeObject,
  type Logger,
  Manager,
  type ManagerOptions,
  meaningfulChange,
  objectKey,
  StatusWriter,
} from '../kube/index.js';
import { createLogger } from '../observability/logger.js';
import { createRegistry } from '../observability/metrics.js';
import { helpRequested, type OperatorConfig, parseOperatorConfig, runUsage } from './config.js';
import { type Endpoint, endpointReconciler } from './endpoint/reconciler.js';
import { endpointChanged } from './endpoint/update-filter.js';
import { ENDPOINT_NAME_INDEX, claimantsToWake, claimsProjection, endpointNameIndex } from './endpoint/tenancy.js';
import { OperatorMetrics } from './metrics.js';
import { DEFAULT_WORKSPACE, EndpointResource, WorkspaceResource } from './resources.js';
import { budgetLeaseHandover } from './budget-handover.js';
import { crdDeletionCheck } from './crd-deletion.js';
import { WorkspaceConnections } from './workspace/connections.js';
import { ReferencedSecrets } from './workspace/secrets.js';
import { RefusedCredentials, workspaceChangeAffectsEndpoints } from './workspace/endpoint-wake.js';
import { DefaultWorkspaceCredentials } from './workspace/default-credentials.js';
import { logTrustedCertificates, watchTrustedCertificates } from './ca-bundle.js';
import { workspaceReconciler } from './workspace/reconciler.js';
import { workspaceUsers } from './workspace/deletion.js';

type Workspace = DatabricksWorkspace & KubeObject;

export async function runOperatorCli(argv: string[]): Promise<number> {
  if (helpRequested(argv)) {
    console.log(runUsage());
    return 0;
  }
  const config = parseOperatorConfig(argv);
  const stopReason = await runOperator(config);
  // Lost leadership: exit at once and non-zero so the pod restarts clean, as controller-runtime does. Not a
  // return: open watches and sockets to a hung API server must not keep this process (and its timers) alive.
  if (stopReason === 'leadership-lost') process.exit(1);
  return 0;
}

/** The operator's last log line when it cannot go on (a bad flag, a port already taken, an unreadable kubeconfig). */
export function logFatalError(error: unknown): void {
  createLogger().fatal({ err: causesSaidOnce(error) }, 'pt-operator stopped: fatal error');
}

/**
 * pino appends the message of each cause to err.message; a cause whose message the error's own holds already (our
 * "invalid default workspace (...): <cause>") is left out of the chain, or the line on-call reads says it twice.
 */
function causesSaidOnce(error: unknown): unknown {
  if (!(error instanceof Error) || !(error.cause instanceof Error) || !error.message.includes(error.cause.message)) return error;
  const copy = new Error(error.message, error.cause.cause === undefined ? undefined : { cause: causesSaidOnce(error.cause.cause) });
  copy.name = error.name;
  if (error.stack !== undefined) copy.stack = error.stack;
  return copy;
}

export async function runOperator(config: OperatorConfig, env: NodeJS.ProcessEnv = process.env) {
  // Before any connection: a bad environment (or credentials directory) is a fatal error, not a running operator that cannot serve.
  const defaultCredentials = new DefaultWorkspaceCredentials(env, config.defaultWorkspaceCredentialsDir);
  // --ca-bundle: a file that is missing or holds no certificate stops the operator here.
  const trust = trustedCertificatesFrom(config.caBundle);
  const log = createLogger({ level: config.logLevel });
  // HTTPS_PROXY, HTTP_PROXY and NO_PROXY, as Go (the Terraform provider, the Go SDK) reads them (a value that cannot
  // be honoured stops the operator here, named but not shown: it may hold the proxy's password).
  const { transport, proxy } = transportFromEnvironment(env, trust);
  if (trust) logTrustedCertificates(trust, log);
  if (proxy?.httpsProxy) log.info({ proxy: proxyShownAs(proxy) }, 'calls to Databricks go through a forward proxy');
  else if (proxy) log.info({ proxy: proxyShownAs(proxy) }, 'HTTP_PROXY is set but HTTPS_PROXY is not: https:// workspaces are reached directly, as Go clients reach them');
  const registry = createRegistry();
  const metrics = new OperatorMetrics(registry);
  // The flag (or $KUBECONFIG): one file or a list, looked up as kubectl does (files that do not exist skipped, the others merged).
  const kube = await KubeClient.fromDefault({}, { env: config.kubeconfig ? { ...env, KUBECONFIG: config.kubeconfig } : env });
  // creationTimestamps are the API server's clock: claims of an endpoint name are timed on it (ownership.ts).
  const apiserverClock = new ApiserverClock();
  kube.addResponseObserver((info) => apiserverClock.observe(info.date, info.receivedAt - info.sentAt));
  // GET /version (allowed to every authenticated user) while the bound is loose and a new object waits on it
  const clockProbe = new ClockProbe(apiserverClock, () => kube.request({ method: 'GET', path: '/version' }));

  // The budget of every Databricks host is the operator's, not a workspace's to set.
  const budgets = new RateBudgetRegistry(systemClock, undefined, {
    mutationsPer5Minutes: config.databricksMutationsPer5Minutes,
    readsPerSecond: config.databricksReadsPerSecond,
    readBurst: config.databricksReadBurst,
  });

  const manager = new Manager({
    client: kube,
    log,
    registry,
    ...servingAddresses(config, kube, log),
    shutdownTimeoutMs: config.shutdownTimeout,
    handleSignals: true,
    ...(config.leaderElect && {
      leaderElection: {
        namespace: config.leaderElectionNamespace,
        name: config.leaderElectionId,
        ...(env['POD_NAME'] ? { identity: env['POD_NAME'] } : {}),
        // Databricks counts the predecessor's calls of the last window: so does the next leader.
        handover: budgetLeaseHandover(budgets, () => systemClock.now(), log),
      },
    }),
  });

  const scope = {
    namespaces: config.namespaces,
    ...(config.labelSelector ? { labelSelector: config.labelSelector } : {}),
  };
  const endpoints = manager.informer<Endpoint>({ resource: EndpointResource, ...scope });
  // The ownership rules (tenancy.ts) must see every object of the watched namespaces: a tenant picks its shard just
  // by labelling its own objects. A shard's cache holds only its own, so with --label-selector they read a second,
  // unsharded watch that keeps only the fields they read; without one, the endpoint informer is that cache.
  const claimants = config.labelSelector
    ? manager.informer<Endpoint>({ resource: EndpointResource, namespaces: config.namespaces, transform: claimsProjection })
    : endpoints;
  // They look objects up by the endpoint they name: an index, not a scan per reconcile.
  claimants.addIndex(ENDPOINT_NAME_INDEX, endpointNameIndex);
  const workspaces = manager.informer<Workspace>({ resource: WorkspaceResource, namespaces: config.namespaces });
  // Secrets are read one by one (GET) when a workspace that names them is verified; never listed or watched.
  const secrets = new ReferencedSecrets(kube);
  const crdDeleting = crdDeletionCheck(kube);
  // Only with --default-workspace-namespace-selector: the namespaces whose labels allow the default workspace.
  const selector = config.defaultWorkspaceNamespaceSelector;
  const selectedNamespaces = selector ? manager.informer<KubeObject>({ resource: CoreResources.namespace, labelSelector: selector }) : undefined;
  /** A watch of the namespaces the selector picks (none without one): a namespace labelled or unlabelled wakes `keysOf` it. */
  const onNamespaceSelection = (keysOf: (namespace: string) => string[]) =>
    selectedNamespaces ? [{ informer: selectedNamespaces, map: (ns: KubeObject) => keysOf(ns.metadata.name) }] : [];

  metrics.budgetLimitsFrom(() => budgets.currentLimits());
  const connections = new WorkspaceConnections({
    workspaces,
    secrets,
    defaultConnection: defaultCredentials.current,
    defaultCredentialsSource: defaultCredentials.source,
    federationTokenFile: config.federationTokenFile,
    defaultWorkspaceNamespaces: config.defaultWorkspaceNamespaces,
    ...(selectedNamespaces && { namespaceSelected: (namespace: string) => selectedNamespaces.get(namespace) !== undefined }),
    federationTrustedHosts: config.federationTrustedHosts,
    allowedWorkspaceHosts: config.allowedWorkspaceHosts,
    client: {
      budgets,
      transport,
      retryDeadlineMs: config.databricksTimeout,
      requestTimeoutMs: config.databricksTimeout,
      metrics: metrics.databricksSink(),
      logger: log.child({ component: 'databricks' }),
      // A reconcile that waited (its budget slot, a token, a pause of the whole process) past this replica's lease
      // sends no change: another replica may lead by now, and redoes it.
      mayMutate: () => manager.isLeader,
    },
  });
  const statusWriter = new StatusWriter(kube);
  const events = new EventRecorder(kube, { component: 'pt-operator', instance: env['POD_NAME'], log, metrics: manager.metrics.forEvents() });
  // Events trail the status writes: at a graceful stop, write what the drained reconciles recorded.
  manager.afterDrain(async (timeoutMs) => {
    if (!(await events.flush(timeoutMs))) log.warn({ unwritten: events.queued }, 'Events still unwritten at shutdown');
  });
  // Only the replica that acts counts them: a standby's cache is warm too, and Prometheus sums over the replicas.
  metrics.countEndpointsFrom(() => endpoints.list(), { leading: () => manager.isLeader });

  // One tenant's slow or silent Databricks host must not take the workers the other tenants' objects need.
  const slowReconciles = config.slowReconcileAfter > 0 ? { afterMs: config.slowReconcileAfter, perNamespace: config.maxSlowReconcilesPerNamespace } : undefined;
  // Endpoints whose calls a workspace's credentials were refused for since its last verdict (credentialsRefused below).
  const refusedCredentials = new RefusedCredentials();
  const workspaceController = manager.addController<Workspace>({
    name: 'databricksworkspace',
    primary: workspaces,
    // A host that never answers would hold a worker until --databricks-timeout: slowReconciles gives it back.
    maxConcurrentReconciles: config.concurrency,
    slowReconciles,
    updateFilter: meaningfulChange,
    // A workspace being deleted waits for its endpoint objects: each change of one of them wakes it.
    watches: [
      {
        informer: endpoints,
        map: (e: Endpoint) => {
          const name = e.spec?.workspaceRef?.name;
          const workspace = name ? workspaces.get(`${e.metadata.namespace}/${name}`) : undefined;
          return workspace?.metadata.deletionTimestamp !== undefined ? [objectKey(workspace)] : [];
        },
      },
      // Token federation at the default workspace's host follows the default workspace's namespace rules.
      ...onNamespaceSelection((namespace) =>
        workspaces
          .list(namespace)
          .filter((w) => w.spec?.auth?.tokenFederation !== undefined)
          .map((w) => objectKey(w)),
      ),
    ],
    reconcile: workspaceReconciler({
      workspaces,
      // A shard (--label-selector) caches only its own endpoint objects but serves every workspace: the users
      // of one being deleted are read from the API server, all shards' (it is rare, and one namespace's list).
      usersOf: config.labelSelector
        ? async (namespace, workspace, signal) => workspaceUsers((await kube.list<Endpoint>(EndpointResource, { namespace }, signal)).items, workspace)
        : (namespace, workspace) => workspaceUsers(endpoints.list(namespace), workspace),
      kube,
      crdDeleting,
      secrets,
      connections,
      statusWriter,
      events,
      verifyIntervalMs: config.workspaceVerifyInterval,
      retryIntervalMs: config.workspaceRetryInterval,
      callDeadlineMs: config.databricksTimeout,
      verified: (key, ready) => {
        for (const endpointKey of refusedCredentials.verdict(key, ready)) endpointController.enqueue(endpointKey);
      },
      refusedSinceVerdict: (key) => refusedCredentials.refusedSinceVerdict(key),
      gone: (key) => {
        refusedCredentials.forget(key);
        connections.forget(key);
      },
      identityLearnt: (key) => workspaceController.enqueue(key),
    }),
  });

  const endpointController: Controller<Endpoint> = manager.addController<Endpoint>({
    name: 'provisionedthroughputendpoint',
    primary: endpoints,
    updateFilter: endpointChanged,
    maxConcurrentReconciles: config.concurrency,
    slowReconciles,
    // A workspace becoming ready (or not), or its spec changing, wakes the endpoints that use it, at the read rate.
    watches: [
      {
        informer: workspaces,
        map: (ws: Workspace) =>
          endpoints
            .list(ws.metadata.namespace)
            .filter((e) => e.spec?.workspaceRef?.name === ws.metadata.name)
            .map((e) => objectKey(e)),
        updateFilter: workspaceChangeAffectsEndpoints,
        keysPerSecond: config.databricksReadsPerSecond,
      },
      // An object that claimed an endpoint name going away (of any shard) wakes the others of this shard that claim it
      // (docs/security.md).
      {
        informer: claimants,
        map: (endpoint: Endpoint) =>
          claimantsToWake(endpoint, (name) => claimants.byIndex(ENDPOINT_NAME_INDEX, name)).filter((key) => endpoints.get(key) !== undefined),
      },
      // A namespace labelled (or unlabelled) for the default workspace wakes its endpoints that use it.
      ...onNamespaceSelection((namespace) =>
        endpoints
          .list(namespace)
          .filter((e) => e.spec?.workspaceRef === undefined)
          .map((e) => objectKey(e)),
      ),
    ],
    reconcile: endpointReconciler({
      endpoints,
      connections,
      kube,
      crdDeleting,
      // A refused credential re-verifies the workspace at once: a rotated Secret (or the default workspace's
      // mounted files) is read then.
      credentialsRefused: (workspace, endpointKey, client) => {
        // The environment's credentials (no --default-workspace-credentials-dir) never change: nothing to read again.
        if (workspace === DEFAULT_WORKSPACE && !defaultCredentials.rereadable) return;
        const verify = refusedCredentials.refusedFor(workspace, endpointKey);
        if (workspace !== DEFAULT_WORKSPACE) {
          // Not again for an endpoint the last Ready verdict woke: a host could make the two wake each other forever.
          if (verify) workspaceController.enqueue(workspace);
          return;
        }
        if (defaultCredentials.reload(log)) useNewDefaultCredentials();
        // Refused with credentials the files replaced while its call was out: the current ones have not been tried.
        else if (!connections.isCurrentDefaultClient(client)) wakeRefusedByDefault();
      },
      statusWriter,
      events,
      metrics,
      modelInfoTtlMs: config.modelInfoTtl,
      callDeadlineMs: config.databricksTimeout,
      wake: (key) => endpointController.enqueue(key),
      apiserverNow: () => apiserverClock.lowerBound(),
      apiserverClockWanted: () => clockProbe.tighten(),
      tenancy: {
        endpoints: claimants,
        identityOf: (namespace, workspaceRef) => connections.identityOf(namespace, workspaceRef),
        seesAllOf: (namespace) => config.namespaces.length === 0 || config.namespaces.includes(namespace),
        allowCrossNamespaceAdoption: config.allowCrossNamespaceAdoption,
      },
      settings: {
        pollIntervalMs: config.pollInterval,
        progressIntervalMs: config.progressInterval,
        workspaceRetryMs: config.workspaceRetryInterval,
        capacityPatterns: config.capacityPatterns,
      },
    }),
  });

  // The endpoints the default workspace's credentials were refused for wait for new ones (the files changed), not for a
  // verification: none would find anything new in unchanged files.
  const wakeRefusedByDefault = () => {
    for (const endpointKey of refusedCredentials.verdict(DEFAULT_WORKSPACE, true)) endpointController.enqueue(endpointKey);
  };
  /** The default workspace's files changed (seen by the watch, or read again after a refusal): use them from now on. */
  const useNewDefaultCredentials = () => {
    const connection = defaultCredentials.current;
    if ('error' in connection) return;
    connections.replaceDefaultConnection(connection);
    wakeRefusedByDefault();
    if (manager.isLeader) logDefaultWorkspaceIdentity(connections, config.databricksTimeout, log);
  };
  defaultCredentials.watch(log, useNewDefaultCredentials);
  // A workspace refused for its certificate is verified again at once when the bundle changes, not after its retry interval.
  if (trust) watchTrustedCertificates(trust, log, () => workspaces.list().forEach((w) => workspaceController.enqueue(objectKey(w))));
  // Whom to grant CAN_MANAGE on endpoints the default workspace is to adopt (a DatabricksWorkspace shows it in
  // status.identity; the default workspace has no object): logged once leading, and after each rotation.
  manager.whenLeading(() => logDefaultWorkspaceIdentity(connections, config.databricksTimeout, log));

  log.info({ namespaces: config.namespaces.length ? config.namespaces : 'all', leaderElect: config.leaderElect }, 'pt-operator starting');
  return manager.run();
}

/** Where probes and metrics are served; the deprecated --probe-address keeps its one-port behaviour for a release. */
export function servingAddresses(config: OperatorConfig, kube: KubeClient, log: Logger): Pick<ManagerOptions, 'probes' | 'metrics'> {
  const secure = config.metricsSecure
    ? { tls: metricsCertificateSource(config.metricsCertDir), authorize: delegatedAuthorizer(kube) }
    : {};
  if (config.probeAddress) {
    log.warn('--probe-address (PROBE_ADDRESS) is deprecated and will be removed in the next release: use --metrics-bind-address and --health-probe-bind-address');
    if (config.metricsSecure) throw new Error('--metrics-secure needs /metrics on a port of its own: use --metrics-bind-address instead of --probe-address');
    return { probes: config.probeAddress, metrics: { ...config.probeAddress, withProbes: true } };
  }
  return {
    probes: config.healthProbeBindAddress ?? undefined,
    ...(config.metricsBindAddress && { metrics: { ...config.metricsBindAddress, ...secure } }),
  };
}

/**
 * The metrics certificate, read now (none is a start-up error) and again by the server, which serves a renewed one
 * to new connections: cert-manager renews the Secret and the kubelet rewrites the mounted files without a restart.
 */
function metricsCertificateSource(dir: string): () => { cert: Buffer; key: Buffer } {
  readMetricsCertificate(dir);
  return () => readMetricsCertificate(dir);
}

function readMetricsCertificate(dir: string): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')) };
  } catch (err) {
    throw new Error(`--metrics-secure needs tls.crt and tls.key in --metrics-cert-dir ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Logs who the operator acts as at the default workspace (its credentials' SCIM Me), or that it could not learn it. */
function logDefaultWorkspaceIdentity(connections: WorkspaceConnections, deadlineMs: number, log: Logger): void {
  void connections.defaultWorkspaceIdentity({ maxBudgetWaitMs: 1_000, deadlineMs }).then((found) => {
    if (!found) return;
    if (found.identity === undefined) log.warn({ host: found.host }, 'default workspace: cannot learn the identity the operator acts as (SCIM Me failed); asked again when an endpoint manages permissions');
    else log.info({ host: found.host, identity: found.identity }, 'default workspace: the operator acts as this identity; grant it CAN_MANAGE on endpoints it is to adopt');
  });
}
