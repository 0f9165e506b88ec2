// The default workspace's credentials from files (--default-workspace-credentials-dir, where the chart mounts the
// Secret defaultWorkspace.existingSecret): the kubelet rewrites them when the Secret changes, so a rotated PAT or
// client secret is read again when a file changes or Databricks refuses the credentials, with no restart.
// Values are never logged or put in an error: only file names and the directory are.
import { type FSWatcher, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { unfitForHeader, type WorkspaceConnection, workspaceConnectionFromEnv } from '../../databricks/index.js';
import type { Logger } from '../../kube/index.js';
import { watchDirectory } from '../watch-dir.js';

/** The files of the directory and the Databricks variables they stand for (the chart's defaults for the Secret's keys). */
export const CREDENTIAL_FILES = { token: 'DATABRICKS_TOKEN', 'client-id': 'DATABRICKS_CLIENT_ID', 'client-secret': 'DATABRICKS_CLIENT_SECRET' } as const;
export type CredentialFile = keyof typeof CREDENTIAL_FILES;
export type CredentialFiles = Partial<Record<CredentialFile, string>>;

export type DefaultConnection = WorkspaceConnection | { error: string };

/**
 * The default workspace: the host and DATABRICKS_AUTH_TYPE from the environment; the credentials from the files of
 * `dir` when it is given (the environment's DATABRICKS_TOKEN, _CLIENT_ID and _CLIENT_SECRET are then not used), else
 * from the environment as before. No DATABRICKS_HOST: no default workspace (why). Set but unusable: an error.
 */
export function defaultConnectionFrom(env: NodeJS.ProcessEnv, credentials?: { dir: string; files: CredentialFiles }): DefaultConnection {
  if (!env['DATABRICKS_HOST']?.trim()) return { error: 'DATABRICKS_HOST is not set' };
  if (!credentials) return workspaceConnectionFromEnv(env);
  const { dir, files } = credentials;
  const values = Object.fromEntries(Object.entries(files).map(([name, value]) => [name, value?.trim() || undefined])) as CredentialFiles;
  for (const [name, value] of Object.entries(values)) {
    if (value && unfitForHeader(value)) throw new Error(`file ${name} in ${dir} holds characters not allowed in an HTTP header (control or non-ASCII characters); store the credential alone in the Secret`);
  }
  if (!values.token && !(values['client-id'] && values['client-secret'])) {
    const m2m = values['client-id'] !== undefined || values['client-secret'] !== undefined;
    const found = (Object.keys(CREDENTIAL_FILES) as CredentialFile[]).filter((name) => values[name]);
    const missing = m2m ? `${values['client-id'] ? 'client-secret' : 'client-id'} is missing (OAuth M2M needs both)` : 'found none of them';
    throw new Error(
      `${dir} holds no usable credentials: it needs a non-empty file token (a PAT), or client-id and client-secret (OAuth M2M); ${missing}${found.length ? ` (non-empty: ${found.join(', ')})` : ''}. Check the Secret's keys (chart values defaultWorkspace.existingSecret, tokenKey, clientIdKey, clientSecretKey)`,
    );
  }
  const fromFiles = Object.fromEntries((Object.keys(CREDENTIAL_FILES) as CredentialFile[]).map((name) => [CREDENTIAL_FILES[name], values[name]]));
  return workspaceConnectionFromEnv({ ...env, ...fromFiles });
}

/** Whether two connections send the same credentials to the same host. */
export function sameConnection(a: DefaultConnection, b: DefaultConnection): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The credential files of `dir` (a file that does not exist: absent). The directory itself must exist. */
export function readCredentialFiles(dir: string): CredentialFiles {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${dir} is not a directory (is the Secret mounted there?)`);
  const files: CredentialFiles = {};
  for (const name of Object.keys(CREDENTIAL_FILES) as CredentialFile[]) {
    try {
      files[name] = readFileSync(join(dir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${join(dir, name)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  }
  return files;
}

/**
 * The default workspace's connection, kept current with its files. Unusable files after a change (a Secret being
 * edited) keep the last good credentials, and the log says why; at start they are an error, as the environment's are.
 */
export class DefaultWorkspaceCredentials {
  private connection: DefaultConnection;
  private watcher: FSWatcher | undefined;
  /** Why the files were last found unusable, until they are usable again: said once, not on every refused call. */
  private lastProblem: string | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly dir: string | undefined,
  ) {
    try {
      this.connection = this.read();
    } catch (err) {
      const source = dir ? `--default-workspace-credentials-dir ${dir}` : 'DATABRICKS_* environment';
      // the messages never hold a credential
      throw new Error(`invalid default workspace (${source}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  get current(): DefaultConnection {
    return this.connection;
  }

  /** Whether they can change without a restart: files of a directory, and a default workspace at all. */
  get rereadable(): boolean {
    return this.dir !== undefined && !('error' in this.connection);
  }

  /** Where the credentials come from, for messages (never their values). */
  get source(): string {
    return this.dir ? `the files in ${this.dir}` : 'its DATABRICKS_* environment';
  }

  /** Reads the files again; true when the credentials changed (they are current then). Without a directory: never. */
  reload(log: Logger): boolean {
    if (!this.dir || !this.rereadable) return false;
    let next: DefaultConnection;
    try {
      next = this.read();
    } catch (err) {
      const problem = (err as Error).message;
      if (problem !== this.lastProblem) log.warn({ dir: this.dir, problem }, 'default workspace credentials unusable after a change; the previous ones are kept');
      this.lastProblem = problem;
      return false;
    }
    this.lastProblem = undefined;
    if (sameConnection(next, this.connection)) return false;
    this.connection = next;
    log.info({ dir: this.dir, authType: 'auth' in next ? next.auth.type : undefined }, 'default workspace credentials changed; using the new ones');
    return true;
  }

  /** Calls `changed` after each change of the files that changes the credentials (the kubelet's swap of ..data). */
  watch(log: Logger, changed: () => void): void {
    if (!this.dir || !this.rereadable || this.watcher) return;
    this.watcher = watchDirectory(this.dir, log, 'cannot watch the default workspace credentials; they are read again when Databricks refuses them', () => {
      if (this.reload(log)) changed();
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private read(): DefaultConnection {
    return this.dir ? defaultConnectionFrom(this.env, { dir: this.dir, files: readCredentialFiles(this.dir) }) : defaultConnectionFrom(this.env);
  }
}
