// Where the API server is and how to authenticate to it. The two set-ups production and tests use, the Pod's
// service account (in-cluster) and a kubeconfig whose user is a client certificate, a token or a token file, are
// read here; anything else (exec plugins, auth providers, proxies, merging a KUBECONFIG list) is handed to
// @kubernetes/client-node's KubeConfig, loaded only then. Why not always the library: importing it loads its
// whole generated API (every Kubernetes type and client, ~20 MiB of source kept by V8), about 80 MiB of RSS for a
// process that only needs the config loader, a third of the operator's memory budget (docs/benchmarks.md).
import type { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface KubeTls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface KubeConnection {
  server: string;
  tls: KubeTls;
  /** The credential headers, read again on each call (rotated service-account and exec tokens). */
  authHeaders(): Promise<Record<string, string>>;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface DefaultSources {
  env?: NodeJS.ProcessEnv;
  home?: string;
  serviceAccountDir?: string;
}

/**
 * As kubectl and client-go look: $KUBECONFIG, else ~/.kube/config, else the Pod's service account. The files of a
 * $KUBECONFIG list that do not exist are skipped, as kubectl skips them; a list naming no file that exists is an error.
 */
export async function defaultConnection(sources: DefaultSources = {}): Promise<KubeConnection> {
  const env = sources.env ?? process.env;
  const listed = env['KUBECONFIG']?.split(delimiter).filter(Boolean) ?? [];
  const kubeconfig = listed.filter((file) => existsSync(file));
  if (listed.length > 0 && kubeconfig.length === 0) throw new Error(`KUBECONFIG (or --kubeconfig) names no file that exists: ${listed.join(', ')}`);
  if (kubeconfig.length === 1) return connectionFromFile(kubeconfig[0]!);
  if (kubeconfig.length === 0) {
    const home = join(sources.home ?? homedir(), '.kube', 'config');
    if (existsSync(home)) return connectionFromFile(home);
    const serviceAccountDir = sources.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
    if (existsSync(join(serviceAccountDir, 'token'))) return inClusterConnection(env, serviceAccountDir);
  }
  // several kubeconfig files to merge (as client-node's loadFromDefault, on the files that exist), or nothing at all
  // (client-node then tries localhost:8080)
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (kubeconfig.length === 0) kc.loadFromDefault();
  for (const [i, file] of kubeconfig.entries()) {
    if (i === 0) {
      kc.loadFromFile(file);
      continue;
    }
    // kubectl's rule: the first file to set a value or a name wins (client-node's own merge lets the last
    // current-context win and refuses a name seen before).
    const next = new KubeConfig();
    next.loadFromFile(file);
    const unseen = <T extends { name: string }>(mine: readonly T[], theirs: readonly T[]) => theirs.filter((t) => !mine.some((m) => m.name === t.name));
    next.clusters = unseen(kc.clusters, next.clusters);
    next.users = unseen(kc.users, next.users);
    next.contexts = unseen(kc.contexts, next.contexts);
    kc.mergeConfig(next, kc.currentContext !== '');
  }
  return connectionFromKubeConfig(kc);
}

/** The Pod's service account, as client-go's rest.InClusterConfig: the token file is re-read on every refresh. */
export function inClusterConnection(env: NodeJS.ProcessEnv, serviceAccountDir: string = SERVICE_ACCOUNT_DIR): KubeConnection {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) throw new Error('in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set');
  const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
  const tokenFile = join(serviceAccountDir, 'token');
  return {
    server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    tls: { ca: readFileSync(join(serviceAccountDir, 'ca.crt')) },
    authHeaders: async () => ({ Authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` }),
  };
}

export async function connectionFromFile(path: string): Promise<KubeConnection> {
  const simple = simpleKubeconfig(readFileSync(path, 'utf8'), dirname(path));
  if (simple !== undefined) return simple;
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return connectionFromKubeConfig(kc);
}

/** Any KubeConfig (every auth method client-node supports). */
export async function connectionFromKubeConfig(kc: KubeConfig): Promise<KubeConnection> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const tls: RequestOptions = {};
  await kc.applyToHTTPSOptions(tls);
  return {
    server: cluster.server.replace(/\/$/, ''),
    tls: {
      ca: tls.ca as string | Buffer | undefined,
      cert: tls.cert as string | Buffer | undefined,
      key: tls.key as string | Buffer | undefined,
      ...(tls.rejectUnauthorized !== undefined && { rejectUnauthorized: tls.rejectUnauthorized }),
      ...(tls.servername !== undefined && { servername: tls.servername }),
    },
    async authHeaders() {
      const opts: RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      if (opts.auth) headers['Authorization'] = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      return headers;
    },
  };
}

const CLUSTER_FIELDS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name']);
const USER_FIELDS = new Set(['client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'token', 'tokenFile', 'username', 'password']);

interface Named<T> {
  name: string;
  cluster?: T;
  user?: T;
  context?: T;
}

/**
 * The connection of a kubeconfig whose current context uses only the fields above (no exec plugin, auth provider,
 * proxy or extensions); undefined for anything else. Relative file paths are relative to the kubeconfig's folder.
 */
export function simpleKubeconfig(text: string, baseDir: string): KubeConnection | undefined {
  const config = (parse(text) ?? {}) as {
    'current-context'?: string;
    contexts?: Named<{ cluster?: string; user?: string }>[];
    clusters?: Named<Record<string, unknown>>[];
    users?: Named<Record<string, unknown>>[];
  };
  const context = config.contexts?.find((c) => c.name === config['current-context'])?.context;
  const cluster = config.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = context?.user === undefined ? {} : config.users?.find((u) => u.name === context.user)?.user;
  if (cluster === undefined || user === undefined || typeof cluster['server'] !== 'string') return undefined;
  if (Object.keys(cluster).some((k) => !CLUSTER_FIELDS.has(k)) || Object.keys(user).some((k) => !USER_FIELDS.has(k))) return undefined;

  const file = (p: unknown) => readFileSync(isAbsolute(String(p)) ? String(p) : join(baseDir, String(p)));
  const material = (data: unknown, path: unknown): Buffer | undefined =>
    typeof data === 'string' ? Buffer.from(data, 'base64') : path !== undefined ? file(path) : undefined;
  const ca = material(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = material(user['client-certificate-data'], user['client-certificate']);
  const key = material(user['client-key-data'], user['client-key']);
  const skipVerify = cluster['insecure-skip-tls-verify'] === true;
  const servername = cluster['tls-server-name'];
  const { token, tokenFile, username, password } = user;
  return {
    server: cluster['server'].replace(/\/$/, ''),
    tls: {
      ...(ca && { ca }),
      ...(cert && { cert }),
      ...(key && { key }),
      ...(skipVerify && { rejectUnauthorized: false }),
      ...(typeof servername === 'string' && { servername }),
    },
    // kubectl's order: a token, then a token file (re-read: it may be rotated), then basic auth
    async authHeaders(): Promise<Record<string, string>> {
      if (typeof token === 'string' && token !== '') return { Authorization: `Bearer ${token}` };
      if (tokenFile !== undefined) return { Authorization: `Bearer ${file(tokenFile).toString('utf8').trim()}` };
      if (typeof username === 'string') return { Authorization: `Basic ${Buffer.from(`${username}:${String(password ?? '')}`).toString('base64')}` };
      return {};
    },
  };
}
