// The emulator the demo starts: one GPU-capacity hiccup for the first Llama 3.1 8B rollout.
import type { ScenarioInput } from '../src/emulator/scenario.js';

export function demoScenario(): ScenarioInput {
  return { faults: [{ type: 'capacity', model: 'system.ai.meta_llama_v3_1_8b_instruct', attempts: 1 }] };
}
