/**
 * The pieces of the Baetyl runtime shim (runtimes/baetyl/): its gRPC client (@grpc/grpc-js with the
 * package definition the bundle carries) against a real gRPC server of @grpc/grpc-js serving the
 * protos in proto/baetyl, the FunctionMessage built from an INVOKE, and the bundle itself.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
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
import { protoDescriptor } from '../../runtimes/baetyl/protos.js';
import { RuntimeClient } from '../../runtimes/baetyl/runtime-client.js';
import {
  functionMessage,
  serviceConfig,
  type FunctionMessage,
} from '../../runtimes/baetyl/service-config.js';
import type { InvokeMeta } from '../../src/executor/protocol/messages.js';
import { waitUntil } from '../helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const PROTOS = path.join(ROOT, 'proto', 'baetyl');
const LOADER = { keepCase: true, longs: String, defaults: true };

function service(file: string, pkg: string, name: string) {
  const root = loadPackageDefinition(loadSync(path.join(PROTOS, file), LOADER));
  return ((root[pkg] as GrpcObject)[name] as ServiceClientConstructor).service;
}

type Wire = Record<string, unknown> & { Payload: Buffer };
const seen: Wire[] = [];
/** Calls the server holds without an answer (payload `hang`), answered when the tests end. */
const held: (() => void)[] = [];
const DETAILS = "Exception calling application: ('[UserCodeInvoke] ', TypeError('bo%om ü'))";

function handle(call: ServerUnaryCall<Wire, Wire>, callback: sendUnaryData<Wire>): void {
  seen.push(call.request);
  const text = call.request.Payload.toString('utf8');
  if (text === 'fail') {
    callback({ code: status.UNKNOWN, details: DETAILS });
    return;
  }
  if (text === 'hang') {
    held.push(() => callback(null, call.request));
    return;
  }
  if (text === 'exhausted') {
    callback({ code: status.RESOURCE_EXHAUSTED, details: 'Concurrent RPC limit exceeded!' });
    return;
  }
  if (text === 'big') {
    callback(null, { ...call.request, Payload: Buffer.alloc(1000, 1) });
    return;
  }
  callback(null, { ...call.request, Payload: Buffer.from(`reply:${text}`) });
}

/** The extremes of uint64 and sint64: exact only if 64-bit fields never pass through a double. */
const message: FunctionMessage = {
  id: (1n << 64n) - 1n,
  qos: 1,
  topic: 't/1',
  payload: Buffer.from('hello'),
  timestamp: -(1n << 63n),
  functionName: 'fn',
  functionInvokeId: 'inv-1',
};

