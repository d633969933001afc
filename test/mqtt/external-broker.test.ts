/**
 * The MQTT trigger with external brokers: a real Mosquitto and its CLI clients, with at-least-once
 * delivery from the platform's persistent session across a stop and a SIGKILL (those tests run in
 * order on one broker and one data directory); a broker that speaks only MQTT 3.1.1; a Mosquitto that
 * needs a login.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitUntil } from '../helpers/wait.js';
import { freePort, MOSQUITTO, pub, startMosquitto, sub, untilListening } from './mosquitto.js';
import { Inbox, subscribed } from './setup.js';

const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'skiff.js');

describe('MQTT trigger with an external broker (Mosquitto)', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>> | undefined;
  let port = 0;
  let dataDir = '';
  let brokerUrl = '';
  let p: TestPlatform | undefined;
  let serve: ChildProcess | undefined;

  beforeAll(async () => {
    broker = await startMosquitto();
    port = broker.port;
    brokerUrl = `mqtt://127.0.0.1:${port}`;
    dataDir = await makeDataDir();
  });
  afterAll(async () => {
    if (serve !== undefined && serve.exitCode === null && serve.signalCode === null) serve.kill('SIGKILL');
    await p?.stop();
    await broker?.stop();
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
