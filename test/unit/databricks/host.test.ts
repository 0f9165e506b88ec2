import { describe, expect, it } from 'vitest';
import { isLoopbackHostname, normaliseHost } from '../../../src/databricks/host.js';

describe('normaliseHost', () => {
  it.each([
    ['https://ADB-123.4.AzureDatabricks.net/', 'https://adb-123.4.azuredatabricks.net'],
    ['https://adb-123.4.azuredatabricks.net:443', 'https://adb-123.4.azuredatabricks.net'],
    ['  dbc-a1b2.cloud.databricks.com  ', 'https://dbc-a1b2.cloud.databricks.com'],
    ['https://host.example:8443/', 'https://host.example:8443'],
    ['HTTP://127.0.0.1:8080/', 'http://127.0.0.1:8080'],
    ['http://localhost:3000', 'http://localhost:3000'],
    ['http://[::1]:9000/', 'http://[::1]:9000'],
    ['http://127.45.0.2:80', 'http://127.45.0.2'],
  ])('%s → %s', (raw, expected) => {
    expect(normaliseHost(raw)).toBe(expected);
  });

  it('gives one key for every spelling of one workspace', () => {
    // the fully qualified form (trailing dot) too: it would otherwise claim endpoint names apart from the other spellings
    const spellings = ['https://X.example.com', 'https://x.example.com/', 'x.example.com', 'https://x.example.com:443/api', 'https://x.example.com.', 'x.example.com.:443/'];
    expect(new Set(spellings.map(normaliseHost)).size).toBe(1);
  });

  it.each([
    ['http://adb-123.azuredatabricks.net', /only allowed for loopback/],
    ['http://10.0.0.1:8080', /only allowed for loopback/],
    ['http://128.0.0.1', /only allowed for loopback/],
    ['ftp://x.example.com', /must use https/],
    ['', /empty/],
    ['https://', /not a URL/],
    // A browser URL of a workspace carries ?o=<id>; a query or fragment is refused, never silently dropped.
    ['https://dbc-a1b2.cloud.databricks.com/?o=123#x', /must not contain a query/],
    ['https://dbc-a1b2.cloud.databricks.com#@evil.example.com', /must not contain a query/],
  ])('refuses %s', (raw, message) => {
    expect(() => normaliseHost(raw)).toThrow(message);
  });

  it('refuses userinfo without echoing it', () => {
    expect(() => normaliseHost('https://user:s3cr3t-passw0rd@x.example.com')).toThrow(/must not contain credentials/);
    try {
      normaliseHost('https://user:s3cr3t-passw0rd@x.example.com');
    } catch (err) {
      expect(String(err)).not.toContain('s3cr3t');
    }
  });

  it('refuses port 0 (nothing listens there; it was retried as an unreachable host)', () => {
    expect(() => normaliseHost('https://x.example.com:0')).toThrow(/port must be from 1 to 65535/);
    expect(() => normaliseHost('https://x.example.com:99999')).toThrow(/not a URL/);
  });

  it('a value with userinfo that is not even a URL is not echoed either', () => {
    expect(() => normaliseHost('https://user:s3cr3t@[x.example.com')).toThrow(/^workspace host is not a URL$/);
  });
});

describe('isLoopbackHostname', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.1.2', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['10.1.1.1', false],
    ['localhost.example.com', false],
    ['::2', false],
  ])('%s → %s', (hostname, expected) => {
    expect(isLoopbackHostname(hostname)).toBe(expected);
  });
});
