/**
 * The handler context a Baetyl gRPC call sends as the `baetyl-context` header is JSON made of what the
 * client wrote: a v1 message's Topic and FunctionInvokeID, a v2 message's whole Metadata map. Raw,
 * a character outside Latin-1 (any Chinese topic) or a DEL is no valid header value: the http
 * runtime's bridge hands the header to node:http, which threw and took the function's whole instance
 * down (every request in flight with it), and a Node function's `Headers` silently dropped the
 * context. The header is JSON with such characters escaped: the same object to every parser.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { baetylClients } from './baetyl-red-client.js';

let p: TestPlatform;
let grpc: ReturnType<typeof baetylClients>;

beforeAll(async () => {
  p = await startPlatform({ config: { compat: { baetyl: { enabled: true, proxy: { port: 0 } } } } });
  expect((await p.deploy('web', fixture('http-node'))).status).toBe(201);
  expect((await p.deploy('echo', fixture('echo-cjs'))).status).toBe(201);
  grpc = baetylClients(p);
}, 60_000);

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
});
