/**
 * Attacks on the embedded MQTT broker by network clients: no login, a wrong one, a takeover of the
 * platform's persistent session by its client id, reading `$SYS` (where aedes names every client id),
 * a limited user reading or writing other topics (also through a persistent session), and one address
 * opening more connections than its share.
 */
import { readFileSync, statSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import path from 'node:path';
import { connectAsync, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/shared/config-load.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { connackCode, defaultLogin, grants, subscribed, until, type Login } from '../helpers/mqtt.js';

const SENSOR = { username: 'sensor', password: 'sensor-password-1' };
const CAP = 6;

function platformClientId(p: TestPlatform): string {
  return (JSON.parse(readFileSync(path.join(p.dataDir, 'mqtt-session.json'), 'utf8')) as { clientId: string })
    .clientId;
}

/** Collects messages, to wait for one or count them. */
function collect(client: MqttClient): { topic: string; payload: string }[] {
  const got: { topic: string; payload: string }[] = [];
  client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
  return got;
}

describe('embedded MQTT broker under attack', () => {
  let p: TestPlatform;
  let url: string;
  let login: Login;
  let watcher: MqttClient;
  let seen: { topic: string; payload: string }[];

  beforeAll(async () => {
    p = await startPlatform({
      config: {
        mqtt: {
          broker: {
            users: [{ ...SENSOR, publish: ['sensors/#'], subscribe: ['sensors/#'] }],
            maxConnectionsPerAddress: CAP,
          },
        },
      },
    });
    url = p.server.endpoints['mqtt'] as string;
    login = defaultLogin(p);
    await p.deployAll({ upper: 'mqtt-upper', filter: 'mqtt-filter' });
    await subscribed(p, ['in/upper', 'sensors/+/temp']);
    watcher = await connectAsync(url, { ...login, clientId: 'watcher', reconnectPeriod: 0 });
    seen = collect(watcher);
    await watcher.subscribeAsync(['out/#', 'alerts/#', 'marker/#'], { qos: 1 });
  });
  afterAll(async () => {
    await watcher?.endAsync(true);
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
  });

  it('refuses a client without a login, with a wrong password or an unknown user', async () => {
    expect(statSync(path.join(p.dataDir, 'mqtt-credentials.json')).mode & 0o777).toBe(0o600);
    expect(login.username).toBe('skiff');
    expect(await connackCode(url, { clientId: 'anon' })).toBe(5);
    expect(
      await connackCode(url, { clientId: 'wrong', username: 'skiff', password: `${login.password}x` }),
    ).toBe(4);
    expect(await connackCode(url, { clientId: 'who', username: 'root', password: login.password })).toBe(4);
    expect(await connackCode(url, { clientId: 'empty', username: 'skiff', password: '' })).toBe(4);
    expect(await connackCode(url, { clientId: 'ok', ...login })).toBe(0);
    expect(await connackCode(url, { clientId: 'sensor-1', ...SENSOR })).toBe(0);
  });

  it("refuses the platform's client id even with a valid login, and the platform runs all 50 messages meanwhile", async () => {
    const platformId = platformClientId(p);
    expect(platformId).toMatch(/^skiff-[0-9a-f]{16}$/);
    const publisher = await connectAsync(url, { ...login, clientId: 'publisher', reconnectPeriod: 0 });
    const codes: number[] = [];
    try {
      for (let i = 0; i < 50; i++) {
        await publisher.publishAsync('in/upper', `takeover-${i}`, { qos: 1 });
        if (i % 10 === 0) {
          // the attack of the report: the platform's id, a persistent session, and a valid login
          codes.push(await connackCode(url, { ...login, clientId: platformId, clean: false }));
          codes.push(await connackCode(url, { ...SENSOR, clientId: platformId, clean: false }));
          codes.push(await connackCode(url, { ...login, clientId: 'skiff-0000000000000000' }));
        }
      }
      await until(
        () =>
          new Set(seen.filter((m) => m.topic === 'out/upper').map((m) => m.payload)).size >= 50 &&
          seen.some((m) => m.payload === 'TAKEOVER-49'),
        'the 50 results',
      );
    } finally {
      await publisher.endAsync(true);
    }
    expect(codes.every((code) => code === 5)).toBe(true);
    const results = new Set(seen.filter((m) => m.topic === 'out/upper').map((m) => m.payload));
    for (let i = 0; i < 50; i++) expect(results.has(`TAKEOVER-${i}`)).toBe(true);
  });

  it('gives nothing from $SYS, where aedes names every client id', async () => {
    const spy = await connectAsync(url, { ...login, clientId: 'spy', reconnectPeriod: 0 });
    const got = collect(spy);
    try {
      expect(await grants(spy, ['$SYS/#', '$SYS/+/new/clients', 'marker/#'], 0)).toEqual([128, 128, 0]);
      // a new client makes aedes publish $SYS/<broker>/new/clients; the marker comes after it
      expect(await connackCode(url, { ...login, clientId: 'newcomer' })).toBe(0);
      await spy.publishAsync('marker/sys', 'after', { qos: 0 });
      await until(() => got.some((m) => m.topic === 'marker/sys'), 'the marker');
      expect(got.filter((m) => m.topic.startsWith('$'))).toEqual([]);
    } finally {
      await spy.endAsync(true);
    }
  });

  it('keeps a user limited to sensors/# from the other topics, also through a persistent session', async () => {
    const sensor = await connectAsync(url, {
      ...SENSOR,
      clientId: 'sensor-2',
      clean: false,
      reconnectPeriod: 0,
    });
    let got = collect(sensor);
    // '#' and 'out/#' are refused; sensors/# is granted
    expect(await grants(sensor, ['#', 'out/#', 'sensors/#'], 1)).toEqual([128, 128, 1]);

    // a message of another client runs upper: the watcher sees its result, the sensor does not
    await watcher.publishAsync('in/upper', 'secret result', { qos: 1 });
    await until(() => seen.some((m) => m.payload === 'SECRET RESULT'), 'the result');
    // the sensor may publish under sensors/: filter runs and reports
    await sensor.publishAsync('sensors/attic/temp', '42', { qos: 1 });
    await until(() => seen.some((m) => m.topic === 'alerts/hot' && m.payload.includes('42')), 'the alert');
    await until(() => got.some((m) => m.topic === 'sensors/attic/temp'), 'its own message');
    expect(got.filter((m) => !m.topic.startsWith('sensors/'))).toEqual([]);

    // offline: aedes stored the refused '#' beside sensors/# in the session; nothing else may come of it
    await sensor.endAsync();
    await watcher.publishAsync('out/private', 'queued for nobody', { qos: 1 });
    await watcher.publishAsync('sensors/marker', 'last', { qos: 1 });
    const again = await connectAsync(url, {
      ...SENSOR,
      clientId: 'sensor-2',
      clean: false,
      reconnectPeriod: 0,
    });
    got = collect(again);
    try {
      await until(() => got.some((m) => m.topic === 'sensors/marker'), 'the queued marker');
      expect(got.filter((m) => !m.topic.startsWith('sensors/'))).toEqual([]);

      // publishing outside its list: refused, the connection closed, the function not run
      const closed = new Promise<void>((resolve) => again.once('close', () => resolve()));
      again.publish('in/upper', 'forged', { qos: 1 });
      await closed;
    } finally {
      again.end(true);
    }
    await watcher.publishAsync('marker/after', 'x', { qos: 1 });
    await until(() => seen.some((m) => m.topic === 'marker/after'), 'the marker');
    await watcher.publishAsync('in/upper', 'after forged', { qos: 1 });
    await until(() => seen.some((m) => m.payload === 'AFTER FORGED'), 'the later result');
    expect(seen.some((m) => m.payload === 'FORGED')).toBe(false);
  });

  it('closes connections over the per-address cap at once; other addresses still connect', async () => {
    const { hostname, port } = new URL(url);
    const fromAddress = (localAddress: string, clientId: string): Promise<number> =>
      new Promise((resolve) => {
        const client = new MqttClient(
          () => connectTcp({ host: hostname, port: Number(port), localAddress }),
          { ...login, clientId, reconnectPeriod: 0, connectTimeout: 5_000 },
        );
        client.on('error', () => undefined);
        client.once('connect', () => resolve(1));
        client.once('close', () => resolve(0));
        flood.push(client);
      });
    const flood: MqttClient[] = [];
    try {
      const outcomes = await Promise.all(
        Array.from({ length: CAP + 5 }, (_, i) => fromAddress('127.0.0.3', `flood-${i}`)),
      );
      expect(outcomes.filter((o) => o === 1)).toHaveLength(CAP);
      expect(outcomes.filter((o) => o === 0)).toHaveLength(5);
      // the address is full; another one is not, and the platform still runs its rules
      expect(await fromAddress('127.0.0.3', 'one-more')).toBe(0);
      expect(await fromAddress('127.0.0.2', 'neighbour')).toBe(1);
      await watcher.publishAsync('in/upper', 'not starved', { qos: 1 });
      await until(() => seen.some((m) => m.payload === 'NOT STARVED'), 'the result');
    } finally {
      for (const client of flood) client.end(true);
    }
  });
});

describe('embedded MQTT broker with allowAnonymous', () => {
  it('takes clients without a login only when asked to, and still keeps the platform prefix', async () => {
    const p = await startPlatform({ config: { mqtt: { broker: { allowAnonymous: true } } } });
    try {
      const url = p.server.endpoints['mqtt'] as string;
      expect(await connackCode(url, { clientId: 'anon' })).toBe(0);
      expect(await connackCode(url, { clientId: platformClientId(p), clean: false })).toBe(5);
      expect(
        await connackCode(url, { clientId: 'bad', username: 'skiff', password: 'not-the-password' }),
      ).toBe(4);
    } finally {
      await p.stop();
      await removeDir(p.dataDir);
    }
  });
});

describe('embedded MQTT broker users in the configuration', () => {
  it('refuses a short password, two passwords, a duplicate or a platform user name at start', async () => {
    const config = (users: unknown[]) => () =>
      loadConfig({ env: {}, flags: { mqtt: { broker: { users } } } });
    const acl = { publish: ['a/#'], subscribe: ['a/#'] };
    expect(config([{ username: 'dev', password: 'short', ...acl }])).toThrow(/mqtt\.broker\.users/);
    expect(config([{ username: 'dev', password: 'long-enough-123', passwordFile: '/x', ...acl }])).toThrow(
      /either password or passwordFile/,
    );
    for (const users of [
      [{ username: 'skiff', password: 'long-enough-123', ...acl }],
      [{ username: 'skiff-platform', password: 'long-enough-123', ...acl }],
      [
        { username: 'dev', password: 'long-enough-123', ...acl },
        { username: 'dev', password: 'long-enough-456', ...acl },
      ],
      [{ username: 'dev', password: 'long-enough-123', publish: ['a/#/b'], subscribe: [] }],
    ]) {
      const dataDir = await makeDataDir();
      try {
        await expect(
          startPlatform({ dataDir, config: { mqtt: { broker: { users } } } }),
        ).rejects.toMatchObject({
          code: 'SKIFF_E_CONFIG_INVALID',
        });
      } finally {
        await removeDir(dataDir);
      }
    }
  });
});
