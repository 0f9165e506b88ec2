// The demo's last words (issue 16, finding 14): commands to try only for a cluster that is still running.
import { describe, expect, it } from 'vitest';
import { closingAdvice } from '../../scripts/demo-advice.js';

const env = { kubectl: '/cache/kubectl', kubeconfigAdmin: '.demo/cluster/admin.kubeconfig', namespace: 'ml', emulatorUrl: 'http://127.0.0.1:4000' };

describe('demo closing advice', () => {
  it('without --keep the cluster is gone: no commands against it, only how to keep it', () => {
    const text = closingAdvice(false, env);
    expect(text).not.toContain('/cache/kubectl');
    expect(text).not.toContain('__emulator');
    expect(text).toContain('npm run demo -- --keep');
  });

  it('with --keep: the commands, against the running cluster', () => {
    const text = closingAdvice(true, env);
    expect(text).toContain('/cache/kubectl --kubeconfig .demo/cluster/admin.kubeconfig -n ml describe pte llama-chat');
    expect(text).toContain('curl http://127.0.0.1:4000/__emulator/calls');
  });
});
