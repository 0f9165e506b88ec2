// `pt-operator emulator`: runs the emulator until SIGINT/SIGTERM and logs one JSON line per API call.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { pino } from 'pino';
import { DEFAULT_CLIENT_ID } from './auth.js';
import { startEmulator, type StartEmulatorOptions } from './server.js';

const usage = `usage: pt-operator emulator [--port <p>] [--host 127.0.0.1] [--scenario <file>] [--speed <factor>] [--quiet]

  --port      port to listen on (default 8089; 0 picks a free one)
  --host      address to bind (default 127.0.0.1)
  --scenario  YAML or JSON scenario: catalog, credentials, timings, limits, faults, endpoints
  --speed     virtual clock speed, e.g. 600 = ten virtual minutes per real second (default: scenario, else 1)
  --quiet     do not log each API call
See docs/emulator.md.`;

/** The flags of `pt-operator emulator`. */
export const EMULATOR_OPTIONS = {
  port: { type: 'string', default: '8089' },
  host: { type: 'string', default: '127.0.0.1' },
  scenario: { type: 'string' },
  speed: { type: 'string' },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies ParseArgsOptionsConfig;

export async function runEmulatorCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: EMULATOR_OPTIONS,
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const port = parseNumber('--port', values.port);
  const logger = pino({ name: 'pt-emulator' });
  const options: StartEmulatorOptions = { port, host: values.host };
  if (values.scenario !== undefined) options.scenarioFile = values.scenario;
  if (values.speed !== undefined) options.speed = parseNumber('--speed', values.speed);
  if (!values.quiet) {
    options.onCall = (call) => logger.info({ call }, `${call.method} ${call.path} -> ${call.status}`);
  }
  const running = await startEmulator(options);
  logger.info(
    { url: running.url, speed: running.emulator.clock.speed, scenario: values.scenario ?? null, defaultClientId: DEFAULT_CLIENT_ID },
    `Databricks serving-API emulator listening on ${running.url}`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping');
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await running.close();
}

function parseNumber(flag: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) throw new Error(`${flag} must be a number >= 0, got ${JSON.stringify(raw)}\n\n${usage}`);
  return value;
}
