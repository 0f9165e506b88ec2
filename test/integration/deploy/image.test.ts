// Installing pt-operator the ways users do: Helm and kustomize, checked by the real API server.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/cluster.js';

describe('container image (static checks; no Docker engine here)', () => {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

  it('pins its base images to exact versions', () => {
    const images = [...dockerfile.matchAll(/^ARG \w+_IMAGE=(\S+)$/gm)].map((m) => m[1] as string);
    expect(images.length).toBeGreaterThanOrEqual(2);
    // An exact Node 24 release (or a digest): never a floating tag such as node:24 or latest.
    for (const image of images) expect(image).toMatch(/^node:24\.\d+\.\d+-[a-z0-9.-]+$|@sha256:[0-9a-f]{64}$/);
  });

  it('runs as a non-root user with production dependencies only', () => {
    const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });

  it('its entrypoint exists in the built output and runs', () => {
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
    expect(entrypoint.at(-1)).toBe('/app/dist/main.js');
    const out = mkdtempSync(join(tmpdir(), 'pt-build-'));
    execFileSync(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', out], { cwd: repoRoot });
    const help = execFileSync(join(repoRoot, 'node_modules/.bin/node'), [join(out, 'main.js'), '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/pt-operator <command>/);
    expect(help).toMatch(/run\s+run the operator/);
  });
});
