import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DatabricksWorkspace, ProvisionedThroughputEndpoint, parseDurationMs } from '../../../src/api/v1alpha1/index.js';
import { admittedUnusualObjects, badObjects, edgeObjects } from '../../fixtures/bad-objects.js';

const schemaFor = (obj: Record<string, unknown>) =>
  obj['kind'] === 'DatabricksWorkspace' ? DatabricksWorkspace : ProvisionedThroughputEndpoint;

// deploy/argocd/example holds the manifests docs/argocd.md has a team sync; they are examples as much as these.
const examples = ['deploy/examples', 'deploy/argocd/example']
  .flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => join(dir, f)))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8'))
      .map((doc) => doc.toJS() as Record<string, unknown> | null)
      .filter((obj): obj is Record<string, unknown> => obj !== null && typeof obj['kind'] === 'string')
      .filter((obj) => String(obj['apiVersion']).startsWith('serving.ptoperator.io/'))
      .map((obj) => ({ file, obj })),
  );

describe('examples in deploy/examples and deploy/argocd/example', () => {
  it('include the guide case, scale to zero, model units, PAT and OAuth M2M workspaces', () => {
    const specs = examples.map(({ obj }) => JSON.stringify(obj['spec']));
    expect(specs.some((s) => s.includes('"chunks":{"min":2,"max":3}'))).toBe(true);
    expect(specs.some((s) => s.includes('"tokensPerSecond":{"min":0'))).toBe(true);
    expect(specs.some((s) => s.includes('"modelUnits"'))).toBe(true);
    expect(specs.some((s) => s.includes('"token":{"secretRef"'))).toBe(true);
    expect(specs.some((s) => s.includes('"oauthM2M"'))).toBe(true);
  });

  it.each(examples.map(({ file, obj }) => [`${file}: ${(obj['metadata'] as { name: string }).name}`, obj]))(
    '%s parses',
    (_label, obj) => {
      const result = schemaFor(obj).safeParse(obj);
      expect(result.error?.issues ?? []).toEqual([]);
    },
  );
});

describe('bad objects are rejected with a message that says what to fix', () => {
  it('has a catalog of at least 20', () => {
    expect(badObjects.length).toBeGreaterThanOrEqual(20);
  });

  it.each(badObjects.map((b) => [b.name, b] as const))('%s', (_name, bad) => {
    const result = schemaFor(bad.object).safeParse(bad.object);
    expect(result.success).toBe(false);
    const messages = result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n') ?? '';
    const expected = bad.zodMessage ?? bad.message;
    expect(expected, 'catalog entry needs message or zodMessage').toBeDefined();
    expect(messages).toContain(expected);
  });
});

describe('edge values admission takes', () => {
  it.each(edgeObjects.map((e) => [e.name, e.object] as const))('%s parses', (_name, object) => {
    expect(schemaFor(object).safeParse(object).error?.issues ?? []).toEqual([]);
  });
});

describe('odd values the API server admits (RE2 semantics) are read by the operator too', () => {
  it.each(admittedUnusualObjects.map((e) => [e.name, e.object] as const))('%s parses', (_name, object) => {
    expect(schemaFor(object).safeParse(object).error?.issues ?? []).toEqual([]);
  });
});

describe('workspace hosts with a port', () => {
  it.each(['https://adb-1.2.azuredatabricks.net:1', 'https://adb-1.2.azuredatabricks.net:443/', 'https://adb-1.2.azuredatabricks.net:65535', 'https://[2001:db8::1]:8443', 'http://127.0.0.1:8089', 'http://[::1]:65535', 'http://localhost'])(
    '%s is admitted',
    (host) => {
      expect(DatabricksWorkspace.safeParse({ apiVersion: 'serving.ptoperator.io/v1alpha1', kind: 'DatabricksWorkspace', metadata: { name: 'w' }, spec: { host, auth: { token: { secretRef: { name: 's', key: 'token' } } } } }).success).toBe(true);
    },
  );
});

describe('defaults', () => {
  it('fills deletionPolicy, burstScaling and the capacity retry budget', () => {
    const parsed = ProvisionedThroughputEndpoint.parse({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'ProvisionedThroughputEndpoint',
      metadata: { name: 'x' },
      spec: { model: { name: 'a.b.c', version: '1' }, throughput: { chunks: { min: 1, max: 1 } } },
    });
    expect(parsed.spec.deletionPolicy).toBe('Delete');
    expect(parsed.spec.burstScaling).toBe(true);
    expect(parsed.spec.capacityRetry).toEqual({ initialBackoff: '2m', maxBackoff: '30m', timeout: '6h' });
  });
});

// The API server counts a string's length in characters (code points: OpenAPI maxLength, CEL size()); the
// operator's own check counted UTF-16 units, so a tag of emoji that admission took was then called too long, with a
// wrong message (session 11).
describe('tag lengths are counted as the API server counts them', () => {
  const withTags = (tags: Record<string, string>) =>
    ProvisionedThroughputEndpoint.safeParse({
      apiVersion: 'serving.ptoperator.io/v1alpha1',
      kind: 'ProvisionedThroughputEndpoint',
      metadata: { name: 'x' },
      spec: { model: { name: 'a.b.c', version: '1' }, throughput: { chunks: { min: 1, max: 1 } }, tags },
    });
  it.each([
    ['a key of 127 emoji', { ['🚀'.repeat(127)]: 'v' }, true],
    ['a value of 255 emoji', { k: '🚀'.repeat(255) }, true],
    ['a key of 128 emoji', { ['🚀'.repeat(128)]: 'v' }, false],
    ['a value of 256 emoji', { k: '🚀'.repeat(256) }, false],
  ])('%s', (_, tags, ok) => {
    expect(withTags(tags).success).toBe(ok);
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['0', 0],
    ['90s', 90_000],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it('refuses words', () => {
    expect(() => parseDurationMs('2 minutes')).toThrow(/invalid duration/);
  });
});
