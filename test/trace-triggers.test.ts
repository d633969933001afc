/**
 * Tracing on the triggers beyond the HTTP gateway (docs/operations.md): a W3C traceparent in
 * gRPC call metadata and in MQTT 5 user properties (through a real Mosquitto) is continued by the
 * invocation, as the function's `ctx.traceId` and `ctx.traceparent` show. Runtimes without a ctx get
 * the invocation's own trace context: the binary runtime in its environment, the http runtime's server
 * as the `traceparent` and `tracestate` headers.
 */
import { credentials, Metadata, type Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { invoke, InvokerClient, json, ok, target } from './grpc/setup.js';
import { pub, startMosquitto, sub } from './mqtt/mosquitto.js';
import { subscribed, withRules } from './mqtt/setup.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

interface Answer {
  traceId: string;
  traceparent: string;
  tracestate: string;
}

describe('trace context on gRPC and MQTT', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  let port = 0;
  let rulesDir = '';
  let p: TestPlatform | undefined;
  let client: Client | undefined;

  beforeAll(async () => {
    broker = await startMosquitto();
    port = broker.port;
    p = await startPlatform({ config: { mqtt: { url: `mqtt://127.0.0.1:${port}` } } });
    rulesDir = await withRules('trace-b', [{ subscribe: 'trace/in', publish: 'trace/out' }]);
    await p.deployAll({ 'trace-b': 'trace-b', 'trace-sh': 'trace-sh', 'trace-http': 'trace-http' });
    const res = await p.deploy('trace-mqtt', rulesDir);
    expect(res.status, await res.text()).toBe(201);
    await subscribed(p.dataDir, ['trace/in']);
    client = new InvokerClient(target(p), credentials.createInsecure());
  }, 120_000);

  afterAll(async () => {
    client?.close();
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
    await broker?.stop();
    if (rulesDir !== '') await removeDir(rulesDir);
  });

  it('continues a traceparent and tracestate sent as gRPC call metadata', async () => {
    const md = new Metadata();
    md.set('traceparent', TRACEPARENT);
    md.set('tracestate', 'vendor=x1');
    const outcome = await invoke(client as Client, { function: 'trace-b' }, { metadata: md });
    const got = json(ok(outcome)) as unknown as Answer;
    expect(got.traceId).toBe(TRACE_ID);
    expect(got.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(got.traceparent).not.toContain(PARENT_ID);
    expect(got.tracestate).toBe('vendor=x1');
    // without one: a new trace
    const fresh = json(ok(await invoke(client as Client, { function: 'trace-b' }))) as unknown as Answer;
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh.traceId).not.toBe(TRACE_ID);
  });

  it('continues a traceparent and tracestate sent as MQTT 5 user properties', async () => {
    const out = sub(port, 'trace/out', ['-V', 'mqttv5']);
    await out.ready;
    await pub(port, 'trace/in', 'traced', [
      ...['-V', 'mqttv5', '-D', 'publish', 'user-property', 'traceparent', TRACEPARENT],
      ...['-D', 'publish', 'user-property', 'tracestate', 'vendor=m5'],
    ]);
    const got = JSON.parse((await out.message).payload) as Answer;
    expect(got.traceId).toBe(TRACE_ID);
    expect(got.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(got.tracestate).toBe('vendor=m5');
  });

  it('hands the invocation’s own traceparent to the binary and http runtimes', async () => {
    for (const name of ['trace-sh', 'trace-http']) {
      const res = await (p as TestPlatform).call(`/${name}`, {
        method: 'POST',
        headers: { traceparent: TRACEPARENT, tracestate: 'vendor=h1' },
      });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const got = JSON.parse(text) as { traceparent: string; tracestate: string };
      expect(got.traceparent, name).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
      expect(got.traceparent, name).not.toContain(PARENT_ID);
      expect(got.tracestate, name).toBe('vendor=h1');
    }
  });
});
