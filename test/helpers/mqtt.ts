/** Helpers of the MQTT tests: the generated login, the platform's recorded subscriptions, CONNACK and SUBACK codes. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import type { TestPlatform } from './platform.js';
import { waitUntil } from './wait.js';

export interface Login {
  username: string;
  password: string;
}

export function defaultLogin(p: TestPlatform): Login {
  return JSON.parse(readFileSync(path.join(p.dataDir, 'mqtt-credentials.json'), 'utf8')) as Login;
}

export /** Waits until the platform's session holds `filters` (it records granted subscriptions). */
async function subscribed(p: TestPlatform, filters: string[]): Promise<void> {
  const file = path.join(p.dataDir, 'mqtt-session.json');
  await waitUntil(
    `the platform to subscribe to ${filters.join(', ')}`,
    () => {
      const held = Object.keys(
        (JSON.parse(readFileSync(file, 'utf8')) as { subscriptions: object }).subscriptions,
      );
      return filters.every((f) => held.includes(f));
    },
    10_000,
  );
}

export /** The CONNACK return code a connection attempt gets (0: accepted, then closed again). */
async function connackCode(url: string, options: IClientOptions): Promise<number> {
  try {
    const client = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options }, false);
    await client.endAsync(true);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'number' ? code : -1;
  }
}

export /** The return codes of a SUBACK (mqtt.js rejects one that refuses a filter, with the packet). */
async function grants(client: MqttClient, filters: string[], qos: 0 | 1): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos })).map((g) => g.qos);
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted === undefined) throw err;
    return granted;
  }
}

/** waitUntil with the arguments the MQTT tests pass (the check first). */
export function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  return waitUntil(what, check, ms);
}
