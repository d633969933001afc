/**
 * The MQTT trigger with the embedded broker (aedes) and an mqtt.js client: rules from skiff.json,
 * QoS, payloads and their limits, rules that follow a redeploy or a delete. One platform serves the
 * tests of the first group in order (later tests redeploy and delete what earlier ones use).
 */
import { readFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
// the packet writer aedes and mqtt.js share (a dependency of both)
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLogin } from '../helpers/mqtt.js';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { quietFor } from '../helpers/wait.js';
import { Inbox, logsContain, mqttString, remainingLength, subscribed, withRules } from './setup.js';

const MAX_PAYLOAD = 64 * 1024;

describe('MQTT trigger with the embedded broker', () => {
  let p: TestPlatform;
  let client: MqttClient;
  let inbox: Inbox;
  let url: string;
  let login: { username: string; password: string };
  const dirs: string[] = [];

  beforeAll(async () => {
    p = await startPlatform({ config: { mqtt: { maxPayloadBytes: MAX_PAYLOAD } } });
    url = p.server.endpoints['mqtt'] as string;
    await p.deployAll({
      upper: 'mqtt-upper',
      echo: 'mqtt-echo',
      py: 'mqtt-py',
      bin: 'mqtt-bin',
      filter: 'mqtt-filter',
    });
    login = defaultLogin(p);
    client = await connectAsync(url, { ...login, clientId: 'test-embedded', reconnectPeriod: 0 });
    inbox = new Inbox(client);
    await client.subscribeAsync(['out/#', 'echo/out', 'alerts/hot'], { qos: 1 });
    await subscribed(p.dataDir, ['in/upper', 'echo/+/in', 'echo/q0', 'echo/sink', 'py/#', 'bin/in']);
    await subscribed(p.dataDir, ['sensors/+/temp']);
  });
  afterAll(async () => {
    await client?.endAsync();
    await p?.stop();
    for (const dir of dirs) await removeDir(dir);
    if (p !== undefined) await removeDir(p.dataDir);
  });

  it('listens on loopback and names its endpoint mqtt://host:port', () => {
    expect(url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    const endpoints = JSON.parse(readFileSync(path.join(p.dataDir, 'endpoints.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(endpoints['mqtt']).toBe(url);
  });

  it("keeps no table of pre-made number Buffers in the packet writer (6 MiB of the platform's heap)", () => {
    // the platform's client turns the table off before its first packet; the broker writes with it too
    expect(mqttPacket.writeToStream.cacheNumbers).toBe(false);
  });

  it('runs the function for a message and publishes its result, QoS 1 as QoS 1 and QoS 0 as QoS 0', async () => {
    await client.publishAsync('in/upper', 'hello mqtt', { qos: 1 });
    const one = await inbox.next('out/upper');
    expect(one.payload.toString()).toBe('HELLO MQTT');
    expect(one.qos).toBe(1);

    await client.publishAsync('in/upper', 'at most once', { qos: 0 });
    const zero = await inbox.next('out/upper');
    expect(zero.payload.toString()).toBe('AT MOST ONCE');
    expect(zero.qos).toBe(0);
  });

  it('gives the function POST / with the payload, mqtt-topic, mqtt-qos and a content type', async () => {
    await client.publishAsync('echo/dev-7/in', '{"t":21.5}', { qos: 1 });
    const got = JSON.parse((await inbox.next('echo/out')).payload.toString()) as {
      method: string;
      path: string;
      headers: Record<string, string>;
      body: string;
      trigger: string;
      invocationId: string;
    };
    expect(got).toMatchObject({ method: 'POST', path: '/', body: '{"t":21.5}', trigger: 'mqtt' });
    expect(got.headers).toMatchObject({
      'mqtt-topic': 'echo/dev-7/in',
      'mqtt-qos': '1',
      // MQTT 3.1.1 (the embedded broker) has no content type property
      'content-type': 'application/octet-stream',
    });
    expect(got.invocationId).toMatch(/^[0-9a-f-]{36}$/);

    // a topic outside ASCII arrives percent-encoded, as decodeURIComponent reads it
    await client.publishAsync('echo/küche 2/in', 'x', { qos: 1 });
    const odd = JSON.parse((await inbox.next('echo/out')).payload.toString()) as {
      headers: Record<string, string>;
    };
    expect(odd.headers['mqtt-topic']).toBe('echo/k%C3%BCche%202/in');
    expect(decodeURIComponent(odd.headers['mqtt-topic'] ?? '')).toBe('echo/küche 2/in');
  });

  it("publishes at the lower of the message's QoS and the rule's qos", async () => {
    await client.publishAsync('echo/q0', 'rule qos 0', { qos: 1 });
    const got = await inbox.next('echo/out', (m) => m.payload.includes('rule qos 0'));
    expect(got.qos).toBe(0);
    // the subscription is held at the rule's QoS, so the broker delivers at most that
    expect(
      (JSON.parse(got.payload.toString()) as { headers: Record<string, string> }).headers['mqtt-qos'],
    ).toBe('0');
  });

  it('runs a rule without publish and publishes nothing for it', async () => {
    await client.publishAsync('echo/sink', 'into the sink', { qos: 1 });
    await logsContain(p, 'echo', ['echo echo/sink into the sink']);
    await quietFor(200, 'nothing may be published for it, not even late');
    expect(inbox.all('echo/out', (m) => m.payload.includes('into the sink'))).toHaveLength(0);
  });

  it('runs Python functions on wildcard topics', async () => {
    await client.publishAsync('py/a/b', 'stressed', { qos: 1 });
    const got = await inbox.next('out/py');
    expect(JSON.parse(got.payload.toString())).toEqual({
      reversed: 'desserts',
      topic: 'py/a/b',
      qos: '1',
      trigger: 'mqtt',
    });
    expect(got.qos).toBe(1);
  });

  it('passes binary payloads byte for byte to a binary function and back', async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await client.publishAsync('bin/in', bytes, { qos: 1 });
    const got = await inbox.next('out/bin');
    expect(got.payload.equals(Buffer.concat([Buffer.from('len=256 topic=bin/in;'), bytes]))).toBe(true);
  });

  it('publishes nothing for an empty or 204 result, nor for a function error (a filter)', async () => {
    for (const [room, reading] of [
      ['kitchen', '21'],
      ['hall', '-3'],
      ['cellar', 'boom'],
      ['attic', '42'],
    ] as const) {
      await client.publishAsync(`sensors/${room}/temp`, reading, { qos: 1 });
    }
    const hot = await inbox.next('alerts/hot');
    expect(hot.payload.toString()).toBe('attic is hot: 42');
    // every reading ran (the error too), and only the hot one was passed on
    await logsContain(p, 'filter', [
      'reading sensors/kitchen/temp 21',
      'reading sensors/hall/temp -3',
      'reading sensors/cellar/temp boom',
      'a reading that breaks the function',
    ]);
    await quietFor(200, 'no other reading may be passed on, not even late');
    expect(inbox.all('alerts/hot')).toHaveLength(0);
  });

  it('refuses a payload over mqtt.maxPayloadBytes at the broker and takes one at the limit', async () => {
    const big = await connectAsync(url, { ...login, clientId: 'test-big', reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => big.once('close', () => resolve()));
    big.publish('in/upper', Buffer.alloc(MAX_PAYLOAD + 1, 'a'), { qos: 0 });
    await closed;
    big.end(true);

    await client.publishAsync('in/upper', Buffer.alloc(MAX_PAYLOAD, 'b'), { qos: 1 });
    const got = await inbox.next('out/upper');
    expect(got.payload.equals(Buffer.alloc(MAX_PAYLOAD, 'B'))).toBe(true);
    await quietFor(200, 'the oversized message must not come through late');
    expect(inbox.all('out/upper')).toHaveLength(0);
  });

  it('cuts off a client whose packet header announces more than the limit, before reading it', async () => {
    const { hostname, port } = new URL(url);
    const socket: Socket = connectTcp(Number(port), hostname);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    // MQTT 3.1.1 CONNECT: clean session, with a user name and a password (flags 0xc2)
    const connectBody = Buffer.concat([
      Buffer.from([0x00, 0x04]),
      Buffer.from('MQTT'),
      Buffer.from([0x04, 0xc2, 0x00, 0x3c]),
      mqttString('raw'),
      mqttString(login.username),
      mqttString(login.password),
    ]);
    const connack = new Promise<Buffer>((resolve) => socket.once('data', resolve));
    socket.write(Buffer.concat([Buffer.from([0x10]), remainingLength(connectBody.length), connectBody]));
    expect([...(await connack)]).toEqual([0x20, 0x02, 0x00, 0x00]);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    // a PUBLISH that claims 200 MB, then only a few bytes of it
    socket.write(Buffer.concat([Buffer.from([0x30]), remainingLength(200 * 1024 * 1024), Buffer.alloc(64)]));
    const started = Date.now();
    await closed;
    expect(Date.now() - started).toBeLessThan(2_000);
    // the broker still serves everyone else
    await client.publishAsync('in/upper', 'still here', { qos: 1 });
    expect((await inbox.next('out/upper')).payload.toString()).toBe('STILL HERE');
  });

  it('refuses a rule no broker would take at deploy, naming it', async () => {
    const dir = await withRules('mqtt-upper', [{ subscribe: 'in/#/bad', publish: 'out/upper' }]);
    dirs.push(dir);
    const bad = await p.deploy('badrule', dir);
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('SKIFF_E_INVALID_SPEC');
    expect(body.error.message).toContain('triggers.mqtt[0]');
    expect(body.error.message).toContain('in/#/bad');

    const loop = await withRules('mqtt-upper', [{ subscribe: 'loop/#', publish: 'loop/back' }]);
    dirs.push(loop);
    const looped = await p.deploy('badrule', loop);
    expect(looped.status).toBe(400);
    expect(((await looped.json()) as { error: { message: string } }).error.message).toContain(
      'run the function again',
    );
  });

  it('follows a redeploy that moves the rule to another topic', async () => {
    const dir = await withRules('mqtt-upper', [{ subscribe: 'in/upper2', publish: 'out/upper' }]);
    dirs.push(dir);
    expect((await p.deploy('upper', dir)).status).toBe(200);
    await subscribed(p.dataDir, ['in/upper2'], ['in/upper']);
    await client.publishAsync('in/upper', 'old topic', { qos: 1 });
    await client.publishAsync('in/upper2', 'new topic', { qos: 1 });
    expect((await inbox.next('out/upper')).payload.toString()).toBe('NEW TOPIC');
    await quietFor(300, 'the old topic must not run the function any more');
    expect(inbox.all('out/upper')).toHaveLength(0);
  });

  it('stops a deleted function’s rules', async () => {
    expect((await p.api('/v1/functions/filter', { method: 'DELETE' })).status).toBe(204);
    await subscribed(p.dataDir, [], ['sensors/+/temp']);
    await client.publishAsync('sensors/oven/temp', '250', { qos: 1 });
    await quietFor(500, "a deleted function's rule must not run");
    expect(inbox.all('alerts/hot')).toHaveLength(0);
    // the other functions go on
    await client.publishAsync('py/after', 'delete', { qos: 1 });
    expect(JSON.parse((await inbox.next('out/py')).payload.toString())).toMatchObject({
      reversed: 'eteled',
    });
  });
});

describe('MQTT trigger stopping', () => {
  it('stops an idle platform with the embedded broker at once (its own client lets go of the broker)', async () => {
    const p = await startPlatform();
    try {
      const started = Date.now();
      await p.stop();
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      await p.stop();
      await removeDir(p.dataDir);
    }
  });
});
