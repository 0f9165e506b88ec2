// The first build of the control plane takes about 25 minutes: build.sh says which binary it builds, how long
// it has been at it, and what comes after (issue 16, finding 14). Run with a stand-in `go` that builds slowly.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'pt-build-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const k8sVersion = /^\s*(?:require\s+)?k8s\.io\/kubernetes (v[0-9.]*[0-9])\b/m.exec(readFileSync(join(repoRoot, 'test/controlplane/apiserver/go.mod'), 'utf8'))?.[1];

describe('build.sh progress', () => {
  it('names each binary with its place in the build, repeats an elapsed-time line while go build is quiet, and says what remains', async () => {
    // `go build -o OUT` takes 2.5 s and writes a binary that reports the pinned Kubernetes version.
    const fakeGo = join(dir, 'bin', 'go');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(
      fakeGo,
      `#!/usr/bin/env bash
if [ "$1" = env ]; then echo go1.26.8; exit 0; fi
out=""; while [ $# -gt 0 ]; do if [ "$1" = -o ]; then out="$2"; shift; fi; shift; done
sleep 2.5
printf '#!/bin/sh\\necho "Kubernetes ${k8sVersion}"\\n' > "$out"; chmod +x "$out"
`,
    );
    chmodSync(fakeGo, 0o755);
    // An empty cache of this attempt's own: a retry would find the first attempt's binaries there and build nothing.
    const cache = mkdtempSync(join(dir, 'cache-'));
    const { stdout } = await promisify(execFile)('bash', [join(repoRoot, 'test/controlplane/build.sh')], {
      env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env['PATH']}`, PT_OPERATOR_CACHE: cache, PT_BUILD_PROGRESS_INTERVAL: '1' },
      timeout: 60_000,
    });
    const lines = stdout.split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^build: \[1\/5\] kube-apiserver from k8s\.io\/kubernetes\/cmd\/kube-apiserver .*then: kubectl, kube-controller-manager, etcd, helm\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^build: \[1\/5\] still building kube-apiserver: [12]s elapsed; then: kubectl, kube-controller-manager, etcd, helm$/));
    expect(lines).toContainEqual(expect.stringMatching(/^build: \[5\/5\] still building helm: [12]s elapsed; then: nothing$/));
    expect(lines).toContainEqual(expect.stringMatching(/^build: \[4\/5\] etcd built in [2-4]s$/));

    // A second run reuses everything and says so, one line per binary.
    const again = await promisify(execFile)('bash', [join(repoRoot, 'test/controlplane/build.sh')], {
      env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env['PATH']}`, PT_OPERATOR_CACHE: cache },
      timeout: 30_000,
    });
    expect(again.stdout.split('\n').filter((l) => /^build: \[\d\/5\] reuse /.test(l))).toHaveLength(5);
  });
});
