/**
 * The pieces of the Baetyl runtime shim (runtimes/baetyl/) against a real gRPC server of
 * @grpc/grpc-js serving the protos in proto/baetyl: the hand-written protobuf codec, the unary
 * client over node:http2, and the FunctionMessage built from an INVOKE.
 */
import net from 'node:net';
import path from 'node:path';
import {
  Server,
  ServerCredentials,
  loadPackageDefinition,
  status,
  type GrpcObject,
  type ServiceClientConstructor,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcStatus, GrpcUnaryClient } from '../../runtimes/baetyl/grpc-unary.js';
import { functionMessage, serviceConfig } from '../../runtimes/baetyl/service-config.js';
import { decodeMessage, encodeMessage, type FunctionMessage } from '../../runtimes/baetyl/wire.js';
import type { InvokeMeta } from '../../src/executor/protocol/messages.js';

const PROTOS = path.resolve(import.meta.dirname, '..', '..', 'proto', 'baetyl');
const LOADER = { keepCase: true, longs: String, defaults: true };

function service(file: string, pkg: string, name: string) {
  const root = loadPackageDefinition(loadSync(path.join(PROTOS, file), LOADER));
  return ((root[pkg] as GrpcObject)[name] as ServiceClientConstructor).service;
}

type Wire = Record<string, unknown> & { Payload: Buffer };
const seen: Wire[] = [];

function handle(call: ServerUnaryCall<Wire, Wire>, callback: sendUnaryData<Wire>): void {
  seen.push(call.request);
  const text = call.request.Payload.toString('utf8');
  if (text === 'fail') {
    callback({
      code: status.UNKNOWN,
      details: "Exception calling application: ('[UserCodeInvoke] ', TypeError('bo%om ü'))",
    });
    return;
  }
  if (text === 'big') {
    callback(null, { ...call.request, Payload: Buffer.alloc(1000, 1) });
    return;
  }
  callback(null, { ...call.request, Payload: Buffer.from(`reply:${text}`) });
}

const message: FunctionMessage = {
  id: 42n,
  qos: 1,
  topic: 't/1',
  payload: Buffer.from('hello'),
  timestamp: -5n,
  functionName: 'fn',
  functionInvokeId: 'inv-1',
};

