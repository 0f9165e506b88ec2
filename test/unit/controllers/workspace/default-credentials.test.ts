// The default workspace's credentials from a mounted Secret (--default-workspace-credentials-dir): what the files
// mean, what is said when they are unusable (never their values), and that a rotation is picked up without a
// restart, the OAuth M2M token cache included.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkspaceConnections } from '../../../../src/controllers/workspace/connections.js';
import { defaultConnectionFrom, DefaultWorkspaceCredentials } from '../../../../src/controllers/workspace/default-credentials.js';
import { startEmulator } from '../../../../src/emulator/server.js';
import { writeSecretVolume } from '../../../support/secret-volume.js';

const HOST = 'https://adb-1.azuredatabricks.net';
const env = { DATABRICKS_HOST: HOST, DATABRICKS_TOKEN: 'dapi-from-env' };
const silent = pino({ level: 'silent' });

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A directory as the kubelet keeps a mounted Secret: files linked through ..data, swapped in one rename. */
function secretVolume(files: Record<string, string>): { dir: string; update(files: Record<string, string>): void } {
  const dir = mkdtempSync(join(tmpdir(), 'pt-creds-unit-'));
  dirs.push(dir);
  const update = (next: Record<string, string>) => writeSecretVolume(dir, next);
  update(files);
  return { dir, update };
}

describe('the default workspace from a credentials directory', () => {
  it.each([
    ['a PAT', { token: 'dapi-file\n' }, { type: 'pat', token: 'dapi-file' }],
    ['OAuth M2M', { 'client-id': 'sp-id', 'client-secret': 'sp-secret\n' }, { type: 'oauth-m2m', clientId: 'sp-id', clientSecret: 'sp-secret' }],
    ['a PAT before OAuth M2M, as the SDKs order them', { token: 'dapi-file', 'client-id': 'sp-id', 'client-secret': 'sp-secret' }, { type: 'pat', token: 'dapi-file' }],
  ])('%s: the files, not the environment', (_what, files, auth) => {
    expect(defaultConnectionFrom(env, { dir: '/creds', files })).toEqual({ host: HOST, auth });
  });

  it('no DATABRICKS_HOST: no default workspace, as without the directory', () => {
    expect(defaultConnectionFrom({}, { dir: '/creds', files: { token: 'dapi-file' } })).toEqual({ error: 'DATABRICKS_HOST is not set' });
  });

  it.each([
    [{}, /found none of them/],
    [{ token: '  \n' }, /found none of them/],
    [{ 'client-id': 'sp-id' }, /client-secret is missing \(OAuth M2M needs both\) \(non-empty: client-id\)/],
    [{ 'client-secret': 'hunter2' }, /client-id is missing/],
    [{ token: 'dapi-x\u0000hunter2' }, /file token in \/creds holds characters not allowed in an HTTP header/],
  ])('unusable files (%j) are said clearly, without a value', (files, reason) => {
    const read = () => defaultConnectionFrom(env, { dir: '/creds', files });
    expect(read).toThrow(reason);
    expect(read).not.toThrow(/hunter2|dapi-x|dapi-from-env/);
  });

  it('at start, a missing directory or key is a start-up error naming the flag and the directory', () => {
    expect(() => new DefaultWorkspaceCredentials(env, '/nonexistent/creds')).toThrow(
      /^invalid default workspace \(--default-workspace-credentials-dir \/nonexistent\/creds\): \/nonexistent\/creds is not a directory/,
    );
    const { dir } = secretVolume({ 'client-id': 'sp-id' });
    expect(() => new DefaultWorkspaceCredentials(env, dir)).toThrow(/client-secret is missing/);
  });

  it('without a directory: the environment, read once (a reload never changes it)', () => {
    const credentials = new DefaultWorkspaceCredentials(env, undefined);
    expect(credentials.current).toEqual({ host: HOST, auth: { type: 'pat', token: 'dapi-from-env' } });
    expect(credentials.reload(silent)).toBe(false);
  });

  it('a reload after the kubelet swapped the files: changed once; unusable files keep the last good credentials', () => {
    const volume = secretVolume({ token: 'dapi-old' });
    const credentials = new DefaultWorkspaceCredentials(env, volume.dir);
    expect(credentials.reload(silent)).toBe(false);
    volume.update({ token: 'dapi-new' });
    expect(credentials.reload(silent)).toBe(true);
    expect(credentials.current).toEqual({ host: HOST, auth: { type: 'pat', token: 'dapi-new' } });
    expect(credentials.reload(silent)).toBe(false);
    volume.update({ token: '' });
    expect(credentials.reload(silent)).toBe(false);
    expect(credentials.current).toEqual({ host: HOST, auth: { type: 'pat', token: 'dapi-new' } });
  });

  // Every endpoint whose call the default workspace's credentials were refused for reads the files again: with an
  // emptied key and 1,000 endpoints retrying every 30 s, one warning per refused call was 33 lines a second.
  it('unusable files are logged once for as long as they stay so, not once per refused endpoint', () => {
    const volume = secretVolume({ token: 'dapi-old' });
    const credentials = new DefaultWorkspaceCredentials(env, volume.dir);
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    volume.update({ token: '' });
    for (let refused = 0; refused < 5; refused++) expect(credentials.reload(log)).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('default workspace credentials unusable after a change');
    volume.update({ token: 'dapi-new' });
    expect(credentials.reload(log)).toBe(true);
    volume.update({ 'client-id': 'sp-id' }); // unusable in another way: said again
    for (let refused = 0; refused < 3; refused++) credentials.reload(log);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toContain('client-secret is missing');
  });

  it('a watch tells of the swap of ..data, as the kubelet makes it', async () => {
    const volume = secretVolume({ token: 'dapi-old' });
    const credentials = new DefaultWorkspaceCredentials(env, volume.dir);
    const changed = new Promise<void>((resolve) => credentials.watch(silent, resolve));
    volume.update({ token: 'dapi-new' });
    await changed;
    credentials.close();
    expect(credentials.current).toEqual({ host: HOST, auth: { type: 'pat', token: 'dapi-new' } });
  });
});

