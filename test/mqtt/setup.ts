/**
 * What the MQTT tests share: an inbox of a test client's messages, the platform's recorded
 * subscriptions, its logs, fixtures with other rules, raw packet bytes (the login is in
 * test/helpers/mqtt.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { fixture, TMP_PREFIX, type TestPlatform } from '../helpers/platform.js';
import { waitFor, waitUntil } from '../helpers/wait.js';

export interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
}

/** Every message a test client got, to wait for and take out one by one. */
export class Inbox {
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
export async function subscribed(dataDir: string, want: string[], gone: string[] = []): Promise<void> {
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
export async function logsContain(
  p: TestPlatform,
  fn: string,
  needles: string[],
  ms = 10_000,
): Promise<string[]> {
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
export async function withRules(name: string, rules: unknown[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  await cp(fixture(name), dir, { recursive: true });
  const spec = JSON.parse(readFileSync(path.join(dir, 'skiff.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(dir, 'skiff.json'), JSON.stringify({ ...spec, triggers: { mqtt: rules } }));
  return dir;
}

/** An MQTT string: its length in two bytes, then its bytes. */
export function mqttString(value: string): Buffer {
  const bytes = Buffer.from(value);
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}

/** The remaining length of a packet header: 7 bits a byte, the high bit set when more follow. */
export function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}
