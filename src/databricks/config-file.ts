// A profile of the Databricks config file (~/.databrickscfg, or DATABRICKS_CONFIG_FILE), as the Databricks CLI, the
// SDKs and the Terraform provider read it: `pt-operator import --profile prod` connects as `provider "databricks" {
// profile = "prod" }` does. Only for the import CLI: the operator takes its credentials from its Pod (auth.ts).
//
// The SDKs' rules (reference §4): the profile is --profile, else DATABRICKS_CONFIG_PROFILE, else DEFAULT; with no
// profile named, a host or credentials in the environment mean the file is not read at all; what the environment sets
// wins over the profile's value of the same key. The file is INI as Python's configparser reads it, hand-read here
// (see README.md: the `ini` package nests a dotted section name such as [sp.staging] and takes no `key: value` lines).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type WorkspaceConnection, workspaceConnectionFromEnv } from './auth.js';
import { DatabricksError } from './errors.js';

/** The keys of a profile the operator's credentials use, and the variables they stand for. */
const PROFILE_KEYS = {
  host: 'DATABRICKS_HOST',
  token: 'DATABRICKS_TOKEN',
  client_id: 'DATABRICKS_CLIENT_ID',
  client_secret: 'DATABRICKS_CLIENT_SECRET',
  auth_type: 'DATABRICKS_AUTH_TYPE',
} as const;

/** Variables that configure credentials: with one of them (or a host) and no profile named, the file is not read. */
const CONFIGURING = ['DATABRICKS_HOST', 'DATABRICKS_TOKEN', 'DATABRICKS_CLIENT_ID', 'DATABRICKS_CLIENT_SECRET', 'DATABRICKS_OIDC_TOKEN_FILEPATH'];

const set = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

const configFileError = (message: string) => new DatabricksError({ kind: 'Auth', message, errorCode: 'CREDENTIALS_NOT_CONFIGURED' });

/**
 * The profiles of a config file's text, each a map of its keys (lower case, as configparser keeps them). A line that is
 * neither a section, a `key = value` (or `key: value`), a comment (`#`, `;`) nor blank is named by its number only: it
 * may be a token pasted alone.
 */
export function parseConfigFile(text: string, file: string): Map<string, Map<string, string>> {
  const profiles = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      const name = (section[1] as string).trim();
      current = profiles.get(name) ?? new Map<string, string>();
      profiles.set(name, current);
      continue;
    }
    const pair = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(line);
    if (!pair) throw configFileError(`the Databricks config file ${file}: line ${index + 1} is neither a [profile] nor a "key = value" line`);
    if (!current) throw configFileError(`the Databricks config file ${file}: line ${index + 1} is outside any [profile]`);
    current.set((pair[1] as string).toLowerCase(), pair[2] as string);
  }
  return profiles;
}

/**
 * The connection `pt-operator import` makes: the environment's variables, and those of a profile of the config file
 * where the SDKs would read one (`profileFlag`: --profile). Throws naming the file and the profile, never a value.
 */
export function workspaceConnectionFromConfig(env: NodeJS.ProcessEnv, profileFlag?: string): WorkspaceConnection {
  const named = [profileFlag, env['DATABRICKS_CONFIG_PROFILE']].find(set)?.trim();
  if (named === undefined && CONFIGURING.some((variable) => set(env[variable]))) return workspaceConnectionFromEnv(env);
  const file = set(env['DATABRICKS_CONFIG_FILE']) ? env['DATABRICKS_CONFIG_FILE'].trim() : join(env['HOME'] ?? homedir(), '.databrickscfg');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // no file and no profile named: the environment alone, as the SDKs do
    if (named === undefined && code === 'ENOENT') return workspaceConnectionFromEnv(env);
    throw configFileError(`cannot read the Databricks config file ${file} for profile [${named ?? 'DEFAULT'}]: ${code === 'ENOENT' ? 'no such file' : (code ?? (err as Error).message)}`);
  }
  const profiles = parseConfigFile(text, file);
  const profile = profiles.get(named ?? 'DEFAULT');
  if (!profile) {
    if (named === undefined) return workspaceConnectionFromEnv(env);
    throw configFileError(`the Databricks config file ${file} has no profile [${named}] (it has ${[...profiles.keys()].join(', ') || 'none'})`);
  }
  const fromProfile: NodeJS.ProcessEnv = {};
  for (const [key, variable] of Object.entries(PROFILE_KEYS)) {
    const value = profile.get(key);
    if (value !== undefined && !set(env[variable])) fromProfile[variable] = value;
  }
  const merged = { ...env, ...fromProfile };
  const [host, ...credentials] = CONFIGURING;
  if (set(merged[host as string]) && !credentials.some((variable) => set(merged[variable]))) {
    // e.g. a profile of Azure CLI or service-principal credentials, which the operator does not read
    throw configFileError(`no Databricks credentials: profile [${named ?? 'DEFAULT'}] of ${file} holds none the operator reads (token, or client_id and client_secret), nor does the environment`);
  }
  return workspaceConnectionFromEnv(merged);
}