describe('a rotated OAuth M2M client secret', () => {
  it('gets a new client: a token is requested with the new secret, the one cached for the old secret is never sent again', async () => {
    const emulator = await startEmulator({ scenario: { auth: { clients: [{ id: 'sp', secret: 'old-secret' }] } }, speed: 1 });
    try {
      const volume = secretVolume({ 'client-id': 'sp', 'client-secret': 'old-secret' });
      const credentials = new DefaultWorkspaceCredentials({ DATABRICKS_HOST: emulator.url }, volume.dir);
      const connections = new WorkspaceConnections({
        workspaces: { get: () => undefined },
        secrets: { get: () => undefined },
        defaultConnection: credentials.current,
        federationTokenFile: '/nonexistent/token',
        defaultWorkspaceNamespaces: ['ml'],
        federationTrustedHosts: [],
        client: {},
      });
      const before = connections.forEndpoint('ml', undefined).client;
      await before?.listEndpoints();
      const tokens = () => emulator.emulator.calls.query({ operation: 'token', status: 200 }).length;
      expect(tokens()).toBe(1);

      emulator.emulator.auth.rotate({ clients: [{ id: 'sp', secret: 'new-secret', readOnly: false }] });
      volume.update({ 'client-id': 'sp', 'client-secret': 'new-secret' });
      expect(credentials.reload(silent)).toBe(true);
      connections.replaceDefaultConnection(credentials.current as Exclude<typeof credentials.current, { error: string }>);

      // A call refused with the old client, made before the files changed, is told apart from one with the new.
      expect(connections.isCurrentDefaultClient(before!)).toBe(false);
      const after = connections.forEndpoint('ml', undefined).client;
      expect(after).not.toBe(before);
      expect(connections.isCurrentDefaultClient(after!)).toBe(true);
      await after?.listEndpoints();
      expect(tokens()).toBe(2);
    } finally {
      await emulator.close();
    }
  });
});

// With the chart the credentials are the mounted Secret's files, so a Secret whose key is empty stops the operator at
// start with "invalid default workspace (--default-workspace-credentials-dir …)". docs/troubleshooting.md's section on
// CrashLoopBackOff quoted only the environment's form: a chart user searching the page for the log line found nothing.
describe('docs/troubleshooting.md on an operator that exits at start', () => {
  it('quotes the error a chart install gives for an unusable mounted Secret', () => {
    const volume = secretVolume({ token: '' });
    let message = '';
    try {
      new DefaultWorkspaceCredentials(env, volume.dir);
    } catch (err) {
      message = (err as Error).message;
    }
    const section = readFileSync(join(import.meta.dirname, '../../../../docs/troubleshooting.md'), 'utf8').split('## The operator exits at start')[1]!.split(/^## /m)[0]!.replaceAll('\n', ' ');
    expect(message).toContain(`invalid default workspace (--default-workspace-credentials-dir ${volume.dir}): `);
    expect(section).toContain('invalid default workspace (--default-workspace-credentials-dir');
    expect(section).toContain(/holds no usable credentials/.exec(message)![0]);
  });
});

// docs/security.md told a platform team that after updating the Secret "the old one can be revoked at once". Revoked
// before the kubelet has updated the files (its sync period, a minute by default), every default-workspace endpoint is
// held back (WorkspaceNotReady, a Warning each) until it has. The page must say when the new credentials are in use:
// the line the operator logs then.
describe('docs/security.md on rotating the default workspace credentials', () => {
  it('says to revoke the old credential once the operator logs that it uses the new one, quoting that line', () => {
    const volume = secretVolume({ token: 'dapi-old' });
    const lines: string[] = [];
    const credentials = new DefaultWorkspaceCredentials(env, volume.dir);
    volume.update({ token: 'dapi-new' });
    expect(credentials.reload(pino({ level: 'info' }, { write: (line: string) => lines.push(line) }))).toBe(true);
    const logged = (JSON.parse(lines[0]!) as { msg: string }).msg;
    const section = readFileSync(join(import.meta.dirname, '../../../../docs/security.md'), 'utf8').split('## The default workspace')[1]!.split(/^## /m)[0]!.replaceAll('\n', ' ');
    expect(section).not.toContain('the old one can be revoked at once');
    expect(section).toContain(`\`${logged}\``);
  });
});
