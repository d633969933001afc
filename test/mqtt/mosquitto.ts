/** A real Mosquitto for the MQTT tests: its binary, a free port, and its CLI clients as promises. */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect as connectTcp, createServer, type AddressInfo } from 'node:net';
import { waitUntil } from '../helpers/wait.js';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function untilListening(port: number): Promise<void> {
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

/** `mosquitto_pub -q 1` of one message to `topic`; `extra` adds options (a login, MQTT 5). */
export function pub(port: number, topic: string, message: string, extra: string[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', message, ...extra],
      { timeout: 10_000 },
      (err) => (err === null ? resolve() : reject(err)),
    );
  });
}

export interface SubResult {
  qos: number;
  payload: string;
  contentType: string;
}

/** `mosquitto_sub -C 1 -W 10` on `topic`: `ready` once subscribed, `message` the first message. */
export function sub(
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

/** An anonymous Mosquitto on a free 127.0.0.1 port, listening; `stop` ends it and removes its folder. */
export async function startMosquitto(): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const confDir = await mkdtemp(path.join(os.tmpdir(), 'skiff-mosquitto-'));
  const conf = path.join(confDir, 'mosquitto.conf');
  await writeFile(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const mosquitto = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    mosquitto.kill('SIGTERM');
    if (mosquitto.exitCode === null && mosquitto.signalCode === null) {
      await new Promise((resolve) => mosquitto.once('exit', resolve));
    }
    await rm(confDir, { recursive: true, force: true });
  };
  try {
    await untilListening(port);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, stop };
}
