#!/usr/bin/env node
// pt-operator's single entry point. Each command loads only what it needs, so the emulator
// does not pull in the Kubernetes client and `crds` starts instantly.
const usage = `usage: pt-operator <command> [flags]

commands:
  run        run the operator (--help lists its flags; docs/configuration.md)
  emulator   run the Databricks serving-API emulator (see docs/emulator.md)
  crds       write the CRDs generated from the API schemas (--out DIR, --check)
  import     write ProvisionedThroughputEndpoint YAML for existing Databricks endpoints (--help)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'crds':
      return (await import('./api/v1alpha1/crd-cli.js')).runCrdsCli(rest);
    case 'emulator':
      await (await import('./emulator/cli.js')).runEmulatorCli(rest);
      return 0;
    case 'import':
      return (await import('./import/cli.js')).runImportCli(rest);
    case 'run': {
      const operator = await import('./controllers/run.js');
      return operator.runOperatorCli(rest).catch((error: unknown) => {
        // The operator logs JSON, so its last words too; and it exits at once: a listener or watch left open would
        // keep alive a pod that answers /healthz and reconciles nothing.
        operator.logFatalError(error);
        return process.exit(1);
      });
    }
    case '-h':
    case '--help':
    case 'help':
      console.log(usage);
      return 0;
    default:
      console.error(command ? `unknown command "${command}"\n\n${usage}` : usage);
      return 2;
  }
}

/** A flag the command does not have, or one without its value (node:util parseArgs): a usage error. */
function isUsageError(error: unknown): error is Error {
  return error instanceof Error && String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_');
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (isUsageError(error)) {
      console.error(`${error.message}; \`pt-operator ${process.argv[2] ?? ''} --help\` lists the flags`);
      process.exitCode = 2;
      return;
    }
    console.error(error instanceof Error ? error.message : String(error));
    // Not process.exitCode: whatever the command left open would keep a failed process running.
    process.exit(1);
  },
);
