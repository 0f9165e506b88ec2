// A directory as the kubelet keeps a mounted Secret (or a projected volume): each version in a directory of its own,
// `..data` a symlink to the current one, swapped in one atomic rename, and each key a symlink through `..data`.
// Tests of what reads such a volume again (credentials, certificates) write it the way the kubelet does.
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

let versions = 0;

/** Writes `files` into `dir` as a new version of the volume; the files' paths in `dir` see it at once. */
export function writeSecretVolume(dir: string, files: Record<string, string | Buffer>): void {
  const version = `..${Date.now()}_${++versions}`;
  mkdirSync(join(dir, version));
  for (const [name, value] of Object.entries(files)) writeFileSync(join(dir, version, name), value);
  symlinkSync(version, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // linked through ..data already
    }
  }
}
