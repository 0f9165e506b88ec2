// README's "Install in a cluster" is what a new platform team pastes first. The chart mounts
// defaultWorkspace.existingSecret into the operator's Pod, so while that Secret is missing the Pods never start
// (FailedMount) and `kubectl rollout status` (the chart's NOTES, step 1) waits forever. The commands must create it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '../..');

/** The first sh block under README's "## Install in a cluster". */
function installBlock(): string {
  const section = readFileSync(join(root, 'README.md'), 'utf8').split('## Install in a cluster')[1]?.split(/^## /m)[0];
  const block = section && /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README has no sh block under "## Install in a cluster"');
  return block[1]!;
}

describe('README install commands', () => {
  it('create the Secret named as defaultWorkspace.existingSecret, with its key, in the release namespace, before helm install', () => {
    const commands = installBlock();
    const helmAt = commands.indexOf('helm install');
    const namespace = /helm install .*?(?:-n|--namespace) (\S+)/.exec(commands)?.[1];
    const secret = /defaultWorkspace\.existingSecret=(\S+)/.exec(commands)?.[1];
    const values = parse(readFileSync(join(root, 'charts/pt-operator/values.yaml'), 'utf8')) as { defaultWorkspace: { tokenKey: string } };
    expect(namespace).toBeDefined();
    expect(secret).toBeDefined();
    const before = commands.slice(0, helmAt);
    expect(before).toContain(`kubectl create namespace ${namespace}`);
    expect(before).toMatch(new RegExp(`kubectl -n ${namespace} create secret generic ${secret} --from-literal=${values.defaultWorkspace.tokenKey}=`));
  });
});
