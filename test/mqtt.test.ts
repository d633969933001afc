/**
 * The MQTT trigger: rules from skiff.json, through the embedded broker (aedes) with an mqtt.js
 * client, and through a real Mosquitto with its CLI clients, including at-least-once delivery from
 * the platform's persistent session across a stop and a SIGKILL.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, cp, mkdtemp, writeFile } from 'node:fs/promises';
import { connect as connectTcp, createServer, type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fixture,
  makeDataDir,
  removeDir,
  startPlatform,
  TMP_PREFIX,
  type TestPlatform,
} from './helpers/platform.js';
import { quietFor, waitFor, waitUntil } from './helpers/wait.js';

const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'skiff.js');
const MOSQUITTO = '/usr/sbin/mosquitto';
const MAX_PAYLOAD = 64 * 1024;

interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
}

/** Every message a test client got, to wait for and take out one by one. */
class Inbox {
  private readonly messages: Received[] = [];
  private readonly wakers = new Set<() => void>();

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload, qos: packet.qos });
      for (const wake of this.wakers) wake();
    });
  }

  /** Takes the first message on `topic` that `accept` takes, waiting up to `ms`. */
  async next(topic: string, accept: (m: Received) => boolean = () => true, ms = 15_000): Promise<Received> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.messages.findIndex((m) => m.topic === topic && accept(m));
      if (i !== -1) return this.messages.splice(i, 1)[0] as Received;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message on ${topic} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.wakers.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.wakers.add(wake);
      });
    }
  }

  /** The messages on `topic` so far that `accept` takes. */
  all(topic: string, accept: (m: Received) => boolean = () => true): Received[] {
    return this.messages.filter((m) => m.topic === topic && accept(m));
  }
}

/**
 * Waits until the platform's session holds the subscriptions `want` and not `gone`: subscriptions
 * follow a deploy asynchronously, and the platform records each one in <dataDir>/mqtt-session.json
 * once the broker has granted it.
 */
async function subscribed(dataDir: string, want: string[], gone: string[] = []): Promise<void> {
  const file = path.join(dataDir, 'mqtt-session.json');
  let held: string[] = [];
  await waitUntil(
    () => `subscriptions ${want.join(', ')} without ${gone.join(', ')}; they are ${held.join(', ')}`,
    () => {
      held = existsSync(file)
        ? Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { subscriptions: object }).subscriptions)
        : [];
      return want.every((f) => held.includes(f)) && !gone.some((f) => held.includes(f));
    },
    10_000,
  );
}

/** Polls a function's logs until a line contains every one of `needles`. */
async function logsContain(p: TestPlatform, fn: string, needles: string[], ms = 10_000): Promise<string[]> {
  let lines: string[] = [];
  return waitFor(
    () => `logs of ${fn} with ${needles.join(', ')}: ${lines.join(' | ')}`,
    async () => {
      lines = (await p.logs(fn)).map((l) => l.message);
      return needles.every((n) => lines.some((line) => line.includes(n))) ? lines : undefined;
    },
    ms,
  );
}

