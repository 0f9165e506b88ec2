// A fatal start-up error must end the process: a probe server already listening would otherwise keep a pod alive
// that never reconciles (/healthz 200, /readyz 503 forever, no restart).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cluster, repoRoot } from '../../support/cluster.js';
import { freePort } from '../../support/ports.js';


/** Runs `pt-operator run` against the test cluster until it exits (10 s at most): its exit code and its output lines. */
async function runUntilExit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ exitCode: number | null; output: string; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/main.ts'), 'run', '--leader-elect=false', ...args], {
    cwd: repoRoot,
    env: { ...process.env, KUBECONFIG: cluster().kubeconfigOperator, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  return { exitCode, output, lines: output.trim().split('\n') };
}

/** Every line is JSON (a log collector parses them), and the last one says why the operator stopped. */
function fatalMessage(lines: string[]): string | undefined {
  for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
  const last = JSON.parse(lines.at(-1)!) as { level: string; msg: string; err?: { message: string } };
  expect(last.level).toBe('fatal');
  return last.err?.message;
}

describe('operator start-up failure', () => {
  it('metrics and probes on one port: logs one JSON line naming the bind failure and exits non-zero', async () => {
    const port = await freePort();
    const { exitCode, output, lines } = await runUntilExit([`--metrics-bind-address=127.0.0.1:${port}`, `--health-probe-bind-address=127.0.0.1:${port}`]);
    expect(exitCode, output).toBe(1);
    expect(fatalMessage(lines)).toContain('EADDRINUSE');
  });

  // It started and answered /readyz 200, and every endpoint of the default workspace was stuck on WorkspaceNotReady.
  it.each([
    [{ DATABRICKS_HOST: 'http://user:hunter2@127.0.0.1:18400', DATABRICKS_TOKEN: 'dapi-x' }, 'must not contain credentials'],
    [{ DATABRICKS_HOST: 'ftp://x', DATABRICKS_TOKEN: 'dapi-x' }, 'must use https://'],
    [{ DATABRICKS_HOST: 'https://adb-1.azuredatabricks.net', DATABRICKS_TOKEN: 'dapi-x', DATABRICKS_AUTH_TYPE: 'bogus' }, 'DATABRICKS_AUTH_TYPE=bogus is not supported'],
  ])('an invalid default workspace (%j) ends the start with one JSON line, never echoing credentials', async (env, reason) => {
    const { exitCode, output, lines } = await runUntilExit(['--health-probe-bind-address=127.0.0.1:0', '--metrics-bind-address=0'], env);
    expect(exitCode, output).toBe(1);
    expect(lines).toHaveLength(1);
    const message = fatalMessage(lines);
    expect(message).toContain('invalid default workspace');
    expect(message).toContain(reason);
    // said once: pino appends a cause's message to err.message, and this one holds it already
    expect(message!.split(reason).length - 1, message).toBe(1);
    expect(output).not.toContain('hunter2');
    expect(output).not.toContain('dapi-x');
  });

  // As a missing variable: the operator must not run, ready, with every default-workspace endpoint refused.
  it('a --default-workspace-credentials-dir without a usable credential ends the start, naming the file missing and no value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-creds-start-'));
    try {
      writeFileSync(join(dir, 'client-id'), 'sp-hunter2-id');
      const env = { DATABRICKS_HOST: 'https://adb-1.azuredatabricks.net', DATABRICKS_TOKEN: 'dapi-x' };
      const { exitCode, output, lines } = await runUntilExit(['--health-probe-bind-address=127.0.0.1:0', '--metrics-bind-address=0', `--default-workspace-credentials-dir=${dir}`], env);
      expect(exitCode, output).toBe(1);
      expect(lines).toHaveLength(1);
      const message = fatalMessage(lines);
      expect(message).toContain(`invalid default workspace (--default-workspace-credentials-dir ${dir})`);
      expect(message).toContain('client-secret is missing');
      expect(output).not.toContain('hunter2');
      expect(output).not.toContain('dapi-x');

      const missing = await runUntilExit(['--health-probe-bind-address=127.0.0.1:0', '--metrics-bind-address=0', `--default-workspace-credentials-dir=${join(dir, 'nope')}`], env);
      expect(missing.exitCode, missing.output).toBe(1);
      expect(fatalMessage(missing.lines)).toContain(`${join(dir, 'nope')} is not a directory (is the Secret mounted there?)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
