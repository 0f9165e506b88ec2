import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { renderCrds } from './crd.js';

const usage = `usage: pt-operator crds [--out <dir>]... [--check]

  --out    directory to write the CRDs to; repeat for several (default: crds)
  --check  write nothing; exit 1 naming each file that differs from what would be written`;

/** The flags of `pt-operator crds`. */
export const CRDS_OPTIONS = { out: { type: 'string', multiple: true, default: ['crds'] }, check: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } satisfies ParseArgsOptionsConfig;

/** `pt-operator crds [--out DIR]... [--check]`: write the CRDs, or fail when the checked-in ones are stale. */
export async function runCrdsCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: CRDS_OPTIONS,
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  let stale = 0;
  for (const dir of values.out) {
    if (!values.check) await mkdir(dir, { recursive: true });
    stale += await writeOrCheck(dir, values.check);
  }
  return stale === 0 ? 0 : 1;
}

async function writeOrCheck(dir: string, check: boolean): Promise<number> {
  let stale = 0;
  for (const [file, text] of renderCrds()) {
    const path = join(dir, file);
    if (check) {
      const current = await readFile(path, 'utf8').catch(() => '');
      if (current !== text) {
        stale++;
        console.error(`${path} is stale: run \`npm run gen\` and commit the result`);
      }
    } else {
      await writeFile(path, text);
      console.log(`wrote ${path}`);
    }
  }
  return stale;
}
