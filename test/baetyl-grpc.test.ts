/**
 * Baetyl's gRPC runtime interfaces on the real platform (src/compat/baetyl/grpc.ts), called by real
 * @grpc/grpc-js clients built from the repository's protos: every generation's service, the echo of
 * the message's fields, exact 64-bit integers, upstream's errors, private functions and the message
 * size limit. The native function `bt-native` shows what a function is handed; the last block runs
 * Baetyl handlers (flavor `baetyl`) through the bridges.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicesFor } from '../src/compat/baetyl/services.js';
import { fixture, removeDir, startPlatform, TMP_PREFIX, type TestPlatform } from './helpers/platform.js';
import { ReflectionClient } from './grpc/setup.js';
import { baetylClients, json, type BaetylClients, type ServiceName } from './baetyl/clients.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LIMIT = 64 * 1024;
const V1: ServiceName[] = ['runtime', 'openedge', 'baetyl'];

describe('Baetyl gRPC services', () => {
  let p: TestPlatform;
  let grpc: BaetylClients;
  let privateDir: string;

  beforeAll(async () => {
    p = await startPlatform({
      config: { compat: { baetyl: { enabled: true, maxMessageBytes: LIMIT, proxy: { enabled: false } } } },
    });
    await p.deployAll({ 'bt-native': 'bt-native' });
    privateDir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    await cp(fixture('bt-native'), privateDir, { recursive: true });
    await writeFile(
      path.join(privateDir, 'skiff.json'),
      JSON.stringify({ runtime: 'node', access: { private: true } }),
    );
    const res = await p.deploy('bt-secret', privateDir);
    expect(res.status, await res.text()).toBe(201);
    grpc = baetylClients(p.server.endpoints['grpc'] ?? '');
  }, 120_000);
  afterAll(async () => {
    grpc.close();
    await p.stop();
    await removeDir(p.dataDir);
    await rm(privateDir, { recursive: true, force: true });
  });

  it('serves the three 1.0 services: the reply echoes every field but Payload, the function gets the context', async () => {
    for (const service of V1) {
      const request = {
        QOS: 1,
        Topic: 'sensors/temp room',
        Payload: Buffer.from('{"temp":35}'),
        FunctionName: 'bt-native',
        FunctionInvokeID: `invoke-${service}`,
        ...(service === 'runtime' ? {} : { ID: '42', Timestamp: '1700000000' }),
      };
      const outcome = await grpc.call(service, request);
      expect(outcome.err, service).toBeNull();
      const { Payload, ...rest } = outcome.reply ?? {};
      const { Payload: _sent, ...sent } = request;
      expect(rest, service).toEqual(sent);
      const seen = JSON.parse(String(Payload)) as Record<string, unknown>;
      expect(seen, service).toMatchObject({
        body: '{"temp":35}',
        topic: 'sensors/temp%20room',
        qos: '1',
        generation: null,
        context: {
          messageQOS: 1,
          messageTopic: 'sensors/temp room',
          functionName: 'bt-native',
          functionInvokeID: `invoke-${service}`,
          invokeid: `invoke-${service}`,
        },
      });
      const ts = (seen['context'] as { messageTimestamp: number }).messageTimestamp;
      if (service === 'runtime') expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(5);
      else expect(ts).toBe(1_700_000_000);
    }
  });

  it('keeps sint64 and uint64 exact: Timestamp -5 and ID 2^64-1 round-trip', async () => {
    for (const service of ['openedge', 'baetyl'] as const) {
      const outcome = await grpc.call(service, {
        ID: '18446744073709551615',
        Timestamp: '-5',
        FunctionName: 'bt-native',
        Payload: Buffer.from('x'),
      });
      expect(outcome.reply?.['ID'], service).toBe('18446744073709551615');
      expect(outcome.reply?.['Timestamp'], service).toBe('-5');
      expect((json(outcome)['context'] as { messageTimestamp: number }).messageTimestamp).toBe(-5);
    }
  });

  it('gives a message without Timestamp or FunctionInvokeID now and a new UUID', async () => {
    const seen = json(await grpc.call('baetyl', { FunctionName: 'bt-native', Payload: Buffer.from('x') }));
    const context = seen['context'] as Record<string, unknown>;
    expect(context['functionInvokeID']).toMatch(UUID);
    expect(context['invokeid']).toBe(context['functionInvokeID']);
    expect(Math.abs((context['messageTimestamp'] as number) - Date.now() / 1000)).toBeLessThan(5);
    expect([context['messageQOS'], context['messageTopic']]).toEqual([0, '']);
  });

  it('serves faas.Function/Call: Metadata is the context, echoed, with generation 2 and empty payloads kept', async () => {
    const Metadata_ = { serviceName: 'svc', functionName: 'bt-native', invokeId: 'abc' };
    const outcome = await grpc.call('faas', { Metadata: Metadata_, Payload: Buffer.alloc(0) });
    expect(outcome.reply?.['Metadata']).toEqual(Metadata_);
    expect(json(outcome)).toMatchObject({ bytes: 0, generation: '2', context: Metadata_, topic: null });
    // no functionName: the first function of the service
    servicesFor(p.dataDir).set('grpc-svc', ['bt-native', 'bt-secret']);
    const first = await grpc.call('faas', {
      Metadata: { serviceName: 'grpc-svc' },
      Payload: Buffer.from('x'),
    });
    expect(json(first)).toMatchObject({ body: 'x', context: { serviceName: 'grpc-svc' } });
  });

  it("answers upstream's errors: unknown functions, a user error's text", async () => {
    for (const service of V1) {
      const outcome = await grpc.call(service, { FunctionName: 'no-such-fn', Payload: Buffer.from('x') });
      expect([outcome.err?.code, outcome.err?.details], service).toEqual([
        status.UNKNOWN,
        'function not found',
      ]);
      const upper = await grpc.call(service, { FunctionName: 'Not A Name', Payload: Buffer.from('x') });
      expect(upper.err?.details, service).toBe('function not found');
    }
    const v2 = await grpc.call('faas', { Metadata: { functionName: 'no-such-fn' } });
    expect([v2.err?.code, v2.err?.details]).toEqual([status.UNKNOWN, "the function doesn't found"]);
    const none = await grpc.call('faas', { Metadata: { serviceName: 'no-such-service' } });
    expect([none.err?.code, none.err?.details]).toEqual([status.UNKNOWN, 'no functions exist']);
    const failed = await grpc.call('baetyl', { FunctionName: 'bt-native', Payload: Buffer.from('fail') });
    expect([failed.err?.code, failed.err?.details]).toEqual([
      status.UNKNOWN,
      "Exception calling application: ('[UserCodeInvoke] ', TypeError('boom'))",
    ]);
  });

  it('refuses a private function without a token, as Skiff’s own gRPC service does, and serves it with one', async () => {
    for (const service of V1) {
      const refused = await grpc.call(service, { FunctionName: 'bt-secret', Payload: Buffer.from('x') });
      expect([refused.err?.code, refused.err?.details], service).toEqual([
        status.PERMISSION_DENIED,
        'Forbidden',
      ]);
    }
    const v2 = await grpc.call('faas', {
      Metadata: { functionName: 'bt-secret' },
      Payload: Buffer.from('x'),
    });
    expect(v2.err?.code).toBe(status.PERMISSION_DENIED);
    const bad = new Metadata();
    bad.set('x-auth-token', 'not-a-jwt');
    const invalid = await grpc.call('baetyl', { FunctionName: 'bt-secret', Payload: Buffer.from('x') }, bad);
    expect(invalid.err?.code).toBe(status.UNAUTHENTICATED);
    const minted = await p.api('/v1/functions/bt-secret/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(minted.status).toBe(201);
    const good = new Metadata();
    good.set('x-auth-token', ((await minted.json()) as { token: string }).token);
    const allowed = await grpc.call('baetyl', { FunctionName: 'bt-secret', Payload: Buffer.from('x') }, good);
    // served, and the function never sees the caller's token
    expect(json(allowed)).toMatchObject({ body: 'x', token: null });
  });

  it('lists the four services through server reflection, beside skiff.v1.Invoker', async () => {
    const reflection = new ReflectionClient(
      (p.server.endpoints['grpc'] ?? '').replace('grpc://', ''),
      credentials.createInsecure(),
    );
    try {
      const names = await new Promise<string[]>((resolve, reject) => {
        const stream = (
          reflection as unknown as { ServerReflectionInfo(): NodeJS.ReadWriteStream }
        ).ServerReflectionInfo();
        stream.on('data', (msg: { listServicesResponse?: { service: { name: string }[] } }) => {
          resolve((msg.listServicesResponse?.service ?? []).map((s) => s.name));
          stream.end();
        });
        stream.on('error', reject);
        stream.write({ listServices: '' } as never);
      });
      expect(names).toEqual(
        expect.arrayContaining([
          'skiff.v1.Invoker',
          'runtime.Runtime',
          'openedge.Function',
          'baetyl.Function',
          'faas.Function',
        ]),
      );
    } finally {
      reflection.close();
    }
  });

  it('refuses a request or a reply over compat.baetyl.maxMessageBytes cleanly and keeps serving', async () => {
    const big = await grpc.call('baetyl', {
      FunctionName: 'bt-native',
      Payload: Buffer.alloc(LIMIT + 1, 'a'),
    });
    expect(big.err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(big.err?.details).toMatch(/^Received message larger than max \(\d+ vs\. 65536\)$/);
    const bigV2 = await grpc.call('faas', {
      Metadata: { functionName: 'bt-native' },
      Payload: Buffer.alloc(LIMIT + 1),
    });
    expect(bigV2.err?.code).toBe(status.RESOURCE_EXHAUSTED);
    const answer = await grpc.call('runtime', {
      FunctionName: 'bt-native',
      Payload: Buffer.from(`big:${LIMIT + 1}`),
    });
    expect(answer.err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(answer.err?.details).toMatch(/^Sent message larger than max \(\d+ vs\. 65536\)$/);
    // just under the limit passes both ways
    const fits = await grpc.call('runtime', {
      FunctionName: 'bt-native',
      Payload: Buffer.from(`big:${LIMIT - 100}`),
    });
    expect(fits.err).toBeNull();
    expect(fits.reply?.Payload?.length).toBe(LIMIT - 100);
    expect(
      json(await grpc.call('baetyl', { FunctionName: 'bt-native', Payload: Buffer.from('ok') })),
    ).toMatchObject({
      body: 'ok',
    });
  });
});

/** These need the bridges' `baetyl` flavor (runtimes/node, runtimes/python). */
describe('Baetyl gRPC services with Baetyl handlers', () => {
  let p: TestPlatform;
  let grpc: BaetylClients;

  beforeAll(async () => {
    p = await startPlatform({ config: { compat: { baetyl: { enabled: true, proxy: { enabled: false } } } } });
    grpc = baetylClients(p.server.endpoints['grpc'] ?? '');
    await p.deployAll({ 'bt-node': 'bt-node', 'bt-py': 'bt-py' });
  }, 120_000);
  afterAll(async () => {
    grpc.close();
    await p.stop();
    await removeDir(p.dataDir);
  });

  it('hands the handler the event and the context of the message, and the error text back', async () => {
    for (const fn of ['bt-node', 'bt-py']) {
      const outcome = await grpc.call('baetyl', {
        ID: '7',
        QOS: 1,
        Topic: 't/1',
        Timestamp: '-5',
        FunctionName: fn,
        FunctionInvokeID: 'inv-1',
        Payload: Buffer.from('{"temp":35}'),
      });
      expect(outcome.reply?.['ID'], fn).toBe('7');
      expect(json(outcome), fn).toEqual({
        event: { temp: 35 },
        context: {
          messageQOS: 1,
          messageTopic: 't/1',
          messageTimestamp: -5,
          functionName: fn,
          functionInvokeID: 'inv-1',
          invokeid: 'inv-1',
        },
      });
      const raw = json(await grpc.call('openedge', { FunctionName: fn, Payload: Buffer.from('hello') }));
      expect(raw['event'], fn).toEqual({ raw: 'hello' });
      const failed = await grpc.call('runtime', { FunctionName: fn, Payload: Buffer.from('{"fail":true}') });
      expect(failed.err?.code, fn).toBe(status.UNKNOWN);
      expect(failed.err?.details, fn).toContain('boom');
      if (fn === 'bt-py') expect(failed.err?.details).toContain('[UserCodeInvoke]');
    }
    const v2 = await grpc.call('faas', { Metadata: { serviceName: 'bt-node' }, Payload: Buffer.alloc(0) });
    expect(json(v2)).toEqual({ event: { raw: '' }, context: { serviceName: 'bt-node' } });
  });
});
