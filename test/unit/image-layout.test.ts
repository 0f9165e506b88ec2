// The image the node tier runs (test/controlplane/build-image.sh, no container engine) must be the image
// users build from the Dockerfile: same paths, user, entrypoint, command, environment and Node version.
// Either file changing alone fails here, so the two cannot drift.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { productionMemoryLimitBytes, productionNodeFlags } from '../../bench/lib/production.js';

const repoRoot = join(import.meta.dirname, '../..');

interface FinalStage {
  image: string;
  workdir: string;
  user: string;
  env: string[];
  entrypoint: string[];
  cmd: string[];
  expose: string[];
  /** absolute destination of every COPY */
  copied: string[];
}

/** The Dockerfile's final stage, with ARG defaults substituted into FROM. */
function dockerfileFinalStage(text: string): FinalStage {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  const args: Record<string, string> = {};
  let stage: FinalStage | undefined;
  for (const line of lines) {
    const [instruction = '', ...rest] = line.split(/\s+/);
    const value = rest.join(' ');
    switch (instruction.toUpperCase()) {
      case 'ARG': {
        const [name = '', defaultValue = ''] = value.split('=');
        if (!stage) args[name] = defaultValue;
        break;
      }
      case 'FROM': {
        const image = (rest[0] ?? '').replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? '');
        stage = { image, workdir: '/', user: 'root', env: [], entrypoint: [], cmd: [], expose: [], copied: [] };
        break;
      }
      case 'WORKDIR':
        stage!.workdir = value;
        break;
      case 'USER':
        stage!.user = value;
        break;
      case 'ENV':
        stage!.env.push(value);
        break;
      case 'EXPOSE':
        stage!.expose.push(...rest);
        break;
      case 'ENTRYPOINT':
        stage!.entrypoint = JSON.parse(value) as string[];
        break;
      case 'CMD':
        stage!.cmd = JSON.parse(value) as string[];
        break;
      case 'COPY': {
        const operands = rest.filter((word) => !word.startsWith('--'));
        const destination = operands.at(-1) ?? '';
        const absolute = destination.startsWith('/') ? destination : join(stage!.workdir, destination);
        // "COPY package.json ./" copies a file into a directory.
        const sources = operands.slice(0, -1);
        if (destination.endsWith('/')) stage!.copied.push(...sources.map((source) => join(absolute, source.split('/').at(-1) ?? '')));
        else stage!.copied.push(absolute.replace(/\/$/, ''));
        break;
      }
    }
  }
  if (!stage) throw new Error('the Dockerfile has no FROM');
  return stage;
}

interface ImagePlan {
  config: { User: string; WorkingDir: string; Entrypoint: string[]; Cmd: string[]; Env: string[]; ExposedPorts: Record<string, object> };
  copied: string[];
  node: { path: string; version: string };
}

const dockerfile = dockerfileFinalStage(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
const plan = JSON.parse(execFileSync('bash', [join(repoRoot, 'test/controlplane/build-image.sh'), '--plan'], { encoding: 'utf8' })) as ImagePlan;

describe('the node tier image (build-image.sh) and the Dockerfile', () => {
  it('parses the Dockerfile final stage', () => {
    expect(dockerfile.image).toMatch(/^node:\d+\.\d+\.\d+-/);
    expect(dockerfile.copied.length).toBeGreaterThan(0);
  });

  it('run the same Node release', () => {
    const dockerNode = /^node:(\d+\.\d+\.\d+)-/.exec(dockerfile.image)?.[1];
    expect(plan.node.version).toBe(dockerNode);
    // The runtime the script copies is the npm package `node` pinned in package.json.
    const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(packageJson.devDependencies['node']).toBe(dockerNode);
  });

  it('copy the same paths', () => {
    expect([...plan.copied].sort()).toEqual([...dockerfile.copied].sort());
  });

  it('run as the same user, from the same directory, with the same entrypoint and command', () => {
    expect(plan.config.User).toBe(dockerfile.user);
    expect(plan.config.User).toBe('65532:65532');
    expect(plan.config.WorkingDir).toBe(dockerfile.workdir);
    expect(plan.config.Entrypoint).toEqual(dockerfile.entrypoint);
    expect(plan.config.Cmd).toEqual(dockerfile.cmd);
    expect(Object.keys(plan.config.ExposedPorts)).toEqual(dockerfile.expose.map((port) => (port.includes('/') ? port : `${port}/tcp`)));
  });

  it('set the Dockerfile environment', () => {
    for (const variable of dockerfile.env) expect(plan.config.Env).toContain(variable);
  });

  it('put node where the entrypoint finds it (on the PATH of the image)', () => {
    const path = plan.config.Env.find((variable) => variable.startsWith('PATH='))?.slice('PATH='.length).split(':') ?? [];
    expect(path).toContain(plan.node.path.replace(/\/node$/, ''));
    expect(plan.config.Entrypoint[0]).toBe('node');
  });
});

describe('the benchmarks run the operator with the image’s node flags', () => {
  it('reads the flags between node and the script from the ENTRYPOINT, and they bound the young generation (the memory budget)', () => {
    const flags = productionNodeFlags(repoRoot);
    expect(['node', ...flags, '/app/dist/main.js']).toEqual(dockerfile.entrypoint);
    expect(flags).toContainEqual(expect.stringMatching(/^--max-semi-space-size=\d+$/));
  });

  it('and under the chart\'s memory limit, as a Pod runs it (Node sizes its heap from that limit)', () => {
    const values = parse(readFileSync(join(repoRoot, 'charts/pt-operator/values.yaml'), 'utf8')) as { resources: { limits: { memory: string } } };
    const [, amount, unit] = /^(\d+)(Mi|Gi)$/.exec(values.resources.limits.memory) ?? [];
    expect(productionMemoryLimitBytes(repoRoot)).toBe(Number(amount) * (unit === 'Gi' ? 2 ** 30 : 2 ** 20));
  });
});
