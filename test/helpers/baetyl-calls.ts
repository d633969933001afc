/**
 * Calls of Baetyl-flavor functions over the gateway as the MQTT trigger makes them (the topic and
 * QoS as headers), for the flavor tests of both bridges.
 */
import { expect } from 'vitest';
import type { TestPlatform } from './platform.js';

/** A UUID as the bridges give `functionInvokeID`. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** How upstream's runtimes begin a user error's text. */
export const PREFIX = 'Exception calling application: ';

/** What the test functions answer: the event and context they were given. */
export type Echo = { event: unknown; context: Record<string, unknown> };

export function baetylCalls(platform: () => TestPlatform) {
  /** POST /<fn> with the topic and QoS 1 as headers (none when `topic` is undefined). */
  const send = (fn: string, topic: string | undefined, body?: string | Buffer, headers = {}) =>
    platform().call(`/${fn}`, {
      method: 'POST',
      headers: { ...(topic === undefined ? {} : { 'mqtt-topic': topic, 'mqtt-qos': '1' }), ...headers },
      ...(body === undefined ? {} : { body }),
    });
  /** `send`, expecting a JSON answer: the echo and the invocation id the gateway reports. */
  const echo = async (fn: string, topic: string | undefined, body?: string | Buffer, headers = {}) => {
    const res = await send(fn, topic, body, headers);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    return { echo: (await res.json()) as Echo, id: res.headers.get('x-skiff-invocation-id') };
  };
  return { send, echo };
}
