// Text a workspace host chose (an error body, the keys of an answer) reaches conditions, Events and logs through
// DatabricksError: it must arrive as one line of visible characters, and short, whatever the host sends.
import { describe, expect, it } from 'vitest';
import { DatabricksClient } from '../../../src/databricks/client.js';
import { errorFromHttpResponse, isDatabricksError, MAX_SERVER_MESSAGE } from '../../../src/databricks/errors.js';
import { RateBudgetRegistry } from '../../../src/databricks/rate-budget.js';
import { HttpTransport, type HttpRequest, type HttpResponse } from '../../../src/databricks/transport.js';
import { shortLine } from '../../../src/databricks/host-text.js';

/** What a terminal acts on or a reader splits lines at: C0/C1 controls, DEL, line and paragraph separators. */
const ACTED_ON = /[\p{Cc}\p{Zl}\p{Zp}]/u;

describe('errorFromHttpResponse: a host\'s error text in an error', () => {
  const hostile = 'bad \u001b[31mRED\u001b[0m\nsecond line\r\n<script>x</script>\ttab\u0085nel\u2028ls\u2029ps\u000bvt\u000cff\u0007bell\u009bcsi';

  it.each([
    ['a JSON message', JSON.stringify({ error_code: 'INVALID_PARAMETER_VALUE', message: hostile })],
    ['a text body', hostile],
    ['a "CODE: message" text body', `BAD_REQUEST: ${hostile}`],
  ])('%s arrives as one line with every control character shown, not acted on', (_what, bodyText) => {
    const err = errorFromHttpResponse({ status: 400, headers: {}, bodyText, method: 'GET', path: '/p', nowMs: 0 });
    for (const text of [err.message, err.serverMessage ?? '']) {
      expect(text).not.toMatch(ACTED_ON);
      expect(text).toContain('\\u001b[31mRED\\u001b[0m second line <script>x</script> tab');
    }
  });

  it('an error code or request ID with control characters arrives without them', () => {
    const err = errorFromHttpResponse({
      status: 400,
      headers: { 'x-request-id': 'req\u001b[2J\u0085id' },
      bodyText: JSON.stringify({ error_code: 'BAD\u001b[31m\nCODE', message: 'm' }),
      method: 'GET',
      path: '/p',
      nowMs: 0,
    });
    for (const text of [err.message, err.errorCode ?? '', err.requestId ?? '']) expect(text).not.toMatch(ACTED_ON);
  });
});

class OneAnswer extends HttpTransport {
  constructor(private readonly answer: HttpResponse) {
    super();
  }
  override async send(_origin: string, _req: HttpRequest): Promise<HttpResponse> {
    return this.answer;
  }
}

async function getEndpointError(answer: HttpResponse): Promise<Error> {
  const client = new DatabricksClient({
    host: 'https://adb-1.azuredatabricks.net',
    auth: { type: 'pat', token: 'dapi0123456789abcdef0123456789abcdef' },
    transport: new OneAnswer(answer),
    budgets: new RateBudgetRegistry({ now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }),
  });
  return client.getEndpoint('ep1').then(
    () => new Error('getEndpoint succeeded'),
    (err: unknown) => err as Error,
  );
}

describe('an answer that does not fit: the keys the host chose in the error', () => {
  it('five 200 KB keys give a message of at most about the documented cap, not 32 KiB conditions', async () => {
    const environment_vars = Object.fromEntries(['K', 'L', 'M', 'N', 'O'].map((k) => [k.repeat(200_000), 1]));
    const body = { name: 'ep1', state: { ready: 'READY', config_update: 'NOT_UPDATING' }, config: { served_entities: [{ name: 'e', environment_vars }] } };
    const err = await getEndpointError({ status: 200, headers: {}, bodyText: JSON.stringify(body) });
    expect(isDatabricksError(err) && err.kind).toBe('InvalidResponse');
    expect(err.message).toMatch(/does not fit getEndpoint: config\.served_entities\.0\.environment_vars\.KKKK/);
    expect(err.message.length).toBeLessThanOrEqual(MAX_SERVER_MESSAGE + 200);
  });

  it('a key with control characters is shown, not acted on', async () => {
    const body = { name: 'ep1', state: { ready: 'READY' }, config: { served_entities: [{ name: 'e', environment_vars: { 'A\u001b[31m\nB\u2028C': 1 } }] } };
    const err = await getEndpointError({ status: 200, headers: {}, bodyText: JSON.stringify(body) });
    expect(isDatabricksError(err) && err.kind).toBe('InvalidResponse');
    expect(err.message).not.toMatch(ACTED_ON);
    expect(err.message).toContain('environment_vars.A\\u001b[31m B C');
  });
});

