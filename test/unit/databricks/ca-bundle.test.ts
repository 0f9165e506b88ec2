// --ca-bundle's file at start: what it trusts, and every way it can be wrong, each refused with one line that names the
// flag and the file and never shows what the file holds.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { caBundleSource, readCaBundle, TrustedCertificates } from '../../../src/databricks/ca-bundle.js';
import { errorFromNetworkFailure } from '../../../src/databricks/errors.js';
import { createTestCa, type TestCa } from '../../support/test-ca.js';

// made at load: the tables below hold its certificate
const ca: TestCa = createTestCa('Corp Inspection CA');
const dir = mkdtempSync(join(tmpdir(), 'pt-ca-bundle-unit-'));
const FLAG = '--ca-bundle (CA_BUNDLE)';

afterAll(() => {
  ca.remove();
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
/** A bundle file holding `text`. */
function bundle(text: string): string {
  const file = join(dir, `bundle-${++files}.pem`);
  writeFileSync(file, text);
  return file;
}

/** The one-line error reading `file` gives, which must not quote the file. */
function refusal(file: string, content = ''): string {
  let message = '';
  try {
    readCaBundle({ file, source: FLAG });
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).not.toContain('\n');
  if (content.length > 20) expect(message).not.toContain(content.slice(30, 60));
  return message;
}

describe('readCaBundle: what a bundle trusts', () => {
  it('each certificate of the file, with its subject, whatever surrounds them (comments, other PEM blocks, CRLF)', () => {
    const second = createTestCa('Private Endpoint CA');
    try {
      const text = `# corporate roots\r\n${ca.certificate.replaceAll('\n', '\r\n')}\nsome text\n-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n${second.certificate}`;
      const read = readCaBundle({ file: bundle(text), source: FLAG });
      expect(read.subjects).toEqual(['O=pt-operator tests, CN=Corp Inspection CA', 'O=pt-operator tests, CN=Private Endpoint CA']);
      expect(read.certificates).toHaveLength(2);
      expect(read.expired).toEqual([]);
    } finally {
      second.remove();
    }
  });

  it("adds to what Node trusts by default (its roots, NODE_EXTRA_CA_CERTS), it does not replace them", () => {
    const trust = new TrustedCertificates({ file: bundle(ca.certificate), source: FLAG });
    expect(trust.ca).toEqual([...getCACertificates('default'), ...trust.extra.certificates]);
    expect(trust.ca.length).toBeGreaterThan(100);
  });

  it('is named by --ca-bundle or CA_BUNDLE only: SSL_CERT_FILE (set to the system bundle by base images) is not read', () => {
    expect(caBundleSource('/etc/corp/ca.pem')).toEqual({ file: '/etc/corp/ca.pem', source: FLAG });
    expect(caBundleSource(undefined)).toBeUndefined();
    expect(caBundleSource('  ')).toBeUndefined();
  });
});

describe('readCaBundle: a bad file stops the operator at start, named, never shown', () => {
  it('a file that does not exist', () => {
    expect(refusal(join(dir, 'nope.pem'))).toBe(`${FLAG} ${join(dir, 'nope.pem')}: no such file (is the ConfigMap or Secret mounted there?)`);
  });

  it('a directory (the mount point instead of the file in it)', () => {
    expect(refusal(dir)).toBe(`${FLAG} ${dir}: it is a directory: give the PEM file in it`);
  });

  it.each([
    ['an empty file', ''],
    ['a certificate in DER or base64 without PEM lines', ca.certificate.replace(/-----[A-Z ]+-----/g, '')],
    ['a public key', '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n'],
  ])('%s: no certificate', (_what, text) => {
    const file = bundle(text);
    expect(refusal(file, text)).toBe(`${FLAG} ${file}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  });

  it('a private key (a TLS Secret mounted as the bundle): refused, the key never quoted', () => {
    const { key, cert } = ca.issue(['example.com']);
    const file = bundle(`${cert}${key}`);
    expect(refusal(file, key)).toBe(`${FLAG} ${file}: holds a private key; a CA bundle holds certificates only (was a Secret with a key mounted there?)`);
  });

  it('a certificate whose body is damaged, by its position', () => {
    const lines = ca.certificate.split('\n');
    lines[3] = 'AAAA' + (lines[3] ?? '').slice(4).split('').reverse().join('');
    const file = bundle(`${ca.certificate}${lines.join('\n')}`);
    expect(refusal(file, lines.join('\n'))).toBe(`${FLAG} ${file}: certificate 2 is not a valid X.509 certificate`);
  });

  it('a certificate cut short (no END line)', () => {
    const cut = ca.certificate.slice(0, ca.certificate.indexOf('-----END'));
    const file = bundle(cut);
    expect(refusal(file, cut)).toBe(`${FLAG} ${file}: certificate 1 has no -----END CERTIFICATE----- line`);
  });
});

describe('an untrusted certificate, as users see it', () => {
  it.each(['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT'])(
    '%s: says the certificate is not trusted and how to trust the CA; nothing was sent',
    (code) => {
      const err = errorFromNetworkFailure({ err: Object.assign(new Error('self-signed certificate in certificate chain'), { code }), method: 'GET', path: '/api/2.0/serving-endpoints', timedOut: false });
      expect(err.message).toBe(
        `GET /api/2.0/serving-endpoints failed: the TLS certificate of the host (or of the https:// proxy) is not trusted; nothing was sent. If a TLS-inspecting proxy or a private CA signs it, trust that CA's certificate (PEM) with --ca-bundle (CA_BUNDLE; chart value caBundle); if not, check that the host is the workspace (${code}: self-signed certificate in certificate chain)`,
      );
      expect(err.errorCode).toBe(code);
      expect(err.requestMaybeSent).toBe(false);
    },
  );

  it('an expired certificate is not called untrusted (a bundle would not help)', () => {
    const err = errorFromNetworkFailure({ err: Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }), method: 'GET', path: '/p', timedOut: false });
    expect(err.message).toBe('GET /p failed: network error CERT_HAS_EXPIRED: certificate has expired');
  });
});
