// A certificate authority of a test's own, as a corporate or private CA: its certificate (PEM) and server certificates
// it signs, made with the openssl binary in a scratch directory. Test infrastructure: nothing here is the operator's.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  /** the CA's certificate, PEM: what a bundle holds */
  certificate: string;
  /** a key and a certificate for `names` (IP addresses and DNS names), signed by the CA */
  issue(names: string[], commonName?: string): { key: string; cert: string };
  remove(): void;
}

let made = 0;
const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function createTestCa(commonName = 'pt-operator test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'pt-test-ca-'));
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/O=pt-operator tests/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', caKey, '-out', caCert]);
  return {
    certificate: readFileSync(caCert, 'utf8'),
    issue(names, cn = names[0] ?? 'server') {
      const base = join(dir, `server-${++made}`);
      const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${base}.key`, '-out', `${base}.csr`]);
      writeFileSync(`${base}.ext`, `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '1', '-extfile', `${base}.ext`, '-out', `${base}.crt`]);
      return { key: readFileSync(`${base}.key`, 'utf8'), cert: readFileSync(`${base}.crt`, 'utf8') };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
