// What the operator says at start about --ca-bundle: how many certificates it trusts besides Node's defaults, and whose.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { logTrustedCertificates } from '../../../src/controllers/ca-bundle.js';
import { trustedCertificatesFrom } from '../../../src/databricks/index.js';
import { createTestCa } from '../../support/test-ca.js';

const cas = [createTestCa('Corp Inspection CA'), createTestCa('Private Endpoint CA')];
const dir = mkdtempSync(join(tmpdir(), 'pt-ca-bundle-log-'));
afterAll(() => {
  cas.forEach((ca) => ca.remove());
  rmSync(dir, { recursive: true, force: true });
});

describe('--ca-bundle at start', () => {
  it('none given: nothing is read and Node\'s defaults alone are trusted', () => {
    expect(trustedCertificatesFrom(undefined)).toBeUndefined();
  });

  it('logs how many certificates it adds and their subjects, never the certificates', () => {
    const file = join(dir, 'bundle.pem');
    writeFileSync(file, cas.map((ca) => ca.certificate).join(''));
    const lines: string[] = [];
    logTrustedCertificates(trustedCertificatesFrom(file)!, pino({ level: 'info' }, { write: (line: string) => lines.push(line) }));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      msg: "calls to Databricks trust 2 CA certificate(s) of --ca-bundle besides Node's defaults",
      caBundle: file,
      certificates: 2,
      subjects: ['O=pt-operator tests, CN=Corp Inspection CA', 'O=pt-operator tests, CN=Private Endpoint CA'],
    });
    expect(lines[0]).not.toContain('BEGIN CERTIFICATE');
  });
});
