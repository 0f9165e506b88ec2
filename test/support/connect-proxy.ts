// A forward proxy as corporate networks run them: HTTP CONNECT tunnels (https:// hosts) and absolute-URI forwarding
// (http:// hosts), optionally asking for Basic credentials (407 without them). It records every host it was asked
// for, so a test can tell which calls went through it. Test infrastructure: nothing here is the operator's.
import { createServer, type IncomingMessage, request, type RequestListener } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { connect, type Socket } from 'node:net';

export interface ConnectProxy {
  url: string;
  /** `host:port` of every CONNECT or forwarded request it was asked for, in order, with whether it was let through */
  tunnels: { target: string; allowed: boolean; authorization?: string }[];
  close(): Promise<void>;
}

/**
 * `listenOn`: the address it listens on and names in its URL (default 127.0.0.1; another one stands for a proxy on
 * another machine). `tls`: an https:// proxy (TLS to the proxy itself) with this key and certificate.
 */
export async function startConnectProxy(options: { credentials?: string; listenOn?: string; tls?: { key: string; cert: string } } = {}): Promise<ConnectProxy> {
  const tunnels: ConnectProxy['tunnels'] = [];
  const sockets = new Set<Socket>();
  const expected = options.credentials === undefined ? undefined : `Basic ${Buffer.from(options.credentials).toString('base64')}`;
  const admit = (req: IncomingMessage, target: string): boolean => {
    const authorization = req.headers['proxy-authorization'];
    const allowed = expected === undefined || authorization === expected;
    tunnels.push({ target, allowed, ...(authorization !== undefined && { authorization }) });
    return allowed;
  };
  const forward: RequestListener = (req, res) => {
    // absolute-form: GET http://host:port/path
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      return void res.writeHead(400).end();
    }
    if (!admit(req, url.host)) return void res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="test"' }).end();
    const { 'proxy-authorization': _credentials, ...headers } = req.headers;
    const upstream = request(url, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  };
  const server = options.tls ? createTlsServer(options.tls, forward) : createServer(forward);
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const target = req.url ?? '';
    if (!admit(req, target)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host, port] = splitHostPort(target);
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listenOn = options.listenOn ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, listenOn, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  return {
    url: `${options.tls ? 'https' : 'http'}://${listenOn.includes(':') ? `[${listenOn}]` : listenOn}:${address.port}`,
    tunnels,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitHostPort(target: string): [string, number] {
  const at = target.lastIndexOf(':');
  const host = target.slice(0, at).replace(/^\[|\]$/g, '');
  return [host, Number(target.slice(at + 1))];
}
