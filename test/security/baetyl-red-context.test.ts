/**
 * The handler context a Baetyl gRPC call sends as the `baetyl-context` header is JSON made of what the
 * client wrote: a v1 message's Topic and FunctionInvokeID, a v2 message's whole Metadata map. Raw,
 * a character outside Latin-1 (any Chinese topic) or a DEL is no valid header value: the http
 * runtime's bridge hands the header to node:http, which threw and took the function's whole instance
 * down (every request in flight with it), and a Node function's `Headers` silently dropped the
 * context. The header is JSON with such characters escaped: the same object to every parser.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicesFor } from '../../src/compat/baetyl/services.js';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { baetylClients } from './baetyl-red-client.js';

let p: TestPlatform;
let grpc: ReturnType<typeof baetylClients>;

beforeAll(async () => {
  p = await startPlatform({ config: { compat: { baetyl: { enabled: true, proxy: { port: 0 } } } } });
  expect((await p.deploy('web', fixture('http-node'))).status).toBe(201);
  expect((await p.deploy('echo', fixture('echo-cjs'))).status).toBe(201);
  servicesFor(p.dataDir).set('svc', ['web', 'echo']);
  grpc = baetylClients(p);
}, 60_000);

/** A proxy request with an `invokeid` of raw bytes (what an HTTP client may send: Latin-1, DEL). */
function proxyWithInvokeId(fn: string, invokeId: Buffer): Promise<string> {
  const { hostname, port } = new URL(p.server.endpoints['baetyl-proxy'] as string);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        Buffer.concat([
          Buffer.from(`POST /svc/${fn} HTTP/1.1\r\nHost: a\r\nConnection: close\r\ninvokeid: `),
          invokeId,
          Buffer.from('\r\nContent-Length: 3\r\n\r\none'),
        ]),
      );
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

afterAll(async () => {
  grpc?.close();
  await p?.stop();
  if (p !== undefined) await removeDir(p.dataDir);
});

const HOSTILE = 'a/中\u007f\u2028😀';

describe('a context with characters no header value may hold', () => {
  it.each([
    [
      'baetyl.Function/Call (Topic)',
      'baetyl',
      { FunctionName: 'web', Topic: HOSTILE, Payload: Buffer.from('one') },
    ],
    [
      'runtime.Runtime/Handle (FunctionInvokeID)',
      'runtime',
      { FunctionName: 'web', FunctionInvokeID: HOSTILE, Payload: Buffer.from('one') },
    ],
    [
      'faas.Function/Call (Metadata)',
      'faas',
      { Metadata: { functionName: 'web', x: HOSTILE }, Payload: Buffer.from('one') },
    ],
  ] as const)('reaches an http runtime function without crashing it: %s', async (_, service, request) => {
    const answer = await grpc.call(service, request);
    expect(answer.err?.details ?? null).toBeNull();
    expect(answer.payload?.toString()).toBe('one');
  });

  it('reaches a Node function as the same context', async () => {
    const v1 = await grpc.call('baetyl', {
      FunctionName: 'echo',
      Topic: HOSTILE,
      FunctionInvokeID: 'id-1',
      Payload: Buffer.from('x'),
    });
    expect(v1.err).toBeNull();
    const seen = JSON.parse(v1.payload?.toString() ?? '{}') as { headers: Record<string, string> };
    const context = JSON.parse(seen.headers['baetyl-context'] ?? 'null') as Record<string, unknown>;
    expect(context).toMatchObject({ messageTopic: HOSTILE, functionInvokeID: 'id-1', functionName: 'echo' });
    expect(seen.headers['mqtt-topic']).toBe(encodeURI(HOSTILE));

    const v2 = await grpc.call('faas', {
      Metadata: { functionName: 'echo', note: HOSTILE },
      Payload: Buffer.from('x'),
    });
    expect(v2.err).toBeNull();
    const seen2 = JSON.parse(v2.payload?.toString() ?? '{}') as { headers: Record<string, string> };
    expect(JSON.parse(seen2.headers['baetyl-context'] ?? 'null')).toEqual({
      functionName: 'echo',
      note: HOSTILE,
    });
  });

  it('reaches functions through the proxy with an invokeid of Latin-1 bytes; DEL is refused by the parser', async () => {
    const raw = Buffer.from([0x69, 0x64, 0xe9, 0xff]);
    const web = await proxyWithInvokeId('web', raw);
    expect(web).toMatch(/^HTTP\/1\.1 200 /);
    expect(web.endsWith('\r\n\r\none')).toBe(true);
    const echo = await proxyWithInvokeId('echo', raw);
    const seen = JSON.parse(echo.slice(echo.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> };
    expect(seen.headers['baetyl-context']).toContain('"invokeId":"id\\u00e9\\u00ff"');
    expect(JSON.parse(seen.headers['baetyl-context'] ?? 'null')).toMatchObject({
      invokeId: 'id\u00e9\u00ff',
    });
    expect(await proxyWithInvokeId('web', Buffer.from([0x69, 0x7f]))).toMatch(/^HTTP\/1\.1 400 /);
  });
});
