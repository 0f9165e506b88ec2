// A scripted HTTP server on 127.0.0.1 for transport-level behaviour the emulator does not model
// (an HTTP-date Retry-After, malformed 2xx bodies, header checks, connection reuse).
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  remotePort: number | undefined;
}

export type Handler = (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

export interface LocalServer {
  url: string;
  requests: SeenRequest[];
  /** handlers used in order, the last one repeats */
  script(...handlers: Handler[]): void;
  close(): Promise<void>;
}

/** `tls`: an https:// server with this key and certificate (a workspace whose certificate a private CA signed). */
export async function startLocalServer(options: { tls?: { key: string; cert: string } } = {}): Promise<LocalServer> {
  const requests: SeenRequest[] = [];
  let handlers: Handler[] = [];
  const listener: RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: req.socket.remotePort,
      };
      requests.push(seen);
      const handler = handlers[Math.min(requests.length - 1, handlers.length - 1)];
      void Promise.resolve(handler?.(seen, res)).catch(() => res.destroy());
    });
  };
  const server = options.tls ? createTlsServer(options.tls, listener) : createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    script: (...h) => {
      handlers = h;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  };

/** Kill the connection without an answer. */
export const drop: Handler = (_req, res) => {
  res.socket?.destroy();
};
