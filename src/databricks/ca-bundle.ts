// Extra certificate authorities for the calls to Databricks (--ca-bundle): a TLS-inspecting forward proxy's CA, or
// the private CA of a private endpoint. Trusted in addition to Node's defaults, for the workspace (directly or through
// a proxy's tunnel) and for an https:// proxy itself. The file is checked at start (a bad one stops the operator,
// named, never shown) and can be read again when it changes (a ConfigMap the kubelet updates): the transport then
// opens its new connections with the new set (transport.ts).
import { readFileSync } from 'node:fs';
import { createSecureContext, getCACertificates, type SecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';

/** How the bundle is named in messages: the flag and its variable (the operator's and the import CLI's). */
export const CA_BUNDLE_FLAG = '--ca-bundle (CA_BUNDLE)';

export interface CaBundleSource {
  file: string;
  /** how it was given, for messages (CA_BUNDLE_FLAG) */
  source: string;
}

/**
 * The bundle of --ca-bundle (or CA_BUNDLE), or none. SSL_CERT_FILE and SSL_CERT_DIR are not read (docs/security.md):
 * in Go they replace the system roots rather than add to them, and base images set them to the system bundle.
 */
export function caBundleSource(flag: string | undefined): CaBundleSource | undefined {
  return flag?.trim() ? { file: flag.trim(), source: CA_BUNDLE_FLAG } : undefined;
}

export interface CaBundle {
  /** each certificate of the file, in PEM */
  certificates: string[];
  /** their subjects (one line each), for the start-up log */
  subjects: string[];
  /** subjects of certificates past their end date (trusting them does nothing) */
  expired: string[];
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)(?:-----END \1-----|$)/g;

/**
 * The certificates of a PEM file. Throws one line naming `source` and the file, never its content: the file cannot be
 * read, holds no certificate, holds a private key (a Secret mounted in the wrong place), or a certificate that is not one.
 */
export function readCaBundle({ file, source }: CaBundleSource): CaBundle {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file (is the ConfigMap or Secret mounted there?)' : code === 'EISDIR' ? 'it is a directory: give the PEM file in it' : `cannot read it (${code ?? (err as Error).message})`;
    throw new Error(`${source} ${file}: ${why}`, { cause: err });
  }
  const bundle: CaBundle = { certificates: [], subjects: [], expired: [] };
  for (const [block, kind, body] of text.matchAll(PEM_BLOCK)) {
    if (/PRIVATE KEY/.test(kind ?? '')) throw new Error(`${source} ${file}: holds a private key; a CA bundle holds certificates only (was a Secret with a key mounted there?)`);
    if (kind !== 'CERTIFICATE') continue;
    const position = bundle.certificates.length + 1;
    if (!block.endsWith('-----END CERTIFICATE-----')) throw new Error(`${source} ${file}: certificate ${position} has no -----END CERTIFICATE----- line`);
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(`-----BEGIN CERTIFICATE-----${body}-----END CERTIFICATE-----\n`);
    } catch {
      throw new Error(`${source} ${file}: certificate ${position} is not a valid X.509 certificate`);
    }
    const subject = cert.subject.split('\n').join(', ');
    bundle.certificates.push(cert.toString());
    bundle.subjects.push(subject);
    if (Date.parse(cert.validTo) < Date.now()) bundle.expired.push(subject);
  }
  if (bundle.certificates.length === 0) throw new Error(`${source} ${file}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return bundle;
}

/**
 * The certificates trusted for the calls: Node's defaults and the bundle's, kept current with the file. `version` goes up
 * each time the set changes, so the transport knows its connections were made with an older one.
 */
export class TrustedCertificates {
  private bundle: CaBundle;
  private trusted: string[];
  private context: SecureContext | undefined;
  private changes = 0;
  /** Why the file was last found unusable, until it is usable again. */
  private lastProblem: string | undefined;

  constructor(readonly from: CaBundleSource) {
    this.bundle = readCaBundle(from);
    this.trusted = [...getCACertificates('default'), ...this.bundle.certificates];
  }

  /**
   * What Node trusts by default (its roots, NODE_EXTRA_CA_CERTS, the system's with --use-system-ca) and the bundle's
   * certificates: the `ca` of every TLS connection to Databricks or the proxy.
   */
  get ca(): readonly string[] {
    return this.trusted;
  }

  /** A TLS context trusting `ca`, made once per version: each connection given `ca` itself would parse every root again. */
  get secureContext(): SecureContext {
    return (this.context ??= createSecureContext({ ca: [...this.trusted] }));
  }

  get extra(): CaBundle {
    return this.bundle;
  }

  get version(): number {
    return this.changes;
  }

  /**
   * Reads the file again. `changed`: new certificates are trusted now; `problem`: the file is unusable (mid-update, or
   * wrong), the certificates trusted so far are kept, said once until the file is usable again.
   */
  reload(): { changed: boolean; problem?: string } {
    let next: CaBundle;
    try {
      next = readCaBundle(this.from);
    } catch (err) {
      const problem = (err as Error).message;
      const repeated = problem === this.lastProblem;
      this.lastProblem = problem;
      return repeated ? { changed: false } : { changed: false, problem };
    }
    this.lastProblem = undefined;
    if (next.certificates.join('') === this.bundle.certificates.join('')) return { changed: false };
    this.bundle = next;
    this.trusted = [...getCACertificates('default'), ...next.certificates];
    this.context = undefined;
    this.changes++;
    return { changed: true };
  }
}

/** The bundle of --ca-bundle (or CA_BUNDLE), read and checked; undefined without one. Throws on a bad file. */
export function trustedCertificatesFrom(flag: string | undefined): TrustedCertificates | undefined {
  const source = caBundleSource(flag);
  return source && new TrustedCertificates(source);
}
