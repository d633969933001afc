/**
 * A small gRPC client for unary calls over node:http2 (plain text, no compression): enough to call a
 * runtime's `Function/Call` on loopback without a package inside the sandbox. One HTTP/2 session,
 * opened again when it closes; a message is a 5-byte prefix (flag, big-endian length) and the
 * protobuf bytes; the status comes in the trailers (or the headers of a trailers-only reply).
 */
import http2 from 'node:http2';

/** gRPC status codes used here. */
export const GrpcStatus = { OK: 0, CANCELLED: 1, UNKNOWN: 2, UNIMPLEMENTED: 12, UNAVAILABLE: 14 } as const;

export type UnaryOutcome =
  | { ok: true; message: Buffer }
  | { ok: false; status: number; details: string }
  /** The call never got a gRPC status: the connection failed, or the reply broke the protocol. */
  | { ok: false; status: null; details: string };

export interface UnaryOptions {
  /** Milliseconds the server gets (sent as grpc-timeout). */
  timeoutMs?: number;
  /** Largest reply message accepted, in bytes. */
  maxReplyBytes: number;
  signal?: AbortSignal;
}

/** grpc-message is percent-encoded (RFC 3986 unreserved characters and most printable ASCII stay). */
function decodeGrpcMessage(raw: unknown): string {
  const text = Array.isArray(raw) ? String(raw[0] ?? '') : typeof raw === 'string' ? raw : '';
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export class GrpcUnaryClient {
  private session: http2.ClientHttp2Session | undefined;

  constructor(private readonly authority: string) {}

  /** Whether an HTTP/2 session to the server can be set up now. */
  connect(): Promise<boolean> {
    return new Promise((resolve) => {
      const session = this.open();
      if (!session.connecting) return resolve(!session.destroyed);
      const done = (ok: boolean): void => {
        session.off('connect', onConnect);
        session.off('error', onError);
        resolve(ok);
      };
      const onConnect = (): void => done(true);
      const onError = (): void => done(false);
      session.once('connect', onConnect);
      session.once('error', onError);
    });
  }

  call(method: string, request: Buffer, options: UnaryOptions): Promise<UnaryOutcome> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: UnaryOutcome): void => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      let stream: http2.ClientHttp2Stream;
      try {
        const headers: http2.OutgoingHttpHeaders = {
          ':method': 'POST',
          ':path': method,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-accept-encoding': 'identity',
        };
        if (options.timeoutMs !== undefined) {
          headers['grpc-timeout'] = `${Math.max(1, Math.ceil(options.timeoutMs))}m`;
        }
        stream = this.open().request(headers, options.signal ? { signal: options.signal } : {});
      } catch (err) {
        finish({ ok: false, status: null, details: (err as Error).message });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let status: number | undefined;
      let details = '';
      const takeStatus = (headers: http2.IncomingHttpHeaders): void => {
        const raw = headers['grpc-status'];
        if (raw === undefined) return;
        status = Number(raw);
        details = decodeGrpcMessage(headers['grpc-message']);
      };
      stream.on('response', (headers) => {
        const httpStatus = headers[':status'];
        if (httpStatus !== 200 && headers['grpc-status'] === undefined) {
          finish({ ok: false, status: null, details: `the runtime answered HTTP ${String(httpStatus)}` });
          stream.close();
          return;
        }
        takeStatus(headers);
      });
      stream.on('trailers', takeStatus);
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxReplyBytes + 5) {
          finish({
            ok: false,
            status: null,
            details: `the runtime's reply exceeds the limit of ${options.maxReplyBytes} bytes`,
          });
          stream.close(http2.constants.NGHTTP2_CANCEL);
          return;
        }
        chunks.push(chunk);
      });
      stream.on('error', (err) => finish({ ok: false, status: null, details: err.message }));
      stream.on('close', () => {
        if (status === undefined) {
          finish({ ok: false, status: null, details: 'the runtime closed the call without a gRPC status' });
        } else if (status !== GrpcStatus.OK) {
          finish({ ok: false, status, details });
        } else {
          finish(parseReply(Buffer.concat(chunks)));
        }
      });
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(request.length, 1);
      stream.end(Buffer.concat([prefix, request]));
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private open(): http2.ClientHttp2Session {
    if (this.session !== undefined && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(`http://${this.authority}`);
    session.on('error', () => undefined); // each call reports its own failure
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    session.unref();
    this.session = session;
    return session;
  }
}

/** The one message of a unary reply. */
function parseReply(body: Buffer): UnaryOutcome {
  if (body.length < 5) return { ok: false, status: null, details: 'the runtime sent no reply message' };
  if (body[0] !== 0) return { ok: false, status: null, details: 'the runtime sent a compressed reply' };
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) {
    return { ok: false, status: null, details: 'the runtime sent a malformed reply message' };
  }
  return { ok: true, message: body.subarray(5) };
}
