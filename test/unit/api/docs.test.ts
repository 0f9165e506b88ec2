import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_DOC, renderConfigurationDoc } from '../../../scripts/gen-docs.js';
import { OPERATOR_OPTIONS } from '../../../src/controllers/config.js';

describe('docs/configuration.md', () => {
  it('is what the schemas generate (run `npm run gen` when this fails)', () => {
    expect(readFileSync(CONFIGURATION_DOC, 'utf8')).toBe(renderConfigurationDoc());
  });

  it('documents every operator flag and every spec field users touch', () => {
    const doc = renderConfigurationDoc();
    for (const flag of Object.keys(OPERATOR_OPTIONS)) expect(doc).toContain(`\`--${flag}\``);
    for (const field of ['spec.throughput.chunks.min', 'spec.capacityRetry.timeout', 'spec.auth.oauthM2M.secretRef.clientSecretKey', 'spec.rateLimits.mutationsPer5Minutes']) {
      expect(doc).toContain(`\`${field}\``);
    }
  });
});
