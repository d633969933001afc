import { describe, expect, it } from 'vitest';
import { BrokerLimits, type BrokerLimitSettings } from './mqtt-limits.js';

const settings: BrokerLimitSettings = {
  maxRetained: 3,
  maxRetainedBytes: 800, // payloads and topics
  maxRetainedPerUser: 2,
  maxRetainedPayloadBytes: 400,
  maxSubscriptionsPerClient: 2,
  maxFilterLength: 10,
  maxQueuedPerSession: 2,
  maxQueuedBytesPerSession: 100,
  maxQueuedBytes: 150,
};

describe('BrokerLimits', () => {
  it('counts retained messages per user and in all, replacing and clearing topics', () => {
    const limits = new BrokerLimits(settings);
    expect(limits.retainProblem('a', 't/1', 500)).toMatch(/maxRetainedPayloadBytes/);
    expect(limits.retainProblem('a', 't/1', 100)).toBeUndefined();
    expect(limits.retainProblem('a', 't/2', 100)).toBeUndefined();
    expect(limits.retainProblem('a', 't/3', 100)).toMatch(/maxRetainedPerUser/);
    expect(limits.retainProblem('a', 't/2', 300)).toBeUndefined(); // a replacement is not a new one
    expect(limits.retainProblem('b', 't/3', 300)).toBeUndefined();
    expect(limits.retainProblem('b', 't/4', 10)).toMatch(/maxRetained \(/);
    expect(limits.retainProblem('a', 't/2', 0)).toBeUndefined(); // cleared
    expect(limits.retainProblem('b', 't/4', 395)).toMatch(/maxRetainedBytes/);
    expect(limits.retainProblem('b', 't/4', 100)).toBeUndefined();
  });

  it('counts distinct filters per client and refuses long ones', () => {
    const limits = new BrokerLimits(settings);
    const client = {} as never;
    expect(limits.subscribeAllowed(client, 'a/b/c/d/e/f', false)).toBe(false);
    expect(limits.subscribeAllowed(client, 'a', false)).toBe(true);
    expect(limits.subscribeAllowed(client, 'a', false)).toBe(true);
    expect(limits.subscribeAllowed(client, 'b', false)).toBe(true);
    expect(limits.subscribeAllowed(client, 'c', false)).toBe(false);
    expect(limits.subscribeAllowed(client, 'c', true)).toBe(true);
    limits.unsubscribed(client, ['a']);
    expect(limits.subscribeAllowed(client, 'c', false)).toBe(true);
  });
});
