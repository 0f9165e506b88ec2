// The emulator the demo starts: one GPU-capacity hiccup for the first Llama 3.1 8B rollout, and the Unity Catalog
// schemas the examples' inference tables need.
import type { ScenarioInput } from '../src/emulator/scenario.js';
import { exampleUnityCatalog } from '../test/support/examples.js';

export function demoScenario(): ScenarioInput {
  return {
    faults: [{ type: 'capacity', model: 'system.ai.meta_llama_v3_1_8b_instruct', attempts: 1 }],
    unityCatalog: exampleUnityCatalog(),
  };
}
