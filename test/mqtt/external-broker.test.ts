/**
 * The MQTT trigger with external brokers the platform has to adapt to: one that speaks only
 * MQTT 3.1.1, and a Mosquitto that needs a login.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Aedes } from 'aedes';
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { freePort, MOSQUITTO, pub, sub, untilListening } from './mosquitto.js';
import { Inbox, subscribed } from './setup.js';

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
