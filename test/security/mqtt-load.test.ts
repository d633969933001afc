/**
 * Load attacks on the MQTT trigger and the embedded broker by logged-in clients: a burst of QoS 1
 * messages to a rule that publishes its result (which froze every trigger: a deadlock between the
 * held-back messages and the results' PUBACKs), the broker's memory (retained messages,
 * subscriptions, persistent sessions), and pre-login connections that hold the per-address quota.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { connect, connectAsync, MqttClient, type IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { connackCode, defaultLogin, grants, subscribed, until, type Login } from '../helpers/mqtt.js';
import { quietFor } from '../helpers/wait.js';

const SENSOR = { username: 'sensor', password: 'sensor-password-1' };

describe('MQTT trigger under load', () => {
  let p: TestPlatform;
  let url: string;
  let login: Login;

  beforeAll(async () => {
    p = await startPlatform({
      config: {
        mqtt: {
          broker: {
            users: [{ ...SENSOR, publish: ['in/#', 'sensors/#'], subscribe: ['sensors/#', 'out/#'] }],
          },
        },
      },
    });
    url = p.server.endpoints['mqtt'] as string;
    login = defaultLogin(p);
    await p.deployAll({ upper: 'mqtt-upper' });
    await subscribed(p, ['in/upper']);
  });
  afterAll(async () => {
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
  });

  it('runs a burst of 300 QoS 1 messages to a rule that publishes, and the trigger answers afterwards', async () => {
    const watcher = await connectAsync(url, { ...login, clientId: 'load-watcher', reconnectPeriod: 0 });
    const results = new Set<string>();
    watcher.on('message', (_topic, payload) => results.add(payload.toString()));
    await watcher.subscribeAsync('out/upper', { qos: 1 });
    const sender = await connectAsync(url, { ...SENSOR, clientId: 'load-sender', reconnectPeriod: 0 });
    try {
      // the attack: no waiting for PUBACKs, everything at once
      await Promise.all(
        Array.from({ length: 300 }, (_, i) => sender.publishAsync('in/upper', `burst-${i}`, { qos: 1 })),
      );
      await until(() => results.size >= 300, 'the 300 results', 30_000);
      for (let i = 0; i < 300; i++) expect(results.has(`BURST-${i}`)).toBe(true);
      const t0 = Date.now();
      await sender.publishAsync('in/upper', 'after', { qos: 1 });
      await until(() => results.has('AFTER'), 'the result of the message after the burst', 5_000);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      await sender.endAsync(true);
      await watcher.endAsync(true);
    }
  }, 60_000);

  it('runs every message of a burst of 1300 QoS 1 messages (over 64 running and 1000 queued)', async () => {
    const watcher = await connectAsync(url, { ...login, clientId: 'flood-watcher', reconnectPeriod: 0 });
    const results = new Set<string>();
    watcher.on('message', (_topic, payload) => results.add(payload.toString()));
    await watcher.subscribeAsync('out/upper', { qos: 1 });
    const sender = await connectAsync(url, { ...SENSOR, clientId: 'flood-sender', reconnectPeriod: 0 });
    const count = 1_300; // over 64 running and 1000 queued
    try {
      await Promise.all(
        Array.from({ length: count }, (_, i) => sender.publishAsync('in/upper', `flood-${i}`, { qos: 1 })),
      );
      await until(() => results.size >= count, `the ${count} results`, 45_000);
      for (let i = 0; i < count; i++) expect(results.has(`FLOOD-${i}`)).toBe(true);
    } finally {
      await sender.endAsync(true);
      await watcher.endAsync(true);
    }
  }, 90_000);

  it('keeps logins and the trigger working while 64 connections from 127.0.0.1 hold slots without logging in', async () => {
    const holders = new Set<Socket>();
    let holding = true;
    const hold = (): void => {
      if (!holding) return;
      const socket = connectTcp({ host: '127.0.0.1', port: Number(new URL(url).port) }, () => {
        socket.write(Buffer.from([0x10])); // the first byte of a CONNECT, then nothing
      });
      holders.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => {
        holders.delete(socket);
        setTimeout(hold, 20); // reopened at once, as the attack did
      });
    };
    for (let i = 0; i < 64; i++) hold();
    const watcher = await connectAsync(url, { ...login, clientId: 'hold-watcher', reconnectPeriod: 0 }).catch(
      () => undefined,
    );
    try {
      await quietFor(500, 'the holders keep reconnecting for a while: legitimate clients must still get in');
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push(await connackCode(url, { ...login, clientId: `legit-${i}` }));
      expect(codes).toEqual([0, 0, 0]);
      expect(watcher).toBeDefined();
      const results: string[] = [];
      watcher?.on('message', (_topic, payload) => results.push(payload.toString()));
      await watcher?.subscribeAsync('out/upper', { qos: 1 });
      await watcher?.publishAsync('in/upper', 'held', { qos: 1 });
      await until(() => results.includes('HELD'), 'the result while connections are held', 10_000);
    } finally {
      holding = false;
      for (const socket of holders) socket.destroy();
      await watcher?.endAsync(true);
    }
  }, 60_000);

  it('refuses $SYS to the default user in the SUBACK, whatever the QoS or session', async () => {
    const spy = await connectAsync(url, { ...login, clientId: 'sys-spy', clean: false, reconnectPeriod: 0 });
    try {
      expect(await grants(spy, ['sensors/x', '$SYS/#', 'alerts/#'], 1)).toEqual([1, 128, 1]);
      expect(await grants(spy, ['$SYS/#'], 1)).toEqual([128]);
      expect(await grants(spy, ['$SYS/+/new/clients'], 0)).toEqual([128]);
    } finally {
      await spy.endAsync(true);
    }
    // a clean login ends the persistent session (and its slot)
    expect(await connackCode(url, { ...login, clientId: 'sys-spy' })).toBe(0);
  });
});

/** Publishes and resolves whether the broker took it (false: it closed the connection instead). */
function tryPublish(client: MqttClient, topic: string, payload: Buffer, retain: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    if (!client.connected) {
      resolve(false);
      return;
    }
    const closed = () => resolve(false);
    client.once('close', closed);
    client.publish(topic, payload, { qos: 1, retain }, (err) => {
      client.off('close', closed);
      resolve(err === undefined || err === null);
    });
  });
}

