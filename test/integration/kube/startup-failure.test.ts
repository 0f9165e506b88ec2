// A fatal start-up error must end the process: a probe server already listening would otherwise keep a pod alive
// that never reconciles (/healthz 200, /readyz 503 forever, no restart).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cluster, repoRoot } from '../../support/cluster.js';
import { freePort } from '../../support/ports.js';


describe('operator start-up failure', () => {
  it('metrics and probes on one port: logs one JSON line naming the bind failure and exits non-zero', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'src/main.ts'), 'run', '--leader-elect=false', `--metrics-bind-address=127.0.0.1:${port}`, `--health-probe-bind-address=127.0.0.1:${port}`],
      { cwd: repoRoot, env: { ...process.env, KUBECONFIG: cluster().kubeconfigOperator }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
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
    expect(exitCode, output).toBe(1);
    const lines = output.trim().split('\n');
    // Every line is JSON (a log collector parses them), and the last one says why the operator stopped.
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    const last = JSON.parse(lines.at(-1)!) as { level: string; msg: string; err?: { message: string } };
    expect(last.level).toBe('fatal');
    expect(last.err?.message).toContain('EADDRINUSE');
  });
});
