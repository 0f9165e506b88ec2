// `pt-operator import --profile`: a profile of ~/.databrickscfg, as the Databricks CLI, the SDKs and the Terraform
// provider read it, so a Terraform user imports with the profile their provider block names.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { workspaceConnectionFromConfig as connect } from '../../../src/databricks/config-file.js';

const dir = mkdtempSync(join(tmpdir(), 'pt-databrickscfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A config file with this text; the environment that names it. */
function configFile(text: string): NodeJS.ProcessEnv {
  const file = join(dir, `databrickscfg-${files++}`);
  writeFileSync(file, text);
  return { DATABRICKS_CONFIG_FILE: file };
}

const CFG = `; written by databricks configure
[DEFAULT]
host = https://adb-1.2.azuredatabricks.net
token = dapi-default

[prod]
host  =  https://adb-3.4.azuredatabricks.net/
token = dapi-prod

# a service principal
[sp.staging]
host: https://dbc-5.cloud.databricks.com
client_id = 11111111-2222-3333-4444-555555555555
client_secret = dose-secret
azure_tenant_id = unused
`;

describe('a profile of the Databricks config file', () => {
  it('--profile names it: its host and token', () => {
    expect(connect(configFile(CFG), 'prod')).toEqual({ host: 'https://adb-3.4.azuredatabricks.net', auth: { type: 'pat', token: 'dapi-prod' } });
  });

  it('DATABRICKS_CONFIG_PROFILE names it; a name with dots and "key: value" lines, as Python\'s configparser reads them', () => {
    const env = { ...configFile(CFG), DATABRICKS_CONFIG_PROFILE: 'sp.staging' };
    expect(connect(env)).toEqual({
      host: 'https://dbc-5.cloud.databricks.com',
      auth: { type: 'oauth-m2m', clientId: '11111111-2222-3333-4444-555555555555', clientSecret: 'dose-secret' },
    });
  });

  it('no profile named: DEFAULT, unless the environment sets a host or credentials (then the file is not read, as the SDKs do)', () => {
    expect(connect(configFile(CFG)).auth).toEqual({ type: 'pat', token: 'dapi-default' });
    const own = { ...configFile(CFG), DATABRICKS_HOST: 'https://adb-9.9.azuredatabricks.net', DATABRICKS_TOKEN: 'dapi-env' };
    expect(connect(own)).toEqual({ host: 'https://adb-9.9.azuredatabricks.net', auth: { type: 'pat', token: 'dapi-env' } });
    // a host alone in the environment: DEFAULT's token is not taken for it
    expect(() => connect({ ...configFile(CFG), DATABRICKS_HOST: 'https://adb-9.9.azuredatabricks.net' })).toThrow(/no Databricks credentials/);
  });

  it('a profile named and the environment: what the environment sets wins, the rest comes from the profile', () => {
    const env = { ...configFile(CFG), DATABRICKS_TOKEN: 'dapi-env' };
    expect(connect(env, 'prod')).toEqual({ host: 'https://adb-3.4.azuredatabricks.net', auth: { type: 'pat', token: 'dapi-env' } });
  });

  it('no file and no profile named: the environment alone', () => {
    const env = { DATABRICKS_CONFIG_FILE: join(dir, 'none'), DATABRICKS_HOST: 'https://adb-1.2.azuredatabricks.net', DATABRICKS_TOKEN: 'dapi-env' };
    expect(connect(env)).toEqual({ host: 'https://adb-1.2.azuredatabricks.net', auth: { type: 'pat', token: 'dapi-env' } });
    expect(() => connect({ HOME: join(dir, 'no-home') })).toThrow(/DATABRICKS_HOST is not set/);
  });

  it('~/.databrickscfg by default (HOME)', () => {
    const home = mkdtempSync(join(dir, 'home-'));
    writeFileSync(join(home, '.databrickscfg'), CFG);
    expect(connect({ HOME: home }, 'prod').auth).toEqual({ type: 'pat', token: 'dapi-prod' });
  });

  it.each<[string, NodeJS.ProcessEnv, string | undefined, RegExp]>([
    ['a profile the file does not have: its name, the file and the profiles it has', configFile(CFG), 'dev', /has no profile \[dev\] \(it has DEFAULT, prod, sp\.staging\)/],
    ['a profile named and no file', { DATABRICKS_CONFIG_FILE: join(dir, 'none') }, 'prod', /cannot read the Databricks config file .*none.*no such file/],
    ['a line that is not "key = value": its number, never its text (it may hold a token)', configFile('[prod]\nhost = https://x.cloud.databricks.com\ndapi-a-token-pasted-alone\n'), 'prod', /line 3 is neither a \[profile\] nor a "key = value" line/],
    ['a key before any profile', configFile('token = dapi-x\n[prod]\n'), 'prod', /line 1 is outside any \[profile\]/],
  ])('%s: a clear error', (_, env, profile, message) => {
    let error: Error | undefined;
    try {
      connect(env, profile);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toMatch(/dapi-/);
  });

  it('a profile with only credentials the operator does not support: says which profile, and what it reads', () => {
    const env = configFile('[azure]\nhost = https://adb-1.2.azuredatabricks.net\nazure_client_id = x\nazure_client_secret = y\n');
    expect(() => connect(env, 'azure')).toThrow(/profile \[azure\] of .*databrickscfg-\d+ holds none the operator reads \(token, or client_id and client_secret\)/);
  });
});
