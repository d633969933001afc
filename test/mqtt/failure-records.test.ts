/**
 * MQTT rules that try a failing function again (`attempts`) and publish a failure record after the
 * last attempt (`onError: "publish"`), and `publishQos` below the subscription's QoS; native functions
 * with the embedded broker (the Baetyl flavor's own record format is in test/baetyl/).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLogin } from '../helpers/mqtt.js';
import { removeDir, startPlatform, TMP_PREFIX, type TestPlatform } from '../helpers/platform.js';
import { quietFor, waitFor } from '../helpers/wait.js';
import { Inbox, subscribed } from './setup.js';

const FLAKY = `
export default async (request) => {
  const body = await request.text();
  console.log('attempt ' + body);
  if (body.startsWith('fail')) throw new Error('broken on ' + body);
  return 'ok ' + body;
};
`;

async function flakyFunction(rules: unknown[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  await writeFile(path.join(dir, 'index.mjs'), FLAKY);
  await writeFile(
    path.join(dir, 'skiff.json'),
    JSON.stringify({ runtime: 'node', triggers: { mqtt: rules } }),
  );
  return dir;
}

describe('MQTT rules: attempts, failure records, publishQos', () => {
  let p: TestPlatform;
  let client: MqttClient;
  let inbox: Inbox;
  const dirs: string[] = [];

  beforeAll(async () => {
    p = await startPlatform();
    const rules = [
      { subscribe: 'retry/in', publish: 'retry/out', attempts: 3, onError: 'publish' },
      { subscribe: 'once/in', publish: 'once/out', onError: 'publish' },
      { subscribe: 'quiet/in', publish: 'quiet/out', attempts: 2 },
      { subscribe: 'low/in', publish: 'low/out', qos: 1, publishQos: 0 },
      { subscribe: 'big/in', publish: 'big/out', onError: 'publish', maxPayloadBytes: 8 },
    ];
    const dir = await flakyFunction(rules);
    dirs.push(dir);
    const res = await p.deploy('flaky', dir);
    expect(res.status, await res.text()).toBe(201);
    client = await connectAsync(p.server.endpoints['mqtt'] as string, {
      ...defaultLogin(p),
      clientId: 'test-failures',
      reconnectPeriod: 0,
    });
    inbox = new Inbox(client);
    await client.subscribeAsync(['retry/out', 'once/out', 'quiet/out', 'low/out', 'big/out'], { qos: 1 });
    await subscribed(p.dataDir, ['retry/in', 'once/in', 'quiet/in', 'low/in', 'big/in']);
  });
  afterAll(async () => {
    await client?.endAsync();
    await p?.stop();
    for (const dir of dirs) await removeDir(dir);
    if (p !== undefined) await removeDir(p.dataDir);
  });

  const attemptsOf = async (body: string) =>
    (await p.logs('flaky')).filter((line) => line.message.includes(`attempt ${body}`)).length;

  it('calls a failing function `attempts` times, then publishes one failure record', async () => {
    await client.publishAsync('retry/in', 'fail-a', { qos: 1 });
    const out = await inbox.next('retry/out');
    expect(out.qos).toBe(1);
    const record = JSON.parse(out.payload.toString()) as Record<string, unknown>;
    expect(record).toMatchObject({
      function: 'flaky',
      attempts: 3,
      topic: 'retry/in',
      qos: 1,
      payload: Buffer.from('fail-a').toString('base64'),
    });
    expect((record['error'] as { code: string }).code).toMatch(/^SKIFF_E_/);
    expect(record['invocationId']).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor('three attempts in the logs', async () =>
      (await attemptsOf('fail-a')) === 3 ? true : undefined,
    );
    await quietFor(300, 'one record, no fourth attempt');
    expect(inbox.all('retry/out')).toHaveLength(0);
    expect(await attemptsOf('fail-a')).toBe(3);
  });

  it('passes a result on at the first success and tries once by default', async () => {
    await client.publishAsync('retry/in', 'fine', { qos: 1 });
    expect((await inbox.next('retry/out')).payload.toString()).toBe('ok fine');
    await client.publishAsync('once/in', 'fail-b', { qos: 0 });
    const out = await inbox.next('once/out');
    expect(out.qos).toBe(0);
    expect(JSON.parse(out.payload.toString())).toMatchObject({ attempts: 1, qos: 0 });
    expect(await attemptsOf('fail-b')).toBe(1);
  });

  it('publishes nothing for a failure without onError, after its attempts', async () => {
    await client.publishAsync('quiet/in', 'fail-c', { qos: 1 });
    await waitFor('two attempts', async () => ((await attemptsOf('fail-c')) === 2 ? true : undefined));
    await quietFor(300, 'nothing published for a dropped failure');
    expect(inbox.all('quiet/out')).toHaveLength(0);
  });

  it('publishes at publishQos when it is below the message’s QoS', async () => {
    await client.publishAsync('low/in', 'down', { qos: 1 });
    const out = await inbox.next('low/out');
    expect(out.payload.toString()).toBe('ok down');
    expect(out.qos).toBe(0);
  });

  it('fails a message over the rule’s maxPayloadBytes without a call', async () => {
    await client.publishAsync('big/in', 'nine-byte', { qos: 1 });
    const record = JSON.parse((await inbox.next('big/out')).payload.toString()) as {
      error: { code: string; message: string };
    };
    expect(record.error.code).toBe('SKIFF_E_PAYLOAD_TOO_LARGE');
    expect(record.error.message).toContain('9 bytes');
    expect(await attemptsOf('nine-byte')).toBe(0);
    await client.publishAsync('big/in', 'eight-by', { qos: 1 });
    expect((await inbox.next('big/out')).payload.toString()).toBe('ok eight-by');
  });

  it('refuses onError "publish" without a publish topic at deploy', async () => {
    const dir = await flakyFunction([{ subscribe: 'x/in', onError: 'publish' }]);
    dirs.push(dir);
    const res = await p.deploy('no-topic', dir);
    expect(res.status).toBe(400);
    const error = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('SKIFF_E_INVALID_SPEC');
    expect(error.message).toContain('onError "publish" needs a "publish" topic');
  });
});
