// A mistyped flag is a usage error like a missing one: exit code 2 and where to find the flags, for every command
// (it was `Unknown option '--bogus'` with exit code 1 for import, emulator and crds).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function run(args: string[]): { status: number | null; stderr: string } {
  const { status, stderr } = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 20_000, env: { ...process.env, DATABRICKS_HOST: '' } });
  return { status, stderr };
}

describe('pt-operator <command> with a flag it does not have', () => {
  it.each(['import', 'emulator', 'crds'])('%s: exit code 2, the flag named, and how to list the flags', (command) => {
    const { status, stderr } = run([command, '--bogus']);
    expect(status).toBe(2);
    expect(stderr).toContain("'--bogus'");
    expect(stderr).toContain(`pt-operator ${command} --help`);
  });

  it('import: a flag without its value is a usage error too', () => {
    const { status, stderr } = run(['import', '--namespace']);
    expect(status).toBe(2);
    expect(stderr).toContain('--namespace');
  });
});