async function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe("the Baetyl runtime shim's gRPC client", () => {
  const server = new Server();
  const protos = protoDescriptor(PROTOS);
  let address = '';
  let client: RuntimeClient;

  beforeAll(async () => {
    server.addService(service('baetyl.proto', 'baetyl', 'Function'), { Call: handle });
    server.addService(service('runtime.proto', 'runtime', 'Runtime'), { Handle: handle });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
    client = new RuntimeClient(address, protos, 1 << 20);
  });

  afterAll(() => {
    for (const answer of held) answer();
    client.close();
    server.forceShutdown();
  });

  it('sends a FunctionMessage that protobuf decodes field by field, and decodes the reply', async () => {
    expect(await client.waitForReady(5000)).toBe(true);
    const outcome = await client.call('baetyl', message, { timeoutMs: 5000 });
    expect(seen.at(-1)).toMatchObject({
      ID: '18446744073709551615',
      QOS: 1,
      Topic: 't/1',
      Timestamp: '-9223372036854775808',
      FunctionName: 'fn',
      FunctionInvokeID: 'inv-1',
    });
    expect(seen.at(-1)?.Payload.toString()).toBe('hello');
    if (!outcome.ok) throw new Error(outcome.details);
    expect(Buffer.from(outcome.message.payload).toString()).toBe('reply:hello');
    expect(outcome.message).toMatchObject({
      id: (1n << 64n) - 1n,
      qos: 1,
      topic: 't/1',
      timestamp: -(1n << 63n),
      functionInvokeId: 'inv-1',
    });
  });

  it("speaks 0.1.1's runtime.Message with its own field numbers", async () => {
    const outcome = await client.call('runtime', message, { timeoutMs: 5000 });
    expect(seen.at(-1)).toMatchObject({
      QOS: 1,
      Topic: 't/1',
      FunctionName: 'fn',
      FunctionInvokeID: 'inv-1',
    });
    expect(seen.at(-1)).not.toHaveProperty('ID');
    if (!outcome.ok) throw new Error(outcome.details);
    expect(Buffer.from(outcome.message.payload).toString()).toBe('reply:hello');
    expect(outcome.message).toMatchObject({ id: 0n, timestamp: 0n });
  });

  it('reports UNIMPLEMENTED for a service the runtime does not serve', async () => {
    const outcome = await client.call('openedge', message, { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ ok: false, status: status.UNIMPLEMENTED });
  });

  it("gives back the runtime's error details as written", async () => {
    const fail = { ...message, payload: Buffer.from('fail') };
    const outcome = await client.call('baetyl', fail, { timeoutMs: 5000 });
    expect(outcome).toEqual({ ok: false, status: status.UNKNOWN, details: DETAILS });
  });

  it("gives back the runtime's own RESOURCE_EXHAUSTED (its limit of calls) as its status", async () => {
    const exhausted = { ...message, payload: Buffer.from('exhausted') };
    const outcome = await client.call('baetyl', exhausted, { timeoutMs: 5000 });
    expect(outcome).toEqual({
      ok: false,
      status: status.RESOURCE_EXHAUSTED,
      details: 'Concurrent RPC limit exceeded!',
    });
  });

  it('refuses a reply over the size limit as a failure of the transport', async () => {
    const small = new RuntimeClient(address, protos, 100);
    const big = { ...message, payload: Buffer.from('big') };
    const outcome = await small.call('baetyl', big, { timeoutMs: 5000 });
    small.close();
    expect(outcome).toMatchObject({ ok: false, status: null });
    if (!outcome.ok) expect(outcome.details).toContain("the runtime's reply exceeds the limit of 100 bytes");
    // and below the limit the same call goes through
    expect(await client.call('baetyl', big, { timeoutMs: 5000 })).toMatchObject({ ok: true });
  });

  it('cannot connect where nothing listens', async () => {
    const nowhere = new RuntimeClient(`127.0.0.1:${await freePort()}`, protos, 10);
    expect(await nowhere.waitForReady(300)).toBe(false);
    const outcome = await nowhere.call('baetyl', message, { timeoutMs: 2000 });
    expect(outcome).toMatchObject({ ok: false, status: null });
    nowhere.close();
  });

  it('ends the call when the signal aborts', async () => {
    const controller = new AbortController();
    const hang = { ...message, payload: Buffer.from('hang') };
    const pending = client.call('baetyl', hang, { timeoutMs: 60_000, signal: controller.signal });
    await waitUntil('the server to hold the call', () => held.length === 1);
    controller.abort();
    expect(await pending).toMatchObject({
      ok: false,
      status: null,
      details: expect.stringMatching(/cancel/i),
    });
  });
});

describe("the shim's bundles", () => {
  const dir = path.join(ROOT, 'dist', 'runtimes', 'baetyl');
  /** The modules a bundle imports: its static imports (at the top) and dynamic import()s. */
  function imports(file: string): { code: string; specifiers: string[] } {
    const code = readFileSync(path.join(dir, file), 'utf8');
    const statement =
      /(?:^|[;\n])\s*import\s*(?:(?:\{[^}]*\}|[\w$]+|\*\s*as\s+[\w$]+)\s*from\s*)?"([^"]+)"|\bimport\("([^"]+)"\)/g;
    return { code, specifiers: [...code.matchAll(statement)].map((m) => m[1] ?? m[2] ?? '') };
  }
  const builtin = (s: string) => s.startsWith('node:') || builtinModules.includes(s);
  /** A package's module asked for through the bundle's require (Node's built-ins only may be). */
  const PACKAGE_REQUIRE = /\(\s*"(?:@grpc\/|protobufjs|long")/;

  it("the shim: Node's modules, the compiled bridge modules, the client next to it", () => {
    const { code, specifiers } = imports('shim.js');
    expect(specifiers).toContain('../shared/connection.js');
    expect(specifiers).toContain('./runtime-client.js');
    expect(
      specifiers.filter((s) => !builtin(s) && !s.startsWith('../') && s !== './runtime-client.js'),
    ).toEqual([]);
    expect(code).not.toMatch(PACKAGE_REQUIRE);
    // the protos' descriptor is inside
    expect(code).toContain('FunctionInvokeID');
  });

  it("the client: Node's modules only, grpc-js and protobufjs inside", () => {
    const { code, specifiers } = imports('runtime-client.js');
    expect(specifiers.filter((s) => !builtin(s))).toEqual([]);
    expect(code).not.toMatch(PACKAGE_REQUIRE);
    expect(code).toContain('grpc.max_receive_message_length');
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
