// The tiers that run real processes (integration, e2e, node) retry a failed test once: on a shared, loaded
// machine a test can lose a race with the machine rather than with the operator. A retry must not hide a flake:
// this reporter names every test that failed before it passed, with the error of its failed attempt, in lines
// that start with "FLAKY" (.ci/run repeats them in its summary), so that each one is seen and fixed.
import type { Reporter, TestCase, TestModule } from 'vitest/node';

export default class FlakyReporter implements Reporter {
  private readonly flaky: string[] = [];

  onTestCaseResult(testCase: TestCase): void {
    if (!testCase.diagnostic()?.flaky) return;
    const firstError = testCase.result().errors?.[0]?.message.split('\n')[0] ?? '(no error recorded)';
    this.flaky.push(`FLAKY  ${testCase.module.relativeModuleId} > ${testCase.fullName}: ${firstError.slice(0, 400)}`);
  }

  onTestRunEnd(_modules: readonly TestModule[]): void {
    if (this.flaky.length === 0) return;
    console.log(`\n${this.flaky.length} test(s) failed, then passed when retried; each is a defect to fix:`);
    for (const line of this.flaky) console.log(line);
  }
}