describe('embedded MQTT broker memory under a limited user', () => {
  let p: TestPlatform;
  let url: string;
  const rss = () => process.memoryUsage().rss;

  beforeAll(async () => {
    p = await startPlatform({
      config: {
        mqtt: {
          broker: {
            users: [{ ...SENSOR, publish: ['sensors/#'], subscribe: ['sensors/#'] }],
          },
        },
      },
    });
    url = p.server.endpoints['mqtt'] as string;
  });
  afterAll(async () => {
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
  });

  const sensor = (clientId: string, extra: IClientOptions = {}) =>
    connectAsync(url, { ...SENSOR, clientId, reconnectPeriod: 0, ...extra });

  it('holds at most mqtt.broker.maxRetainedPerUser retained messages of a user, none over 64 KiB, and memory stays bounded', async () => {
    const before = rss();
    let client = await sensor('retainer');
    let taken = 0;
    try {
      // one of 250 KiB (under mqtt.maxPayloadBytes) is refused as retained
      expect(await tryPublish(client, 'sensors/r/big', Buffer.alloc(250 * 1024, 'R'), true)).toBe(false);
      const payload = Buffer.alloc(60 * 1024, 'R');
      for (let i = 0; i < 300; i++) {
        if (!client.connected) {
          await client.endAsync(true);
          client = await sensor('retainer');
        }
        if (await tryPublish(client, `sensors/r/${i}`, payload, true)) taken += 1;
      }
    } finally {
      await client.endAsync(true);
    }
    expect(taken).toBe(100);
    expect(rss() - before).toBeLessThan(100 * 1024 * 1024);
    // clearing its retained messages gives the user its quota back
    const clearer = await sensor('clearer');
    try {
      for (let i = 0; i < 10; i++)
        expect(await tryPublish(clearer, `sensors/r/${i}`, Buffer.alloc(0), true)).toBe(true);
      expect(await tryPublish(clearer, 'sensors/r/again', Buffer.from('x'), true)).toBe(true);
    } finally {
      await clearer.endAsync(true);
    }
  }, 120_000);

  it('grants at most mqtt.broker.maxSubscriptionsPerClient filters of at most 256 bytes to one client', async () => {
    const client = await sensor('subscriber');
    try {
      const codes: number[] = [];
      for (let batch = 0; batch < 3; batch++) {
        const filters = Array.from({ length: 50 }, (_, i) => `sensors/s/${batch * 50 + i}`);
        codes.push(...(await grants(client, filters, 1)));
      }
      expect(codes.filter((c) => c === 1)).toHaveLength(100);
      expect(codes.slice(100).every((c) => c === 128)).toBe(true);
      await client.unsubscribeAsync('sensors/s/0');
      expect(await grants(client, ['sensors/s/again'], 1)).toEqual([1]);
      expect(await grants(client, [`sensors/${'x'.repeat(300)}`], 1)).toEqual([128]);
    } finally {
      await client.endAsync(true);
    }
  });

  it('does not keep filters refused over the cap in a persistent session (they would come back at its next login)', async () => {
    const first = await sensor('hoarder', { clean: false });
    try {
      const held = Array.from({ length: 100 }, (_, i) => `sensors/h/${i}`);
      for (let i = 0; i < 100; i += 50) await grants(first, held.slice(i, i + 50), 1);
      // one granted filter beside refused ones: aedes stores the whole SUBSCRIBE in the session
      const extras = Array.from({ length: 20 }, (_, i) => `sensors/extra/${i}`);
      const codes = await grants(first, ['sensors/h/0', ...extras], 1);
      expect(codes[0]).toBe(1);
      expect(codes.slice(1).every((c) => c === 128)).toBe(true);
      await first.unsubscribeAsync(held.slice(1));
    } finally {
      await first.endAsync(true);
    }
    const got: string[] = [];
    const again = connect(url, { ...SENSOR, clientId: 'hoarder', clean: false, reconnectPeriod: 0 });
    again.on('message', (topic) => got.push(topic));
    const publisher = await sensor('hoard-publisher');
    try {
      await until(() => again.connected, 'the login');
      await publisher.publishAsync('sensors/extra/7', 'x', { qos: 1 });
      await publisher.publishAsync('sensors/h/0', 'x', { qos: 1 });
      await until(() => got.includes('sensors/h/0'), 'the message of the kept filter');
      expect(got).not.toContain('sensors/extra/7');
    } finally {
      await publisher.endAsync(true);
      await again.endAsync(true);
      await connackCode(url, { ...SENSOR, clientId: 'hoarder' });
    }
  });

  it('keeps at most 16 persistent sessions of a user, and frees one when a clean client takes its id', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 20; i++)
      codes.push(await connackCode(url, { ...SENSOR, clientId: `keep-${i}`, clean: false }));
    expect(codes.slice(0, 16).every((c) => c === 0)).toBe(true);
    expect(codes.slice(16).every((c) => c === 5)).toBe(true);
    // an existing session may come back
    expect(await connackCode(url, { ...SENSOR, clientId: 'keep-3', clean: false })).toBe(0);
    expect(await connackCode(url, { ...SENSOR, clientId: 'keep-3' })).toBe(0);
    expect(await connackCode(url, { ...SENSOR, clientId: 'keep-new', clean: false })).toBe(0);
    for (let i = 0; i < 20; i++) await connackCode(url, { ...SENSOR, clientId: `keep-${i}` });
    await connackCode(url, { ...SENSOR, clientId: 'keep-new' });
  });

  it('queues at most mqtt.broker.maxQueuedBytesPerSession for an offline persistent session', async () => {
    const sleeper = await sensor('sleeper', { clean: false });
    await sleeper.subscribeAsync('sensors/q', { qos: 1 });
    await sleeper.endAsync(true);
    const publisher = await sensor('filler');
    const payload = Buffer.alloc(64 * 1024, 'Q');
    try {
      for (let i = 0; i < 120; i++)
        expect(await tryPublish(publisher, 'sensors/q', payload, false)).toBe(true);
    } finally {
      await publisher.endAsync(true);
    }
    const got: number[] = [];
    const back = connect(url, { ...SENSOR, clientId: 'sleeper', clean: false, reconnectPeriod: 0 });
    back.on('message', (_topic, message) => got.push(message.length));
    try {
      await until(() => got.length >= 64, 'the queued messages');
      await quietFor(500, 'no message beyond the 64 queued may come');
      expect(got.length).toBeLessThanOrEqual(64);
    } finally {
      await back.endAsync(true);
      await connackCode(url, { ...SENSOR, clientId: 'sleeper' });
    }
  }, 60_000);
});
