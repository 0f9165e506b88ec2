import type { Logger as PinoLogger } from 'pino';

/** The runtime logs through pino; a child logger per component carries its bindings. */
export type Logger = PinoLogger;
