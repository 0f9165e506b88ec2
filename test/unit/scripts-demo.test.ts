// The demo's last words (issue 16, finding 14): commands to try only for a cluster that is still running.
import { describe, expect, it } from 'vitest';
import { closingAdvice } from '../../scripts/demo-advice.js';
import { demoScenario } from '../../scripts/demo-scenario.js';
import { Emulator } from '../../src/emulator/emulator.js';
import { exampleManifests } from '../support/examples.js';

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

// The demo applies every example of deploy/examples to its emulator. llama-chat-ai-gateway names an inference table
// in main.serving_logs ("the catalog and schema must exist"), which the emulator's Unity Catalog did not have: the demo
// ended "every endpoint is Ready" with that example's AI Gateway Rejected and the endpoint Stalled=True.
describe("the demo's emulator", () => {
  it('has the Unity Catalog schema of every inference table the examples name', () => {
    const emulator = new Emulator({ scenario: demoScenario() });
    const schemas = exampleManifests('http://127.0.0.1:1')
      .map((obj) => (obj.spec['aiGateway'] as { inferenceTables?: { catalogName: string; schemaName: string } } | undefined)?.inferenceTables)
      .filter((table) => table !== undefined)
      .map((table) => `${table.catalogName}.${table.schemaName}`);
    expect(schemas.length).toBeGreaterThan(0);
    const missing = schemas.filter((fullName) => {
      try {
        emulator.getSchema(fullName);
        return false;
      } catch {
        return true;
      }
    });
    expect(missing).toEqual([]);
  });
});