// Without endpoint_url, status.endpointUrl is made of the host and the endpoint's name as the answer gives it: a
// hostile host's name (control characters, megabytes) would reach status as it was sent (attacker review, session 15).
describe("an endpoint's name that no Databricks endpoint can have", () => {
  it.each([
    ['control characters', 'ep1\u001b]52;c;ZXZpbA==\u0007\u001b[2J'],
    ['a megabyte', 'e'.repeat(1_000_000)],
  ])('%s: the answer does not fit, rather than reach status.endpointUrl', async (_what, name) => {
    const body = { name, state: { ready: 'READY', config_update: 'NOT_UPDATING' } };
    const err = await getEndpointError({ status: 200, headers: {}, bodyText: JSON.stringify(body) });
    expect(isDatabricksError(err) && err.kind).toBe('InvalidResponse');
    expect(err.message).not.toMatch(ACTED_ON);
    expect(err.message.length).toBeLessThanOrEqual(MAX_SERVER_MESSAGE + 200);
  });
});

// A cut after escaping could split `\u001b` into `\u00`: a status field then read as text the host did not send.
describe('shortLine: a short value a host chose, as a status field keeps it', () => {
  it.each([
    ['a cut that would fall inside an escape leaves the escape out whole', `${'v'.repeat(60)}\u001b[0m`, 64, 'v'.repeat(60)],
    ['a cut between characters keeps them up to the limit', `${'v'.repeat(58)}\u001b[0m`, 64, `${'v'.repeat(58)}\\u001b`],
    ['a character beyond 16 bits is not split into its halves', `${'v'.repeat(63)}\u{1F600}x`, 64, 'v'.repeat(63)],
    ['line breaks are one space', 'a\r\nb\tc', 64, 'a b c'],
  ])('%s', (_what, text, max, shown) => {
    expect(shortLine(text, max)).toBe(shown);
    expect(shortLine(text, max).length).toBeLessThanOrEqual(max);
  });

  it('an absent value stays absent', () => {
    expect(shortLine(undefined)).toBeUndefined();
  });
});

describe('who the credentials stand for (SCIM Me), as the host names it', () => {
  // userName goes to the DatabricksWorkspace's status.identity, which `kubectl describe dbws` prints as it is.
  const identityOf = async (userName: string) => {
    const client = new DatabricksClient({
      host: 'https://adb-1.azuredatabricks.net',
      auth: { type: 'pat', token: 'dapi0123456789abcdef0123456789abcdef' },
      transport: new OneAnswer({ status: 200, headers: {}, bodyText: JSON.stringify({ id: '1', userName }) }),
      budgets: new RateBudgetRegistry({ now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }),
    });
    return client.currentUser().then(
      (user) => user.userName,
      (err: unknown) => (isDatabricksError(err) ? err.kind : 'thrown'),
    );
  };

  it('an e-mail or an application ID is the identity', async () => {
    expect(await identityOf('ml-team@example.com')).toBe('ml-team@example.com');
    expect(await identityOf('0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d')).toBe('0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d');
  });

  it.each([
    ['terminal escapes', 'ops@example.com\u001b]0;pwned\u0007\u001b[2J'],
    ['a line break (a second line in kubectl describe)', 'ops@example.com\nReady: True'],
    ['a megabyte of text (a status past what the API server stores)', 'x'.repeat(1024 * 1024)],
  ])('an answer with %s does not fit: the identity stays unknown', async (_, userName) => {
    expect(await identityOf(userName)).toBe('InvalidResponse');
  });
});
