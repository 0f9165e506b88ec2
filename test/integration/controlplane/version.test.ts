// The control plane is the real thing: built from the pinned Kubernetes release, with the version
// stamped in, and the operator identity is a ServiceAccount user outside system:masters.
import { describe, expect, it } from 'vitest';
import { cluster, kubectlOk } from '../../support/cluster.js';

describe('test control plane', () => {
  it('serves /version with the Kubernetes release it was built from', async () => {
    const version = JSON.parse(await kubectlOk(['get', '--raw', '/version'])) as Record<string, string>;
    const [major, minor] = cluster().k8sVersion.replace(/^v/, '').split('.');
    expect(version).toMatchObject({ gitVersion: cluster().k8sVersion, major, minor, gitTreeState: 'clean' });
  });

  it('uses a kubectl of the same release', async () => {
    const versions = JSON.parse(await kubectlOk(['version', '-o', 'json'])) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(versions.clientVersion.gitVersion).toBe(cluster().k8sVersion);
    expect(versions.serverVersion.gitVersion).toBe(cluster().k8sVersion);
  });

  it('authenticates the operator kubeconfig as the chart ServiceAccount, not as an admin', async () => {
    const review = JSON.parse(await kubectlOk(['auth', 'whoami', '-o', 'json'], { as: 'operator' })) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    const { operatorNamespace, operatorServiceAccount } = cluster();
    expect(review.status.userInfo.username).toBe(`system:serviceaccount:${operatorNamespace}:${operatorServiceAccount}`);
    expect(review.status.userInfo.groups).toEqual(
      expect.arrayContaining(['system:serviceaccounts', `system:serviceaccounts:${operatorNamespace}`, 'system:authenticated']),
    );
    expect(review.status.userInfo.groups).not.toContain('system:masters');
  });
});
