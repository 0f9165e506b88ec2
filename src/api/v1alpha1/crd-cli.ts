import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderCrds } from './crd.js';

/** `pt-operator crds [--out DIR] [--check]`: write the CRDs, or fail when the checked-in ones are stale. */
export async function runCrdsCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string', default: 'crds' }, check: { type: 'boolean', default: false } },
  });
  const dir = values.out;
  let stale = 0;
  await mkdir(dir, { recursive: true });
  for (const [file, text] of renderCrds()) {
    const path = join(dir, file);
    if (values.check) {
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
  return stale === 0 ? 0 : 1;
}
