// How production starts the operator, read from the one place that defines it (the image's ENTRYPOINT, which
// the chart does not override), so a benchmark runs dist/ with exactly the production node flags.
import { readFileSync } from 'node:fs';
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
