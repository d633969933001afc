/**
 * Drives a Node request handler in memory, the way Hono's `app.request()` and Fastify's `inject` do:
 * no port, no socket. Each request runs over a fresh in-process stream pair (`stream.duplexPair`),
 * one end handed to an `http.Server` that never listens (`emit('connection')`), the other to Node's
 * own HTTP client (`createConnection`). So the handler gets a real `IncomingMessage` and
 * `ServerResponse`, parsed and written by Node's HTTP code, and the test reads a real response.
 */
import {
  createServer,
  request,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type RequestListener,
} from 'node:http';
import { duplexPair } from 'node:stream';

/** A string or bytes as they are; any other value is sent as JSON (with its content type). */
export type RequestBody = string | Buffer | object;

export interface InMemoryRequest {
  method?: string;
  /** Path and query, e.g. `/v1/functions?limit=2`. */
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: RequestBody;
  /** Send the body in chunks without a Content-Length (as a streaming client does). */
  chunked?: boolean;
  /** The client's address as the handler sees it (`req.socket.remoteAddress`). */
  remoteAddress?: string;
}

export interface InMemoryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** The body parsed as JSON (throws when it is not). */
  json: <T = Record<string, unknown>>() => T;
}

/** A handler's in-memory client: `request` sends one request and resolves with the whole response. */
export function inMemoryClient(handler: RequestListener): {
  request: (req: InMemoryRequest) => Promise<InMemoryResponse>;
} {
  const server = createServer(handler);
  return {
    request: (req) =>
      new Promise<InMemoryResponse>((resolve, reject) => {
        const [clientSide, serverSide] = duplexPair();
        // what a net.Socket would say; the handlers read it for per-client accounting
        Object.defineProperty(serverSide, 'remoteAddress', { value: req.remoteAddress ?? '127.0.0.1' });
        server.emit('connection', serverSide);
        // keep-alive as a client with an agent would ask: what the handler answers to it is then visible
        const headers: OutgoingHttpHeaders = { host: 'localhost', connection: 'keep-alive', ...req.headers };
        let body: Buffer | undefined;
        if (typeof req.body === 'string') body = Buffer.from(req.body);
        else if (Buffer.isBuffer(req.body)) body = req.body;
        else if (req.body !== undefined) {
          body = Buffer.from(JSON.stringify(req.body));
          headers['content-type'] ??= 'application/json';
        }
        if (body !== undefined && req.chunked !== true) headers['content-length'] ??= body.length;
        let answered = false;
        const client = request(
          {
            method: req.method ?? 'GET',
            path: req.path,
            headers,
            createConnection: () => clientSide as never,
          },
          (res) => {
            answered = true;
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', reject);
            res.on('end', () => {
              const all = Buffer.concat(chunks);
              clientSide.destroy();
              serverSide.destroy();
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                body: all,
                text: all.toString('utf8'),
                json: <T>() => JSON.parse(all.toString('utf8')) as T,
              });
            });
          },
        );
        // a handler may answer (a 413) and close before the whole body is written: that is no failure
        client.on('error', (err) => {
          if (!answered) reject(err);
        });
        if (body !== undefined && req.chunked === true) {
          const half = Math.ceil(body.length / 2);
          client.write(body.subarray(0, half));
          client.end(body.subarray(half));
        } else client.end(body);
      }),
  };
}
