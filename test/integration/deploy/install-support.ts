// Helpers the test/integration/deploy files share (split from install.test.ts).
import { join } from 'node:path';
import { cluster, repoRoot, run } from '../../support/cluster.js';

export interface KubeManifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
}

export const helm = (args: string[]) => run(cluster().helm, args);

export const chart = join(repoRoot, 'charts/pt-operator');
