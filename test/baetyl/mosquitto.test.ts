/**
 * Baetyl rules on a real Mosquitto, read from its own log (`log_type all`): the QoS 1 input's PUBACK
 * from the platform comes only after Mosquitto acknowledged the output (at least once end to end); an
 * input the handler drops (None) is still acknowledged; the alert and the error record as on the
 * embedded broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { freePort, MOSQUITTO, untilListening } from '../mqtt/mosquitto.js';
import { Inbox, subscribed } from '../mqtt/setup.js';
import { baetylFunction, baetylRule, PY_HANDLER } from './functions.js';

describe('Baetyl rules on Mosquitto', () => {
  let mosquitto: ChildProcess | undefined;
  let confDir = '';
  let logText = '';
  let p: TestPlatform | undefined;
  let client: MqttClient | undefined;
  let inbox: Inbox;
  let skiffId = '';
  const dirs: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    confDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-mosquitto-'));
    const conf = path.join(confDir, 'mosquitto.conf');
    await writeFile(
      conf,
      `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_type all\nlog_dest stdout\n`,
    );
    // its log on stdout, line-buffered (it may drop to its own user, who cannot write into our temporary folder)
    mosquitto = spawn('stdbuf', ['-oL', MOSQUITTO, '-c', conf], { stdio: ['ignore', 'pipe', 'ignore'] });
    mosquitto.stdout?.on('data', (chunk: Buffer) => {
      logText += chunk.toString();
    });
    await untilListening(port);
    const url = `mqtt://127.0.0.1:${port}`;
    p = await startPlatform({ config: { mqtt: { url } } });
    const dir = await baetylFunction({
      runtime: 'python',
      code: PY_HANDLER,
      rules: [
        baetylRule('sensors/temp', 'sensors/alerts'),
        baetylRule('none/in', 'none/out'),
        baetylRule('boom/in', 'boom/out'),
      ],
    });
    dirs.push(dir);
    const res = await p.deploy('alert', dir);
    expect(res.status, await res.text()).toBe(201);
    client = await connectAsync(url, { clientId: 'test-baetyl-mosq', reconnectPeriod: 0 });
    inbox = new Inbox(client);
    await client.subscribeAsync(['sensors/alerts', 'boom/out', 'none/out'], { qos: 1 });
    await subscribed(p.dataDir, ['sensors/temp', 'none/in', 'boom/in']);
    skiffId = (
      JSON.parse(readFileSync(path.join(p.dataDir, 'mqtt-session.json'), 'utf8')) as { clientId: string }
    ).clientId;
  });
  afterAll(async () => {
    await client?.endAsync();
    await p?.stop();
    mosquitto?.kill('SIGTERM');
    if (mosquitto !== undefined && mosquitto.exitCode === null) {
      await new Promise((resolve) => mosquitto?.once('exit', resolve));
    }
    for (const dir of dirs) await removeDir(dir);
    await removeDir(confDir);
    if (p !== undefined) await removeDir(p.dataDir);
  });

  const lines = () => logText.split('\n');
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  /** The packet id Mosquitto gave the platform's copy of a message on `topic`, and where it said so. */
  const delivered = (topic: string) => {
    const re = new RegExp(`Sending PUBLISH to ${escape(skiffId)} \\(d0, q1, r0, m(\\d+), '${escape(topic)}'`);
    const at = lines().findIndex((line) => re.test(line));
    return at === -1 ? undefined : { at, mid: Number(re.exec(lines()[at] ?? '')?.[1]) };
  };
  /** Where the platform acknowledged packet `mid`. */
  const ackedAt = (mid: number) => {
    const re = new RegExp(`Received PUBACK from ${escape(skiffId)} \\(Mid: ${mid}[,)]`);
    const at = lines().findIndex((line) => re.test(line));
    return at === -1 ? undefined : at;
  };

  it('(2) publishes the alert', async () => {
    await client?.publishAsync('sensors/temp', '{"temp":35}', { qos: 1 });
    const out = await inbox.next('sensors/alerts');
    expect(JSON.parse(out.payload.toString())).toEqual({ temp: 35, alert: true, topic: 'sensors/temp' });
    expect(out.qos).toBe(1);
  });

  it("(8) acknowledges the QoS 1 input only after Mosquitto's PUBACK of the QoS 1 output", async () => {
    await client?.publishAsync('sensors/temp', '{"temp":40}', { qos: 1 });
    await inbox.next('sensors/alerts');
    const input = await waitFor('the delivery in the log', () => {
      const all = lines();
      const found = all
        .map((line, at) => ({ line, at }))
        .filter(
          ({ line }) => line.includes(`Sending PUBLISH to ${skiffId}`) && line.includes("'sensors/temp'"),
        );
      return found.length >= 2 ? found[1] : undefined;
    });
    const mid = Number(/m(\d+), 'sensors\/temp'/.exec(input.line)?.[1]);
    const inputAck = await waitFor('the input PUBACK', () => ackedAt(mid));
    const output = lines().findIndex(
      (line, at) =>
        at > input.at &&
        line.includes(`Received PUBLISH from ${skiffId}`) &&
        line.includes("'sensors/alerts'"),
    );
    expect(output).toBeGreaterThan(input.at);
    const outMid = Number(/m(\d+), 'sensors\/alerts'/.exec(lines()[output] ?? '')?.[1]);
    const outputAck = lines().findIndex(
      (line, at) =>
        at > output && new RegExp(`Sending PUBACK to ${escape(skiffId)} \\(m${outMid}[,)]`).test(line),
    );
    expect(outputAck).toBeGreaterThan(output);
    expect(inputAck).toBeGreaterThan(outputAck);
  });

  it('(5) acknowledges a QoS 1 input whose handler returned None', async () => {
    await client?.publishAsync('none/in', '{"x":1}', { qos: 1 });
    const input = await waitFor('the delivery', () => delivered('none/in'));
    await waitFor('the PUBACK of a filtered message', () => ackedAt(input.mid));
    expect(inbox.all('none/out')).toHaveLength(0);
  });

  it('(9) publishes the error record after three calls', async () => {
    await client?.publishAsync('boom/in', 'x', { qos: 1 });
    const envelope = JSON.parse((await inbox.next('boom/out')).payload.toString()) as Record<string, unknown>;
    expect(envelope['errorMessage']).toContain('[UserCodeInvoke]');
    expect((envelope['functionMessage'] as Record<string, unknown>)['Topic']).toBe('boom/in');
  });
});
