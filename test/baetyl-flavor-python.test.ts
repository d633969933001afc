/**
 * OpenEdge / Baetyl Python functions (flavors `baetyl` and `openedge`) deployed unchanged and called over
 * Skiff's HTTP gateway with the MQTT trigger's headers: the event and the context, the result rules
 * (None a filter, bytes raw, the rest json.dumps), upstream's error texts with `baetyl-error`, `async
 * def` handlers and handlers in packages (docs/compat/baetyl/flavor.md; acceptance points 3, 4, 6, 9).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baetylCalls, PREFIX, UUID } from './helpers/baetyl-calls.js';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { folderWith } from './helpers/tmp.js';
import { waitUntil } from './helpers/wait.js';

describe('Baetyl Python functions (flavors baetyl and openedge)', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({
      bpy: 'baetyl-py',
      bpyasync: 'baetyl-py-async',
      bpypkg: 'baetyl-py-pkg',
      oepy: 'openedge-py',
    });
  }, 120_000);

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  const { send, echo } = baetylCalls(() => p);

  it('hands over JSON as a value, other bytes as bytes, and {} for an empty body (point 4)', async () => {
    expect((await echo('bpy', 'echo', '{"temp":35}')).echo.event).toEqual({
      type: 'dict',
      value: { temp: 35 },
    });
    expect((await echo('bpy', 'echo', '[1,"a"]')).echo.event).toEqual({ type: 'list', value: [1, 'a'] });
    expect((await echo('bpy', 'echo', '2.5')).echo.event).toEqual({ type: 'float', value: 2.5 });
    expect((await echo('bpy', 'echo', 'hello')).echo.event).toEqual({
      type: 'bytes',
      text: 'hello',
      length: 5,
    });
    const binary = Buffer.from([0xff, 0x00, 0x7b]);
    expect((await echo('bpy', 'echo', binary)).echo.event).toEqual({
      type: 'bytes',
      text: binary.toString('latin1'),
      length: 3,
    });
    expect((await echo('bpy', 'echo', '')).echo.event).toEqual({ type: 'dict', value: {} });
    // generation 2 (the v2 proxy, faas.Function/Call): an empty payload stays empty bytes
    const v2 = await echo('bpy', 'echo', '', { 'baetyl-generation': '2' });
    expect(v2.echo.event).toEqual({ type: 'bytes', text: '', length: 0 });
  });

  it('builds the 1.0 context from the MQTT headers and the invocation (point 3)', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { echo: out, id } = await echo('bpy', 'echo/caf%C3%A9', '{}');
    const ctx = out.context;
    expect(ctx['messageQOS']).toBe(1);
    expect(ctx['messageTopic']).toBe('echo/café');
    expect(ctx['functionName']).toBe('bpy');
    expect(Number.isInteger(ctx['messageTimestamp'])).toBe(true);
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
    const plain = (await echo('bpy', undefined, '{}')).echo.context;
    expect(plain['messageQOS']).toBe(0);
    expect(plain['messageTopic']).toBe('');
    const odd = (await echo('bpy', 'echo', '{}', { 'mqtt-qos': 'two' })).echo.context;
    expect(odd['messageQOS']).toBe(0);
  });

  it('passes a baetyl-context header as it is', async () => {
    const given = { serviceName: 'svc', functionName: 'f', invokeId: 'abc' };
    const { echo: out } = await echo('bpy', undefined, '{}', { 'baetyl-context': JSON.stringify(given) });
    expect(out.context).toEqual(given);
  });

  it('publishes results by upstream rules (points 5, 6)', async () => {
    const body = async (topic: string) => {
      const res = await send('bpy', topic, '{}');
      expect(res.status).toBe(200);
      return { type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
    };
    const none = await body('none');
    expect(none.bytes.length).toBe(0);
    expect(none.type).toBeNull();
    const hi = await body('hi');
    expect(hi.bytes.toString()).toBe('"hi"');
    expect(hi.type).toBe('application/json');
    const bytes = await body('bytes');
    expect([...bytes.bytes]).toEqual([0xff, 0x00, 0x01]);
    expect(bytes.type).toBe('application/octet-stream');
    // json.dumps as upstream: its separators and ASCII escapes
    expect((await body('dict')).bytes.toString()).toBe('{"a": 1, "b": [1, 2], "c": "caf\\u00e9"}');
    // a module of the code folder
    expect((await body('helper')).bytes.toString()).toBe('"from helper"');
  });

  it('answers 500 with upstream error texts and baetyl-error (point 9)', async () => {
    const raised = await send('bpy', 'raise', '{}');
    expect(raised.status).toBe(500);
    expect(raised.headers.get('baetyl-error')).toBe('UserCodeInvoke');
    const text = await raised.text();
    expect(text).toBe(`${PREFIX}('[UserCodeInvoke] ', TypeError('boom'))`);
    const unserialisable = await send('bpy', 'set', '{}');
    expect(unserialisable.status).toBe(500);
    expect(unserialisable.headers.get('baetyl-error')).toBe('UserCodeReturn');
    expect(await unserialisable.text()).toBe(
      `${PREFIX}('[UserCodeReturn] ', TypeError('Object of type set is not JSON serializable'))`,
    );
    // the traceback is in the function's logs
    await waitUntil('the traceback in the logs', async () =>
      (await p.logs('bpy')).some(
        (l) => l.message.includes('TypeError: boom') && l.message.includes('index.py'),
      ),
    );
  });

  it('runs an async def handler', async () => {
    const res = await send('bpyasync', 'sensors', '{"t":1}');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ async: true, event: { t: 1 }, topic: 'sensors' });
    const raised = await send('bpyasync', 'raise', '{}');
    expect(raised.status).toBe(500);
    expect(raised.headers.get('baetyl-error')).toBe('UserCodeInvoke');
    expect(await raised.text()).toBe(`${PREFIX}('[UserCodeInvoke] ', ValueError('async boom'))`);
  });

  it('imports a handler in a package by its dotted name, with its siblings', async () => {
    const res = await send('bpypkg', 'any', '{}');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: 'pkg.mod',
      package: 'pkg',
      sibling: 'sibling',
      absolute: 'sibling',
      top: 'top',
      init: true,
    });
  });

  it('a module without its handler is refused at deploy, naming it', async () => {
    const dir = await folderWith({
      'skiff.json': '{ "runtime": "python", "flavor": "baetyl", "handler": "index.handle" }',
      'index.py': 'def handler(event, context):\n    return event\n',
    });
    try {
      // the deploy starts an instance first, and refuses the version that cannot start
      const deployed = await p.deploy('bpymissing', dir);
      expect(deployed.status).toBe(422);
      expect(await deployed.text()).toContain('index.py does not define a function handle(event, context)');
    } finally {
      await removeDir(dir);
    }
  });

  it('a function of flavor openedge behaves the same', async () => {
    const { echo: out, id } = await echo('oepy', 'sensors/temp', 'hello');
    expect(out.event).toBe('hello');
    expect(out.context).toMatchObject({ messageQOS: 1, messageTopic: 'sensors/temp', functionName: 'oepy' });
    expect(out.context['invokeid']).toBe(id);
    expect((await echo('oepy', 'sensors/temp', '{"a":1}')).echo.event).toEqual({ a: 1 });
    const res = await send('oepy', 'raise', '{}');
    expect(res.status).toBe(500);
    expect(res.headers.get('baetyl-error')).toBe('UserCodeInvoke');
    expect(await res.text()).toBe(`${PREFIX}('[UserCodeInvoke] ', TypeError('boom'))`);
  });
});

describe('the Baetyl rules of the Python bridge (skiff_baetyl.py)', () => {
  it('event, context and result edge cases', () => {
    const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.resolve(import.meta.dirname, '..', 'runtimes', 'python'))})
import skiff_baetyl as B
from skiff_request import Headers
h = lambda *pairs: Headers(list(pairs))
out = {
  "names": [B.module_name("a/b.py"), B.module_name("my-fn.py"), B.module_name("a/b.js")],
  "event": [B.event_of(b"", h()), B.event_of(b"", h(("baetyl-generation", "2"))).hex(), str(B.event_of(b"NaN", h()))],
  "qos": [B.context_of(h(("mqtt-qos", q)), "f", "i")["messageQOS"] for q in ("1", "x", "-1", "١")],
  "topic": B.context_of(h(("mqtt-topic", "a/%E2%82%AC%zz")), "f", "i", 7.9)["messageTopic"],
  "time": B.context_of(h(), "f", "i", 7.9)["messageTimestamp"],
  "given": B.context_of(h(("baetyl-context", "[1]")), "f", "i")["functionName"],
  "raw": B.result_of(bytearray(b"ab")).body.hex(),
  "none": B.result_of(None).body,
}
print(json.dumps(out, default=str))
`;
    const run = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      names: ['a.b', null, null],
      event: [{}, '', 'nan'],
      qos: [1, 0, 0, 0],
      topic: 'a/€%zz',
      time: 7,
      given: 'f',
      raw: '6162',
      none: null,
    });
  });
});
