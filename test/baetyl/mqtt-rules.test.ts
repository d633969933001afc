/**
 * Baetyl functions behind MQTT rules on the embedded broker, as Baetyl's function manager runs them:
 * the handler contract in Python and Node (event, context, results, errors), QoS of the output, the
 * retries and the error record (1.0's `functionMessage`, 0.1.1's `packet`), payload limits.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';
import { quietFor, waitFor } from '../helpers/wait.js';
import { Inbox } from '../mqtt/setup.js';
import {
  baetylFunction,
  baetylRule,
  deployAndListen,
  tearDown,
  NODE_HANDLER,
  PY_HANDLER,
} from './functions.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Envelope {
  functionMessage?: Record<string, unknown>;
  packet?: { Message: Record<string, unknown>; ID: number };
  errorMessage: string;
  errorType: string;
}

describe('Baetyl functions behind MQTT rules (embedded broker)', () => {
  let p: TestPlatform;
  let client: MqttClient;
  let inbox: Inbox;
  const dirs: string[] = [];

  beforeAll(async () => {
    p = await startPlatform();
    const py = await baetylFunction({
      runtime: 'python',
      code: PY_HANDLER,
      rules: [
        baetylRule('sensors/temp', 'sensors/alerts'),
        baetylRule('ctx/in', 'ctx/out'),
        baetylRule('kind/in', 'kind/out'),
        baetylRule('none/in', 'none/out'),
        baetylRule('result/in', 'result/out'),
        baetylRule('qos/a', 'qos/a/out', { publishQos: 0 }),
        baetylRule('qos/b', 'qos/b/out'),
        baetylRule('boom/in', 'boom/out'),
        baetylRule('once/in', 'once/out', { attempts: 1 }),
        baetylRule('big/in', 'big/out', { maxPayloadBytes: 1024 }),
      ],
    });
    const node = await baetylFunction({
      runtime: 'node',
      code: NODE_HANDLER,
      rules: [baetylRule('js/in', 'js/out')],
    });
    const old = await baetylFunction({
      runtime: 'python',
      code: PY_HANDLER,
      flavor: 'openedge',
      rules: [baetylRule('boom/old', 'boom/old/out', { attempts: 1 })],
    });
    dirs.push(py, node, old);
    ({ client, inbox } = await deployAndListen(
      p,
      { alert: py, jsfn: node, oldfn: old },
      'test-baetyl',
      ['sensors/alerts', '+/out', 'qos/+/out', 'js/out', 'boom/old/out'],
      ['sensors/temp', 'ctx/in', 'boom/in', 'js/in', 'boom/old'],
    ));
  });
  afterAll(() => tearDown(p, client, dirs));

  const json = (payload: Buffer): Record<string, unknown> =>
    JSON.parse(payload.toString()) as Record<string, unknown>;
  const calls = async (fn: string, needle: string) =>
    (await p.logs(fn)).filter((line) => line.message.includes(needle)).length;

  it('(2) turns {"temp":35} on sensors/temp into an alert with the topic, and drops a cool reading', async () => {
    await client.publishAsync('sensors/temp', '{"temp":20}', { qos: 1 });
    await client.publishAsync('sensors/temp', '{"temp":35}', { qos: 1 });
    const out = await inbox.next('sensors/alerts');
    expect(json(out.payload)).toEqual({ temp: 35, alert: true, topic: 'sensors/temp' });
    await quietFor(300, 'the cool reading is filtered');
    expect(inbox.all('sensors/alerts')).toHaveLength(0);
  });

  it('(3) gives the handler the 1.0 context', async () => {
    const before = Date.now() / 1000;
    await client.publishAsync('ctx/in', '{}', { qos: 1 });
    const out = json((await inbox.next('ctx/out')).payload) as {
      context: Record<string, unknown>;
      now: number;
    };
    const ctx = out.context;
    expect(ctx['messageQOS']).toBe(1);
    expect(ctx['messageTopic']).toBe('ctx/in');
    expect(Math.abs((ctx['messageTimestamp'] as number) - before)).toBeLessThan(5);
    expect(Number.isInteger(ctx['messageTimestamp'])).toBe(true);
    expect(ctx['functionName']).toBe('alert');
    expect(ctx['functionInvokeID']).toMatch(UUID);
    expect(ctx['invokeid']).toBe(ctx['functionInvokeID']);
  });

  it('(4) gives bytes for a payload that is no JSON, and {} for an empty one', async () => {
    await client.publishAsync('kind/in', 'hello', { qos: 1 });
    expect(json((await inbox.next('kind/out')).payload)).toEqual({ type: 'bytes', value: 'hello' });
    await client.publishAsync('kind/in', '', { qos: 1 });
    expect(json((await inbox.next('kind/out')).payload)).toEqual({ type: 'dict', value: {} });
    await client.publishAsync('js/in', 'hello', { qos: 1 });
    expect(json((await inbox.next('js/out')).payload)).toEqual({ raw: 'hello' });
  });

  it('(5) publishes nothing for None, and the QoS 1 input is acknowledged', async () => {
    // publishAsync at QoS 1 resolves on the broker's PUBACK; the platform's own PUBACK is checked on
    // Mosquitto's log in mosquitto.test.ts. Here: nothing comes out, and the message is not sent again.
    await client.publishAsync('none/in', '{"x":1}', { qos: 1 });
    await waitFor('the call', async () =>
      (await calls('alert', "call none/in {'x': 1}")) === 1 ? true : undefined,
    );
    await quietFor(300, 'nothing for None');
    expect(inbox.all('none/out')).toHaveLength(0);
    expect(await calls('alert', 'call none/in')).toBe(1);
  });

  it('(6) publishes bytes raw, a string JSON-quoted, a dict as JSON', async () => {
    await client.publishAsync('result/in', '{"want":"bytes"}', { qos: 1 });
    expect((await inbox.next('result/out')).payload).toEqual(Buffer.from('raw\x00bytes', 'latin1'));
    await client.publishAsync('result/in', '{"want":"str"}', { qos: 1 });
    expect((await inbox.next('result/out')).payload.toString()).toBe('"hi"');
    await client.publishAsync('result/in', '{"want":"dict"}', { qos: 1 });
    expect(json((await inbox.next('result/out')).payload)).toEqual({ a: 1 });
  });

  it('(7) publishes at min(input QoS, publish QoS)', async () => {
    await client.publishAsync('qos/a', '{}', { qos: 1 });
    expect((await inbox.next('qos/a/out')).qos).toBe(0);
    await client.publishAsync('qos/b', '{}', { qos: 0 });
    expect((await inbox.next('qos/b/out')).qos).toBe(0);
    await client.publishAsync('qos/b', '{}', { qos: 1 });
    expect((await inbox.next('qos/b/out')).qos).toBe(1);
  });

  it('(9) calls a raising handler 3 times, then publishes one 1.0 error record', async () => {
    await client.publishAsync('boom/in', 'payload-9', { qos: 1 });
    const out = await inbox.next('boom/out');
    const envelope = json(out.payload) as unknown as Envelope;
    const message = envelope.functionMessage as Record<string, unknown>;
    expect(message['Topic']).toBe('boom/in');
    expect(message['Payload']).toBe(Buffer.from('payload-9').toString('base64'));
    expect(message['QOS']).toBe(1);
    expect(message['FunctionName']).toBe('alert');
    expect(message['FunctionInvokeID']).toMatch(UUID);
    expect(envelope.errorMessage).toContain('[UserCodeInvoke]');
    expect(envelope.errorMessage).toContain('boom');
    expect(envelope.errorType).not.toBe('');
    await waitFor('3 calls', async () =>
      (await calls('alert', 'call boom/in payload-9')) === 3 ? true : undefined,
    );
    await quietFor(300, 'one record only');
    expect(inbox.all('boom/out')).toHaveLength(0);
  });

  it('(10) calls once with retry.max 1', async () => {
    await client.publishAsync('once/in', 'payload-10', { qos: 1 });
    await inbox.next('once/out');
    await quietFor(300, 'no second call');
    expect(await calls('alert', 'call once/in payload-10')).toBe(1);
  });

  it('(19) Node: callback(null, 0) publishes 0, "" nothing, an Error the record', async () => {
    await client.publishAsync('js/in', '{"want":"zero"}', { qos: 1 });
    expect((await inbox.next('js/out')).payload.toString()).toBe('0');
    await client.publishAsync('js/in', '{"want":"false"}', { qos: 1 });
    expect((await inbox.next('js/out')).payload.toString()).toBe('false');
    await client.publishAsync('js/in', '{"want":"empty"}', { qos: 1 });
    await client.publishAsync('js/in', '{"want":"err"}', { qos: 1 });
    const envelope = json((await inbox.next('js/out')).payload) as unknown as Envelope;
    expect(envelope.errorMessage).toContain('[UserCodeInvoke]');
    expect(envelope.functionMessage?.['FunctionName']).toBe('jsfn');
    expect(await calls('jsfn', 'call js/in "empty"')).toBe(1);
    await quietFor(300, 'nothing for the empty result');
    expect(inbox.all('js/out')).toHaveLength(0);
  });

  it('(20) answers a payload over message.length.max with an error record, and keeps serving', async () => {
    await client.publishAsync('big/in', Buffer.alloc(2000, 'a'), { qos: 1 });
    const envelope = json((await inbox.next('big/out')).payload) as unknown as Envelope;
    expect(envelope.errorMessage).toContain('larger than max (2000 vs. 1024)');
    await client.publishAsync('big/in', Buffer.alloc(1000, 'a'), { qos: 1 });
    expect(json((await inbox.next('big/out')).payload)).toEqual({ ok: true });
  });

  it('(24) an OpenEdge 0.1.x function puts the MQTT packet under "packet" in its error record', async () => {
    await client.publishAsync('boom/old', 'payload-24', { qos: 1 });
    const envelope = json((await inbox.next('boom/old/out')).payload) as unknown as Envelope;
    expect(envelope.functionMessage).toBeUndefined();
    expect(envelope.packet?.Message['Topic']).toBe('boom/old');
    expect(envelope.packet?.Message['Payload']).toBe(Buffer.from('payload-24').toString('base64'));
    expect(envelope.errorMessage).toContain('[UserCodeInvoke]');
  });
});
