import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubSecrets } from '../../../src/observability/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, log: createLogger({ level: 'info', destination }) };
}

describe('logger', () => {
  it('loggers made without a destination share one stdout stream, so their lines keep their order (the fatal line last)', () => {
    const streamOf = (logger: ReturnType<typeof createLogger>) => (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
    const first = createLogger({ level: 'silent' });
    const second = createLogger({ level: 'silent' });
    expect(streamOf(second)).toBe(streamOf(first));
    expect(streamOf(createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) }))).not.toBe(streamOf(first));
  });

  it('redacts tokens, client secrets, authorization headers and Secret data wherever they are logged', () => {
    const { lines, log } = capture();
    log.info(
      {
        token: 'dapi0123456789abcdef0123456789abcdef',
        auth: { clientSecret: 'shh', clientId: 'visible-id' },
        headers: { authorization: 'Bearer abc.def' },
        secret: { data: { token: 'ZGFwaQ==' } },
      },
      'calling workspace',
    );
    const out = lines.join('');
    expect(out).not.toContain('dapi0123456789');
    expect(out).not.toContain('shh');
    expect(out).not.toContain('abc.def');
    expect(out).not.toContain('ZGFwaQ==');
    expect(out).toContain('visible-id');
    expect(out).toContain('[REDACTED]');
  });

  // Conditions and Events scrub error messages (a host may echo the credential it refused); the log lines that carry
  // the same messages ('Databricks action failed', 'reconcile failed') printed them as they came.
  it('scrubs secrets out of the free text of every log line: error messages, nested fields, the message itself', () => {
    const { lines, log } = capture();
    const echoed = 'invalid token dapi0123456789abcdef0123456789abcdef in Authorization: Bearer eyJhbGciOi.payload.sig';
    log.warn({ action: 'create', error: { kind: 'Auth', message: echoed } }, 'Databricks action failed');
    log.warn({ err: new Error(echoed), retries: 1 }, 'reconcile failed; retrying with backoff');
    log.info({ deep: { a: { b: [echoed] } } }, `workspace says: ${echoed}`);
    const out = lines.join('');
    expect(out).not.toMatch(/dapi0123456789|eyJhbGciOi/);
    expect(out).toContain('Databricks action failed');
    expect(out).toContain('invalid token [REDACTED]');
    expect(lines).toHaveLength(3);
  });

  it('scrubs secrets out of free text such as error messages', () => {
    const text = scrubSecrets('401 with Authorization: Bearer eyJhbGciOi.x.y; token=dapiabcdef0123456789abcdef01 client_secret=s3cr3t');
    expect(text).not.toMatch(/eyJhbGciOi|dapiabcdef|s3cr3t/);
  });

  it('scrubs a PAT glued to other text or cut short (a capped message of a host that echoes it)', () => {
    for (const text of ['xxxxdapi0123456789abcdef0123456789abcdef', 'yyydapi0123456789abcdef01234…']) {
      expect(scrubSecrets(text)).not.toContain('dapi0123456');
    }
    expect(scrubSecrets('dapibus ornare, dapi1234')).toBe('dapibus ornare, dapi1234');
  });
});