describe('the Baetyl runtime shim over gRPC', () => {
  const server = new Server();
  let address = '';
  let client: GrpcUnaryClient;

  beforeAll(async () => {
    server.addService(service('baetyl.proto', 'baetyl', 'Function'), { Call: handle });
    server.addService(service('runtime.proto', 'runtime', 'Runtime'), { Handle: handle });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
    client = new GrpcUnaryClient(address);
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('sends a FunctionMessage that protobuf decodes field by field, and decodes the reply', async () => {
    expect(await client.connect()).toBe(true);
    const outcome = await client.call('/baetyl.Function/Call', encodeMessage('function-message', message), {
      timeoutMs: 5000,
      maxReplyBytes: 1 << 20,
    });
    expect(seen.at(-1)).toMatchObject({
      ID: '42',
      QOS: 1,
      Topic: 't/1',
      Timestamp: '-5',
      FunctionName: 'fn',
      FunctionInvokeID: 'inv-1',
    });
    expect(seen.at(-1)?.Payload.toString()).toBe('hello');
    if (!outcome.ok) throw new Error(outcome.details);
    const reply = decodeMessage('function-message', outcome.message);
    expect(Buffer.from(reply.payload).toString()).toBe('reply:hello');
    expect(reply).toMatchObject({ id: 42n, qos: 1, topic: 't/1', timestamp: -5n, functionInvokeId: 'inv-1' });
  });

  it("speaks 0.1.1's runtime.Message with its own field numbers", async () => {
    const outcome = await client.call('/runtime.Runtime/Handle', encodeMessage('runtime-message', message), {
      maxReplyBytes: 1 << 20,
    });
    expect(seen.at(-1)).toMatchObject({
      QOS: 1,
      Topic: 't/1',
      FunctionName: 'fn',
      FunctionInvokeID: 'inv-1',
    });
    if (!outcome.ok) throw new Error(outcome.details);
    expect(Buffer.from(decodeMessage('runtime-message', outcome.message).payload).toString()).toBe(
      'reply:hello',
    );
  });

  it('reports UNIMPLEMENTED for a service the runtime does not serve', async () => {
    const outcome = await client.call('/openedge.Function/Call', encodeMessage('function-message', message), {
      maxReplyBytes: 1 << 20,
    });
    expect(outcome).toMatchObject({ ok: false, status: GrpcStatus.UNIMPLEMENTED });
  });

  it("gives back the runtime's error details as written", async () => {
    const fail = { ...message, payload: Buffer.from('fail') };
    const outcome = await client.call('/baetyl.Function/Call', encodeMessage('function-message', fail), {
      maxReplyBytes: 1 << 20,
    });
    expect(outcome).toEqual({
      ok: false,
      status: GrpcStatus.UNKNOWN,
      details: "Exception calling application: ('[UserCodeInvoke] ', TypeError('bo%om ü'))",
    });
  });

  it('refuses a reply over the size limit', async () => {
    const big = { ...message, payload: Buffer.from('big') };
    const outcome = await client.call('/baetyl.Function/Call', encodeMessage('function-message', big), {
      maxReplyBytes: 100,
    });
    expect(outcome.ok).toBe(false);
    expect(outcome).toMatchObject({ status: null });
    if (!outcome.ok) expect(outcome.details).toContain('exceeds the limit of 100 bytes');
  });

  it('cannot connect where nothing listens', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const nowhere = new GrpcUnaryClient(`127.0.0.1:${port}`);
    expect(await nowhere.connect()).toBe(false);
    const outcome = await nowhere.call('/baetyl.Function/Call', Buffer.alloc(0), { maxReplyBytes: 10 });
    expect(outcome).toMatchObject({ ok: false, status: null });
    nowhere.close();
  });
});

describe('the message and configuration the shim builds', () => {
  const meta = (headers: [string, string][]): InvokeMeta => ({
    invocationId: 'inv-9',
    method: 'POST',
    url: 'http://localhost/fn',
    headers,
    deadline: Date.now() + 1000,
    trigger: 'mqtt',
  });

  it('takes QOS and topic from the MQTT headers, the time now and the invocation id', () => {
    const m = functionMessage(
      1n,
      'fn',
      meta([
        ['mqtt-qos', '1'],
        ['mqtt-topic', 'a%2Fb'],
      ]),
      Buffer.from('x'),
      5000,
    );
    expect(m).toMatchObject({
      qos: 1,
      topic: 'a/b',
      timestamp: 5n,
      functionName: 'fn',
      functionInvokeId: 'inv-9',
    });
  });

  it('prefers baetyl-context, but keeps the configured function name', () => {
    const ctx = {
      messageQOS: 1,
      messageTopic: 't',
      messageTimestamp: 77,
      functionName: 'other',
      functionInvokeID: 'c-1',
    };
    const m = functionMessage(
      2n,
      'fn',
      meta([
        ['baetyl-context', JSON.stringify(ctx)],
        ['mqtt-topic', 'x'],
      ]),
      Buffer.alloc(0),
    );
    expect(m).toMatchObject({
      qos: 1,
      topic: 't',
      timestamp: 77n,
      functionName: 'fn',
      functionInvokeId: 'c-1',
    });
  });

  it('writes the function under its own name with the handler as written', () => {
    const init = {
      codeDir: '/code',
      handler: 'index.handler',
      function: 'fn',
      version: 1,
      env: {},
      secrets: {},
    };
    const config = serviceConfig(init, { address: '127.0.0.1:9', timeoutMs: 30_000, maxMessageBytes: 4096 });
    expect(config).toMatchObject({
      name: 'fn',
      server: { address: '127.0.0.1:9', timeout: 30_000_000_000, message: { length: { max: 4096 } } },
      functions: [{ name: 'fn', handler: 'index.handler', codedir: '/code' }],
    });
  });
});
