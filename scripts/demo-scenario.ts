// The emulator the demo starts: one GPU-capacity hiccup for the first Llama 3.1 8B rollout, the Unity Catalog
// schemas the examples' inference tables need, and the endpoint "made in a notebook" that the imported example adopts.
import type { ScenarioInput } from '../src/emulator/scenario.js';
import { examplePreexistingEndpoints, exampleUnityCatalog } from '../test/support/examples.js';

export function demoScenario(): ScenarioInput {
  return {
    faults: [{ type: 'capacity', model: 'system.ai.meta_llama_v3_1_8b_instruct', attempts: 1 }],
    unityCatalog: exampleUnityCatalog(),
    endpoints: examplePreexistingEndpoints(),
  };
}
