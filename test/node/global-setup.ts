// vitest globalSetup for the node tier: a control plane with node(s) (test/controlplane/up.sh --with-node,
// in <repo>/.cluster-node unless PT_CLUSTER_DIR is set), the operator's image built from this checkout
// and imported into every node. The chart itself (with its CRDs) is installed by the tests, with helm,
// as users do. At the end the cluster is stopped and the host must be as it was: no new mount, no
// firewall change, no sysctl left changed, no process.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { isHealthy, runScript } from '../controlplane/global-setup.js';
import { readClusterEnv, repoRoot } from '../support/cluster.js';
import { hostChanges, hostState } from './host-state.js';

declare module 'vitest' {
  export interface ProvidedContext {
    operatorImage: string;
  }
}

export const OPERATOR_IMAGE = 'pt-operator.test/pt-operator:dev';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const directory = process.env.PT_CLUSTER_DIR ?? join(repoRoot, '.cluster-node');
  process.env.PT_CLUSTER_DIR = directory;
  process.env.PT_WITH_NODE = '1';
  const before = hostState(directory);
  const reused = (await isHealthy(directory)) && readClusterEnv(directory).nodeCount > 0;
  if (reused) {
    console.warn(`node global-setup: reusing the running cluster in ${directory} (it is left running)`);
  } else {
    await runScript('up.sh', process.env);
  }
  const teardown = async (): Promise<void> => {
    if (reused || process.env.PT_KEEP_CLUSTER === '1') return;
    await runScript('down.sh', process.env);
    const changes = hostChanges(before, hostState(directory), directory);
    if (changes.length > 0) throw new Error(`the node tier left the host changed:\n${changes.join('\n')}`);
  };
  try {
    await runScript('build-image.sh', process.env, ['--import', '--name', OPERATOR_IMAGE]);
    project.provide('cluster', readClusterEnv(directory));
    project.provide('operatorImage', OPERATOR_IMAGE);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
