// How production starts the operator, read from the one place that defines it (the image's ENTRYPOINT, which
// the chart does not override), so a benchmark runs dist/ with exactly the production node flags.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The node flags of the Dockerfile's ENTRYPOINT, e.g. ["--max-semi-space-size=1"] (between "node" and the script). */
export function productionNodeFlags(repoRoot: string): string[] {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (line === undefined) throw new Error('Dockerfile has no ENTRYPOINT ["node", ..., "/app/dist/main.js"]');
  const argv = JSON.parse(line) as string[];
  const script = argv.indexOf('/app/dist/main.js');
  if (argv[0] !== 'node' || script < 0) throw new Error(`unexpected ENTRYPOINT ${line}`);
  return argv.slice(1, script);
}

/** The chart's default `logLevel` (e.g. "info"): what the operator logs costs CPU and memory too. */
export function productionLogLevel(repoRoot: string): string {
  const values = readFileSync(join(repoRoot, 'charts/pt-operator/values.yaml'), 'utf8');
  const level = /^logLevel:\s*"?(\w+)"?\s*$/m.exec(values)?.[1];
  if (level === undefined) throw new Error('charts/pt-operator/values.yaml sets no logLevel');
  return level;
}

/** The chart's default `resources.limits.memory` in bytes (e.g. 512Mi), or undefined when it sets none. */
export function productionMemoryLimitBytes(repoRoot: string): number | undefined {
  const values = readFileSync(join(repoRoot, 'charts/pt-operator/values.yaml'), 'utf8');
  const limit = /^resources:\n(?:[ #].*\n)*?\s+limits:\n\s+memory:\s*(\d+)(Ki|Mi|Gi)\s*$/m.exec(values);
  if (!limit) return undefined;
  return Number(limit[1]) * { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[limit[2] as 'Ki' | 'Mi' | 'Gi'];
}

/**
 * A command that runs `argv` in a memory cgroup of `bytes`, as a Pod with that limit runs: Node sizes V8's heap from
 * the cgroup's limit (on this 24 GiB machine it would allow itself a 4 GiB heap, and a Pod with 512Mi gets about
 * 260 MiB). Needs root and the cgroup v1 memory controller or cgroup v2; undefined when neither is usable.
 */
export function inMemoryCgroup(argv: readonly string[], bytes: number, name: string): { argv: string[]; cleanup(): void } | undefined {
  let self: string;
  try {
    self = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return undefined;
  }
  const v1 = /^\d+:memory:(.*)$/m.exec(self)?.[1];
  const v2 = /^0::(.*)$/m.exec(self)?.[1];
  const [dir, limitFile] =
    v1 !== undefined && existsSync('/sys/fs/cgroup/memory')
      ? [join('/sys/fs/cgroup/memory', v1, name), 'memory.limit_in_bytes']
      : v2 !== undefined && existsSync('/sys/fs/cgroup/cgroup.controllers')
        ? [join('/sys/fs/cgroup', v2, name), 'memory.max']
        : [undefined, undefined];
  if (!dir || !limitFile) return undefined;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, limitFile), String(bytes));
  } catch {
    return undefined;
  }
  const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return {
    // the shell joins the cgroup, then becomes node, so V8 sees the limit from its first instruction
    argv: ['/bin/sh', '-c', `echo $$ > '${join(dir, 'cgroup.procs')}' && exec ${quoted}`],
    cleanup() {
      try {
        rmdirSync(dir);
      } catch {
        /* still in use or gone */
      }
    },
  };
}
