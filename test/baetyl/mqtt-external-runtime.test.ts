/**
 * An external Baetyl runtime process behind an MQTT rule (acceptance point 18): while it serves, its
 * results are published; when it can no longer be reached (it exits before it listens), the message
 * gets the error record after the rule's attempts, and the platform keeps serving.
 */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startPlatform, TMP_PREFIX, type TestPlatform } from '../helpers/platform.js';
import { Inbox } from '../mqtt/setup.js';
import { baetylFunction, baetylRule, deployAndListen, tearDown, PY_HANDLER } from './functions.js';

describe('An external Baetyl runtime behind an MQTT rule', () => {
  let p: TestPlatform;
  let client: MqttClient;
  let inbox: Inbox;
  const dirs: string[] = [];

  beforeAll(async () => {
    p = await startPlatform();
    const runtime = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
    await cp(fixture('baetyl-runtime'), runtime, { recursive: true });
    const spec = JSON.parse(await readFile(path.join(runtime, 'skiff.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    spec['triggers'] = { mqtt: [baetylRule('ext/in', 'ext/out')] };
    await writeFile(path.join(runtime, 'skiff.json'), JSON.stringify(spec));
    const py = await baetylFunction({
      runtime: 'python',
      code: PY_HANDLER,
      rules: [baetylRule('kind/in', 'kind/out')],
    });
    dirs.push(runtime, py);
    ({ client, inbox } = await deployAndListen(
      p,
      { ext: runtime, alert: py },
      'test-baetyl-ext',
      ['ext/out', 'kind/out'],
      ['ext/in', 'kind/in'],
    ));
  });
  afterAll(() => tearDown(p, client, dirs));

  it('(18) publishes the runtime’s result, then the error record once it is unreachable; Skiff keeps serving', async () => {
    await client.publishAsync('ext/in', '{"n":1}', { qos: 1 });
    const first = JSON.parse((await inbox.next('ext/out')).payload.toString()) as { event: unknown };
    expect(first.event).toEqual({ n: 1 });

    // the runtime now exits before it listens (a secret restarts the instances)
    const put = await p.api('/v1/functions/ext/secrets/FAKE_MODE', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: 'exit' }),
    });
    expect(put.status).toBe(204);
    await client.publishAsync('ext/in', '{"n":2}', { qos: 1 });
    const envelope = JSON.parse((await inbox.next('ext/out', () => true, 30_000)).payload.toString()) as {
      errorMessage: string;
      errorType: string;
      functionMessage: Record<string, unknown>;
    };
    expect(envelope.errorMessage).toMatch(/^rpc error: code = Unavailable desc = /);
    expect(envelope.errorType).toBe('*status.statusError');
    expect(envelope.functionMessage['Topic']).toBe('ext/in');
    expect(envelope.functionMessage['Payload']).toBe(Buffer.from('{"n":2}').toString('base64'));

    await client.publishAsync('kind/in', 'still', { qos: 1 });
    expect(JSON.parse((await inbox.next('kind/out')).payload.toString())).toEqual({
      type: 'bytes',
      value: 'still',
    });
    expect((await p.api('/v1/functions')).status).toBe(200);
  });
});
