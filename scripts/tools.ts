// Where the Go-built test tools live: test/controlplane/build.sh builds them into this cache.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const cacheDir = process.env['PT_OPERATOR_CACHE'] ?? join(homedir(), '.cache/pt-operator');

/** The cached helm, built (or reused) by test/controlplane/build.sh. */
export function helmBinary(): string {
  const find = () => {
    const tools = join(cacheDir, 'tools');
    const dir = existsSync(tools) ? readdirSync(tools).filter((d) => d.startsWith('helm-')).sort().pop() : undefined;
    return dir && existsSync(join(tools, dir, 'helm')) ? join(tools, dir, 'helm') : undefined;
  };
  let helm = find();
  if (!helm) {
    execFileSync('bash', [join(repoRoot, 'test/controlplane/build.sh')], { stdio: 'inherit' });
    helm = find();
  }
  if (!helm) throw new Error(`helm not found under ${cacheDir}/tools after test/controlplane/build.sh`);
  return helm;
}
