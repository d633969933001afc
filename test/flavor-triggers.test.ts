/**
 * A function's flavor is independent of how it is reached: a function written for tinyFaaS, deployed
 * on a plain Skiff (no tinyFaaS mode), answers over gRPC and runs from an MQTT rule like any other.
 */
import { credentials } from '@grpc/grpc-js';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvokerClient, invoke, ok, target } from './grpc/setup.js';
import { defaultLogin } from './helpers/mqtt.js';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { Inbox, subscribed, withRules } from './mqtt/setup.js';

describe('a tinyFaaS-flavored function on a plain Skiff', () => {
  let p: TestPlatform;
  let client: MqttClient;
  let dir: string;

  beforeAll(async () => {
    p = await startPlatform();
    dir = await withRules('tf-echojs', [{ subscribe: 'tf/in', publish: 'tf/out' }]);
    const res = await p.deploy('echojs', dir);
    expect(res.status, await res.text()).toBe(201);
    client = await connectAsync(p.server.endpoints['mqtt'] as string, {
      ...defaultLogin(p),
      clientId: 'flavor-triggers',
      reconnectPeriod: 0,
    });
    await subscribed(p.dataDir, ['tf/in']);
  }, 120_000);

  afterAll(async () => {
    await client?.endAsync();
    await p?.stop();
    await removeDir(p.dataDir);
    await removeDir(dir);
  });

  it('answers a gRPC Invoke with its own (req, res) convention', async () => {
    const grpc = new InvokerClient(target(p), credentials.createInsecure());
    try {
      const res = ok(await invoke(grpc, { function: 'echojs', payload: Buffer.from('over gRPC') }));
      expect(res.status).toBe(200);
      expect(res.payload.toString()).toBe('over gRPC');
    } finally {
      grpc.close();
    }
  });

  it('runs from an MQTT rule and publishes its result', async () => {
    const inbox = new Inbox(client);
    await client.subscribeAsync('tf/out', { qos: 1 });
    await client.publishAsync('tf/in', 'over MQTT', { qos: 1 });
    const got = await inbox.next('tf/out');
    expect(got.payload.toString()).toBe('over MQTT');
  });
});
