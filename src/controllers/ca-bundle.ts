// --ca-bundle at start and after: the certificates the calls to Databricks trust besides Node's roots. A bad file stops
// the operator at start (one line naming the flag and the file, never its content); a changed file is read again (a
// ConfigMap the kubelet updates, e.g. by trust-manager; and once a minute, for changes the watch does not see), a bad
// change keeps the certificates trusted so far.
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

/**
 * How often the bundle is read again whatever the watch saw: a change nothing signals in the watched directory (the file
 * a symlink into another one, a volume whose events do not reach the watch, a watch that could not be set up) is used
 * within this time, with no restart. Reading a small file once a minute costs nothing.
 */
export const CA_BUNDLE_REREAD_MS = 60_000;

/**
 * Reads the bundle again after each change of its directory and every `rereadEveryMs`; `changed` after the trusted
 * certificates changed. Neither keeps the process alive; `close` stops both.
 */
export function watchTrustedCertificates(trust: TrustedCertificates, log: Logger, changed: () => void, { rereadEveryMs = CA_BUNDLE_REREAD_MS } = {}): { close(): void } {
  const { file, source } = trust.from;
  const readAgain = () => {
    const { changed: isNew, problem } = trust.reload();
    if (problem !== undefined) log.warn({ caBundle: file, problem }, 'the CA bundle is unusable after a change; the certificates trusted so far are kept');
    if (!isNew) return;
    log.info({ caBundle: file, certificates: trust.extra.subjects.length, subjects: shown(trust.extra.subjects) }, 'the CA bundle changed; new connections to Databricks trust its certificates');
    changed();
  };
  const watcher: FSWatcher = watchDirectory(dirname(file), log, `cannot watch ${source} ${file}; a changed bundle is read within ${rereadEveryMs / 1000} s`, readAgain);
  const timer = setInterval(readAgain, rereadEveryMs).unref();
  return {
    close() {
      watcher.close();
      clearInterval(timer);
    },
  };
}
