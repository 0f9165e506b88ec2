import { defineConfig } from 'vitest/config';

// Four tiers (see docs/architecture): unit has no I/O; integration and e2e share one real
// kube-apiserver+etcd started by the global setup in test/controlplane; node adds a kubelet and runs the
// chart's Pods from the image (test/node).
// The tiers with real processes retry a failed test once (a loaded, shared CI machine can starve a process past a
// test's deadline); test/support/flaky-reporter.ts names each test that passed only when retried, so no flake hides.
const RETRY_REAL_PROCESSES = 1;

// The e2e files run two at a time: each has namespaces, emulators, operators and ports of its own, and most of their
// time is spent waiting (rollouts, windows, pauses), not on the CPU. These change what every file shares, so they run
// alone, after the others: the kube-apiserver stopped or restarted, the CRDs deleted (by a test whose operator watches
// every namespace), a ClusterRole granted to the operator's identity. Run one of them with `--project e2e-alone`.
const E2E_ALONE = [
  'test/e2e/apiserver-outage.test.ts',
  'test/e2e/deletion-safety.test.ts',
  'test/e2e/leader-pause.test.ts',
  'test/e2e/tenancy-selector.test.ts',
];
const E2E = {
  setupFiles: ['test/node-version.setup.ts'],
  globalSetup: ['test/controlplane/global-setup.ts'],
  testTimeout: 180_000,
  hookTimeout: 300_000,
  retry: RETRY_REAL_PROCESSES,
};

export default defineConfig({
  test: {
    reporters: ['default', './test/support/flaky-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/node-version.setup.ts'],
          // Pure, CPU-bound tests (the seeded property runs take 2-5 s on an idle core): on a loaded 2-core CI machine
          // vitest's default 5 s failed them for being slow, not wrong. A hang still fails.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          setupFiles: ['test/node-version.setup.ts'],
          globalSetup: ['test/controlplane/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          retry: RETRY_REAL_PROCESSES,
          fileParallelism: false,
        },
      },
      {
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], exclude: E2E_ALONE, ...E2E, maxWorkers: 2, sequence: { groupOrder: 1 } },
      },
      {
        // After the group above (a higher groupOrder), one file at a time.
        test: { name: 'e2e-alone', include: E2E_ALONE, ...E2E, fileParallelism: false, sequence: { groupOrder: 2 } },
      },
      {
        // The chart and image on real node(s): containerd + kubelet + kube-scheduler (needs root).
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          setupFiles: ['test/node-version.setup.ts'],
          globalSetup: ['test/node/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          retry: RETRY_REAL_PROCESSES,
          fileParallelism: false,
        },
      },
    ],
  },
});