/** A fixture folder copied with other MQTT rules in its skiff.json. */
async function withRules(name: string, rules: unknown[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  await cp(fixture(name), dir, { recursive: true });
  const spec = JSON.parse(readFileSync(path.join(dir, 'skiff.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(dir, 'skiff.json'), JSON.stringify({ ...spec, triggers: { mqtt: rules } }));
  return dir;
}

/** The embedded broker's default user, from the file the platform made in its data directory. */
function brokerLogin(dataDir: string): { username: string; password: string } {
  return JSON.parse(readFileSync(path.join(dataDir, 'mqtt-credentials.json'), 'utf8')) as {
    username: string;
    password: string;
  };
}

/** An MQTT string: its length in two bytes, then its bytes. */
function mqttString(value: string): Buffer {
  const bytes = Buffer.from(value);
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}

function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

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
    login = brokerLogin(p.dataDir);
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

// --- a real Mosquitto -------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function untilListening(port: number): Promise<void> {
  await waitUntil(
    `a listener on 127.0.0.1:${port}`,
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connectTcp(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    5_000,
  );
}

function pub(port: number, topic: string, message: string, extra: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', message, ...extra],
      { timeout: 10_000 },
      (err) => (err === null ? resolve() : reject(err)),
    );
  });
}

interface SubResult {
  qos: number;
  payload: string;
  contentType: string;
}

/** `mosquitto_sub -C 1 -W 10` on `topic`: `ready` once subscribed, `message` the first message. */
function sub(
  port: number,
  topic: string,
  extra: string[] = [],
): { ready: Promise<void>; message: Promise<SubResult> } {
  let subscribed = (): void => undefined;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  const message = new Promise<SubResult>((resolve, reject) => {
    // line-buffered, so that "received SUBACK" of -d shows while it runs
    const child = execFile(
      'stdbuf',
      [
        ...['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(port), '-t', topic, '-q', '1'],
        ...['-C', '1', '-W', '10', '-d', '-F', 'MSG|%q|%C|%p', ...extra],
      ],
      { timeout: 15_000 },
      (err, stdout) => {
        const line = stdout.split('\n').find((l) => l.startsWith('MSG|'));
        if (err !== null || line === undefined) {
          reject(new Error(`mosquitto_sub ${topic}: ${err?.message ?? 'no message'}: ${stdout}`));
          return;
        }
        const [, qos, contentType, payload] = line.split('|');
        resolve({ qos: Number(qos), contentType: contentType ?? '', payload: payload ?? '' });
      },
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      if (/SUBACK/.test(chunk.toString())) subscribed();
    });
  });
  return { ready, message };
}

describe('MQTT trigger with an external broker (Mosquitto)', () => {
  let mosquitto: ChildProcess | undefined;
  let port = 0;
  let confDir = '';
  let dataDir = '';
  let brokerUrl = '';
  let p: TestPlatform | undefined;
  let serve: ChildProcess | undefined;

  beforeAll(async () => {
    port = await freePort();
    confDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-mosquitto-'));
    const conf = path.join(confDir, 'mosquitto.conf');
    await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    mosquitto = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
    await untilListening(port);
    brokerUrl = `mqtt://127.0.0.1:${port}`;
    dataDir = await makeDataDir();
  });
  afterAll(async () => {
    if (serve !== undefined && serve.exitCode === null && serve.signalCode === null) serve.kill('SIGKILL');
    await p?.stop();
    mosquitto?.kill('SIGTERM');
    if (mosquitto !== undefined && mosquitto.exitCode === null) {
      await new Promise((resolve) => mosquitto?.once('exit', resolve));
    }
    await removeDir(confDir);
    await removeDir(dataDir);
  });

  it('publishes and receives through the platform with mosquitto_pub and mosquitto_sub', async () => {
    p = await startPlatform({ dataDir, config: { mqtt: { url: brokerUrl } } });
    // an external broker: the embedded one stays off
    expect(p.server.endpoints['mqtt']).toBeUndefined();
    await p.deployAll({ upper: 'mqtt-upper', echo: 'mqtt-echo', slow: 'mqtt-slow' });
    await subscribed(dataDir, ['in/upper', 'echo/+/in', 'slow/in']);

    const upper = sub(port, 'out/upper');
    await upper.ready;
    await pub(port, 'in/upper', 'through mosquitto');
    expect(await upper.message).toMatchObject({ payload: 'THROUGH MOSQUITTO', qos: 1 });

    // MQTT 5: the publisher's content type reaches the function, the result's goes out with it
    const echo = sub(port, 'echo/out', ['-V', 'mqttv5']);
    await echo.ready;
    await pub(port, 'echo/m5/in', 'typed', ['-V', 'mqttv5', '-D', 'publish', 'content-type', 'text/plain']);
    const got = await echo.message;
    expect(got.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(got.payload)).toMatchObject({
      body: 'typed',
      headers: { 'content-type': 'text/plain', 'mqtt-topic': 'echo/m5/in', 'mqtt-qos': '1' },
    });
  });

  it('gets a QoS 1 message published while the platform was down from its persistent session', async () => {
    await p?.stop();
    p = undefined;
    await pub(port, 'in/upper', 'while you were away');
    const upper = sub(port, 'out/upper');
    await upper.ready;
    p = await startPlatform({ dataDir, config: { mqtt: { url: brokerUrl } } });
    expect(await upper.message).toMatchObject({ payload: 'WHILE YOU WERE AWAY', qos: 1 });
  });

  it('gets a message again when the platform was killed while its function ran (acknowledged only after)', async () => {
    await p?.stop();
    p = undefined;
    const endpointsFile = path.join(dataDir, 'endpoints.json');
    rmSync(endpointsFile, { force: true });
    serve = spawn(
      process.execPath,
      [
        ...[BIN, 'serve', '--data-dir', dataDir, '--control-port', '0', '--http-port', '0'],
        ...['--http-host', '127.0.0.1', '--grpc-port', '0', '--coap-port', '0'],
        ...['--mqtt-url', brokerUrl, '--log-level', 'info'],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } },
    );
    let output = ''; // the platform logs to stderr
    serve.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitUntil(
      'the platform to start',
      () => output.includes('skiff started') && existsSync(endpointsFile),
      10_000,
    ).catch(() => undefined); // the expectations below say what is missing
    expect(output).toContain('connected to the MQTT broker (session resumed)');
    expect(existsSync(endpointsFile)).toBe(true);
    const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as { control: string };
    const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();

    await pub(port, 'slow/in', 'job-1');
    // the function has started on the platform that is about to die
    await waitUntil(
      'the slow function to start',
      async () => {
        const res = await fetch(`${endpoints.control}/v1/functions/slow/logs?limit=100`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const { logs } = (await res.json()) as { logs: { message: string }[] };
        return logs.some((l) => l.message.includes('started job-1'));
      },
      5_000,
    );
    const killed = new Promise((resolve) => serve?.once('exit', resolve));
    serve.kill('SIGKILL');
    await killed;

    const result = sub(port, 'slow/out');
    await result.ready;
    p = await startPlatform({ dataDir, config: { mqtt: { url: brokerUrl } } });
    expect(await result.message).toMatchObject({ payload: 'done job-1', qos: 1 });
    const lines = (await p.logs('slow')).map((l) => l.message);
    expect(lines.filter((l) => l.includes('started job-1')).length).toBeGreaterThanOrEqual(2);
  });
});

describe('MQTT trigger with an external MQTT 3.1.1 broker', () => {
  it('falls back to MQTT 3.1.1 when the broker refuses MQTT 5', async () => {
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const brokerUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const p = await startPlatform({ config: { mqtt: { url: brokerUrl } } });
    const client = await connectAsync(brokerUrl, { clientId: 'test-v311', reconnectPeriod: 0 });
    try {
      await p.deployAll({ upper: 'mqtt-upper' });
      const inbox = new Inbox(client);
      await client.subscribeAsync('out/upper', { qos: 1 });
      await subscribed(p.dataDir, ['in/upper']);
      await client.publishAsync('in/upper', 'old school', { qos: 1 });
      const got = await inbox.next('out/upper');
      expect(got.payload.toString()).toBe('OLD SCHOOL');
      expect(got.qos).toBe(1);
    } finally {
      await client.endAsync();
      await p.stop();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await removeDir(p.dataDir);
    }
  });
});

describe('MQTT trigger with an external broker that needs a login', () => {
  it('logs in with mqtt.username and mqtt.passwordFile', async () => {
    const port = await freePort();
    const confDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-mosquitto-'));
    const passwords = path.join(confDir, 'passwords');
    await new Promise<void>((resolve, reject) => {
      execFile('mosquitto_passwd', ['-c', '-b', passwords, 'platform', 'platform-secret-1'], (err) =>
        err === null ? resolve() : reject(err),
      );
    });
    // Mosquitto started as root reads the password file as the user mosquitto
    await chmod(confDir, 0o755);
    await chmod(passwords, 0o644);
    const conf = path.join(confDir, 'mosquitto.conf');
    await writeFile(
      conf,
      `listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${passwords}\npersistence false\n`,
    );
    const secret = path.join(confDir, 'platform-password');
    await writeFile(secret, 'platform-secret-1\n', { mode: 0o600 });
    const mosquitto = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
    let p: TestPlatform | undefined;
    try {
      await untilListening(port);
      p = await startPlatform({
        config: {
          mqtt: { url: `mqtt://127.0.0.1:${port}`, username: 'platform', passwordFile: secret },
        },
      });
      await p.deployAll({ upper: 'mqtt-upper' });
      await subscribed(p.dataDir, ['in/upper']);
      const login = ['-u', 'platform', '-P', 'platform-secret-1'];
      const upper = sub(port, 'out/upper', login);
      await upper.ready;
      await pub(port, 'in/upper', 'with a login', login);
      expect(await upper.message).toMatchObject({ payload: 'WITH A LOGIN', qos: 1 });
    } finally {
      await p?.stop();
      mosquitto.kill('SIGTERM');
      if (mosquitto.exitCode === null) await new Promise((resolve) => mosquitto.once('exit', resolve));
      await removeDir(confDir);
      if (p !== undefined) await removeDir(p.dataDir);
    }
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
