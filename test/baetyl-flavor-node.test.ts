/**
 * OpenEdge / Baetyl Node functions (flavors `baetyl` and `openedge`) deployed unchanged and called over
 * Skiff's HTTP gateway with the MQTT trigger's headers: the event and the context, the result rules
 * (`0` and `false` published, a filter answers 200 empty), callback and promise styles, and upstream's
 * error texts with `baetyl-error` (docs/compat/baetyl/flavor.md; acceptance points 3, 4, 6, 19).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baetylCalls, PREFIX, UUID } from './helpers/baetyl-calls.js';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

describe('Baetyl Node functions (flavors baetyl and openedge)', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({
      bnode: 'baetyl-node',
      bpromise: 'baetyl-node-promise',
      oenode: 'openedge-node',
    });
  }, 120_000);

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  const { send, echo } = baetylCalls(() => p);

  it('hands over JSON as an object, other bytes as a Buffer, and {} for an empty body (points 4)', async () => {
    expect((await echo('bnode', 'echo', '{"temp":35}')).echo.event).toEqual({
      type: 'object',
      value: { temp: 35 },
    });
    expect((await echo('bnode', 'echo', '[1,"a"]')).echo.event).toEqual({ type: 'array', value: [1, 'a'] });
    expect((await echo('bnode', 'echo', '"text"')).echo.event).toEqual({ type: 'string', value: 'text' });
    expect((await echo('bnode', 'echo', 'hello')).echo.event).toEqual({
      type: 'buffer',
      text: 'hello',
      length: 5,
    });
    const binary = Buffer.from([0xff, 0x00, 0x7b]);
    expect((await echo('bnode', 'echo', binary)).echo.event).toEqual({
      type: 'buffer',
      text: binary.toString('latin1'),
      length: 3,
    });
    expect((await echo('bnode', 'echo', '')).echo.event).toEqual({ type: 'object', value: {} });
    // generation 2 (the v2 proxy, faas.Function/Call): an empty payload stays empty bytes
    const v2 = await echo('bnode', 'echo', '', { 'baetyl-generation': '2' });
    expect(v2.echo.event).toEqual({ type: 'buffer', text: '', length: 0 });
  });

  it('builds the 1.0 context from the MQTT headers and the invocation (point 3)', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { echo: out, id } = await echo('bnode', 'echo/caf%C3%A9', '{}');
    const ctx = out.context;
    expect(ctx['messageQOS']).toBe(1);
    expect(ctx['messageTopic']).toBe('echo/café');
    expect(ctx['functionName']).toBe('bnode');
    expect(typeof ctx['messageTimestamp']).toBe('number');
    expect(Math.abs((ctx['messageTimestamp'] as number) - before)).toBeLessThanOrEqual(5);
    expect(ctx['functionInvokeID']).toMatch(UUID);
    expect(ctx['invokeid']).toBe(ctx['functionInvokeID']);
    expect(ctx['functionInvokeID']).toBe(id);
    expect(Object.keys(ctx).sort()).toEqual(
      [
        'functionInvokeID',
        'functionName',
        'invokeid',
        'messageQOS',
        'messageTimestamp',
        'messageTopic',
      ].sort(),
    );
    // a plain call: QoS 0 and no topic
    const plain = (await echo('bnode', undefined, '{}')).echo.context;
    expect(plain['messageQOS']).toBe(0);
    expect(plain['messageTopic']).toBe('');
    const odd = (await echo('bnode', 'echo', '{}', { 'mqtt-qos': 'two' })).echo.context;
    expect(odd['messageQOS']).toBe(0);
  });

  it('passes a baetyl-context header as it is', async () => {
    const given = { serviceName: 'svc', functionName: 'f', invokeId: 'abc' };
    const { echo: out } = await echo('bnode', undefined, '{}', { 'baetyl-context': JSON.stringify(given) });
    expect(out.context).toEqual(given);
  });

  it('publishes results by upstream rules, 0 and false included (points 6, 19)', async () => {
    const body = async (topic: string) => {
      const res = await send('bnode', topic, '{}');
      expect(res.status).toBe(200);
      return { type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
    };
    for (const filtered of ['empty', 'null', 'nothing']) {
      const out = await body(filtered);
      expect(out.bytes.length, filtered).toBe(0);
      expect(out.type, filtered).toBeNull();
    }
    expect((await body('zero')).bytes.toString()).toBe('0');
    expect((await body('false')).bytes.toString()).toBe('false');
    const hi = await body('hi');
    expect(hi.bytes.toString()).toBe('"hi"');
    expect(hi.type).toBe('application/json');
    const bytes = await body('bytes');
    expect([...bytes.bytes]).toEqual([0xff, 0x00, 0x01]);
    expect(bytes.type).toBe('application/octet-stream');
    // a returned timer is no answer: the callback that follows is
    expect(JSON.parse((await body('later')).bytes.toString())).toEqual({ later: true });
  });

  it('answers 500 with upstream error texts and baetyl-error (point 19)', async () => {
    const failure = async (fn: string, topic: string) => {
      const res = await send(fn, topic, '{}');
      expect(res.status).toBe(500);
      return { kind: res.headers.get('baetyl-error'), text: await res.text() };
    };
    expect(await failure('bnode', 'error')).toEqual({
      kind: 'UserCodeInvoke',
      text: `${PREFIX}('[UserCodeInvoke]', Error: x)`,
    });
    expect(await failure('bnode', 'throw')).toEqual({
      kind: 'UserCodeInvoke',
      text: `${PREFIX}('[UserCodeInvoke]', TypeError: boom)`,
    });
    const cycle = await failure('bnode', 'cycle');
    expect(cycle.kind).toBe('UserCodeReturn');
    expect(
      cycle.text.startsWith(`${PREFIX}('[UserCodeReturn]', TypeError: Converting circular structure to JSON`),
    ).toBe(true);
    expect(await failure('bpromise', 'reject')).toEqual({
      kind: 'UserCodeInvoke',
      text: `${PREFIX}('[UserCodeInvoke]', RangeError: async boom)`,
    });
    // the instance keeps serving after a failure
    expect((await echo('bnode', 'echo', '{"after":1}')).echo.event).toEqual({
      type: 'object',
      value: { after: 1 },
    });
  });

  it('a handler of two parameters answers with its promise', async () => {
    const res = await send('bpromise', 'sensors', '{"t":1}');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ promised: { t: 1 }, topic: 'sensors' });
    const nothing = await send('bpromise', 'nothing', '{}');
    expect(nothing.status).toBe(200);
    expect(await nothing.text()).toBe('');
    expect(await (await send('bpromise', 'zero', '{}')).text()).toBe('0');
  });

  it('a function of flavor openedge behaves the same', async () => {
    const { echo: out, id } = await echo('oenode', 'sensors/temp', 'hello');
    expect(out.event).toBe('hello');
    expect(out.context).toMatchObject({
      messageQOS: 1,
      messageTopic: 'sensors/temp',
      functionName: 'oenode',
    });
    expect(out.context['invokeid']).toBe(id);
    const json = await echo('oenode', 'sensors/temp', '{"a":1}');
    expect(json.echo.event).toEqual({ a: 1 });
    const res = await send('oenode', 'error', '{}');
    expect(res.status).toBe(500);
    expect(res.headers.get('baetyl-error')).toBe('UserCodeInvoke');
    expect(await res.text()).toBe(`${PREFIX}('[UserCodeInvoke]', Error: x)`);
  });
});
