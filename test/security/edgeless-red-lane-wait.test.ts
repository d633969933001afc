/**
 * Red team, hostile GUEST: time spent waiting in an instance's lane counts against no deadline. The
 * timeout of a delivery (the invocation's deadline, else compat.edgeless.callTimeoutMs) starts only
 * when the event reaches the front of the lane. A guest that never answers its Casts makes each
 * queued cast hold the lane for a full callTimeoutMs, and a synchronous HTTP request behind them
 * waits for all of them: up to maxPendingPerInstance (1000) x callTimeoutMs (30 s), hours, holding
 * the client's connection. A request should fail at its own deadline, wherever it waits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

const CALL_TIMEOUT_MS = 1000;
const QUEUED = 8;
let platform: TestPlatform;
let guest: HostileGuest;

beforeAll(async () => {
  // never answers a Cast; answers a Call at once
  guest = await startHostileGuest({ cast: () => undefined });
  platform = await startPlatform({
    config: { compat: { edgeless: { enabled: true, callTimeoutMs: CALL_TIMEOUT_MS } } } as never,
  });
  const res = await platform.api('/v1/workflows/w', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(attachWorkflow(guest.url)),
  });
  expect(res.status).toBe(201);
  await waitFor('Init', () => guest.seen.find((s) => s.method === 'Init'));
});

afterAll(async () => {
  await platform?.stop();
  await guest?.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe('EDGELESS red team: waiting in the lane has no deadline', () => {
  it('a synchronous request behind silent casts is answered within a few callTimeoutMs', async () => {
    for (let i = 0; i < QUEUED; i++) {
      const res = await platform.call('/w--fn', {
        method: 'POST',
        headers: { 'x-skiff-async': 'true' },
        body: `c${i}`,
      });
      expect(res.status).toBe(202);
    }
    await waitFor('the first Cast', () => guest.seen.find((s) => s.method === 'Cast'));
    const started = Date.now();
    const res = await platform.call('/w--fn', { method: 'POST', body: 'sync' });
    await res.arrayBuffer();
    const took = Date.now() - started;
    expect(
      took,
      `the request waited ${took} ms (answer ${res.status}) behind ${QUEUED} casts; callTimeoutMs is ${CALL_TIMEOUT_MS}`,
    ).toBeLessThan(3 * CALL_TIMEOUT_MS);
  });
});
