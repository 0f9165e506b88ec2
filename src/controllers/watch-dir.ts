// Files the operator reads again when they change (a mounted Secret's credentials, a ConfigMap's CA bundle). The
// kubelet updates a mounted volume by swapping its `..data` symlink in one rename: the files' own inodes never change,
// so the directory is watched, not the files, and every event means "read them again, see what changed".
import { type FSWatcher, watch } from 'node:fs';
import type { Logger } from '../kube/index.js';

/** Calls `changed` after each change in `dir` (never keeping the process alive); `unwatchable`: the warning when it cannot. */
export function watchDirectory(dir: string, log: Logger, unwatchable: string, changed: () => void): FSWatcher {
  const watcher = watch(dir, { persistent: false }, () => changed());
  watcher.on('error', (err) => log.warn({ dir, err }, unwatchable));
  return watcher;
}
