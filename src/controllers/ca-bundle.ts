// --ca-bundle at start and after: the certificates the calls to Databricks trust besides Node's roots. A bad file stops
// the operator at start (one line naming the flag and the file, never its content); a changed file is read again (a
// ConfigMap the kubelet updates, e.g. by trust-manager), a bad change keeps the certificates trusted so far.
import { dirname } from 'node:path';
import type { FSWatcher } from 'node:fs';
import type { TrustedCertificates } from '../databricks/index.js';
import type { Logger } from '../kube/index.js';
import { watchDirectory } from './watch-dir.js';

/** Subjects said in a log line: a whole system bundle given as the bundle would fill one with 150. */
const SUBJECTS_LOGGED = 20;
const shown = (subjects: string[]) => (subjects.length > SUBJECTS_LOGGED ? [...subjects.slice(0, SUBJECTS_LOGGED), `... and ${subjects.length - SUBJECTS_LOGGED} more`] : subjects);

/** The start-up line: how many certificates are trusted besides Node's defaults, and whose (their subjects). */
export function logTrustedCertificates(trust: TrustedCertificates, log: Logger): void {
  const { file, source } = trust.from;
  const { subjects, expired } = trust.extra;
  log.info({ caBundle: file, from: source, certificates: subjects.length, subjects: shown(subjects) }, `calls to Databricks trust ${subjects.length} CA certificate(s) of --ca-bundle besides Node's defaults`);
  if (expired.length > 0) log.warn({ caBundle: file, expired: shown(expired) }, 'the CA bundle holds certificates past their end date: they verify nothing');
}

/** Reads the bundle again after each change of its directory; `changed` after the trusted certificates changed. */
export function watchTrustedCertificates(trust: TrustedCertificates, log: Logger, changed: () => void): FSWatcher {
  const { file, source } = trust.from;
  return watchDirectory(dirname(file), log, `cannot watch ${source} ${file}; a changed bundle is used after a restart`, () => {
    const { changed: isNew, problem } = trust.reload();
    if (problem !== undefined) log.warn({ caBundle: file, problem }, 'the CA bundle is unusable after a change; the certificates trusted so far are kept');
    if (!isNew) return;
    log.info({ caBundle: file, certificates: trust.extra.subjects.length, subjects: shown(trust.extra.subjects) }, 'the CA bundle changed; new connections to Databricks trust its certificates');
    changed();
  });
}
