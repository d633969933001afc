/**
 * The gRPC trigger's limits and lifecycle: grpc.maxMessageBytes both ways, a graceful shutdown, a
 * taken port at start-up, and grpc.enabled false.
 */
import { createServer, type AddressInfo } from 'node:net';
import { credentials, status, type Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { hasCallInFlight } from '../helpers/function-status.js';
import { waitUntil } from '../helpers/wait.js';
import { invoke, InvokerClient, json, linesWith, ok, target } from './setup.js';

describe('gRPC trigger with a small grpc.maxMessageBytes', () => {
  const LIMIT = 64 * 1024;
  let p: TestPlatform;
  let client: Client;

  beforeAll(async () => {
    p = await startPlatform({ config: { grpc: { maxMessageBytes: LIMIT } } });
    await p.deployAll({ echo: 'echo-cjs', 'py-respond': 'py-respond' });
    client = new InvokerClient(target(p), credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
  });

  it('refuses an oversize request with RESOURCE_EXHAUSTED before the function runs', async () => {
    const before = await linesWith(p, 'echo', 'echo called');
    const outcome = await invoke(client, { function: 'echo', payload: Buffer.alloc(LIMIT + 1, 1) });
    expect(outcome.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(await linesWith(p, 'echo', 'echo called')).toBe(before);
    // a payload within the limit still goes through
    const res = ok(await invoke(client, { function: 'echo', payload: Buffer.alloc(LIMIT / 2, 65) }));
    expect(json(res)['body']).toBe('A'.repeat(LIMIT / 2));
  });

  it('answers RESOURCE_EXHAUSTED with SKIFF_E_PAYLOAD_TOO_LARGE when the function answers too much', async () => {
    const outcome = await invoke(client, { function: 'py-respond', path: `/big?n=${LIMIT + 1}` });
    expect(outcome.error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(outcome.trailers.get('skiff-error-code')).toEqual(['SKIFF_E_PAYLOAD_TOO_LARGE']);
    expect(outcome.error?.details).toContain('grpc.maxMessageBytes');
  });
});

describe('gRPC trigger on shutdown', () => {
  it('lets a call in flight finish, does not wait for idle clients, then refuses new calls', async () => {
    const p = await startPlatform();
    const client = new InvokerClient(target(p), credentials.createInsecure());
    try {
      await p.deployAll({ sleepy: 'sleepy' });
      expect(ok(await invoke(client, { function: 'sleepy' })).status).toBe(200);
      const inFlight = invoke(client, { function: 'sleepy', path: '/?ms=400' });
      await waitUntil('the call to run', () => hasCallInFlight(p, 'sleepy'), 5_000);
      const started = Date.now();
      await p.stop();
      // the idle connection of this client did not hold the stop up to the grace period's end
      expect(Date.now() - started).toBeLessThan(1_900);
      expect(ok(await inFlight).status).toBe(200);
      const after = await invoke(client, { function: 'sleepy' }, { timeoutMs: 2_000 });
      expect(after.error?.code).toBe(status.UNAVAILABLE);
    } finally {
      client.close();
      await p.stop();
      await removeDir(p.dataDir);
    }
  });
});

describe('gRPC trigger start-up', () => {
  it('stops start-up with SKIFF_E_PORT_IN_USE naming the address and the setting when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    const dataDir = await makeDataDir();
    try {
      // every port is tried before anything listens (src/shared/ports.ts): the gRPC trigger binds
      // [::] (both stacks) where it can, which the blocker's 127.0.0.1 port takes
      await expect(startPlatform({ dataDir, config: { grpc: { port } } })).rejects.toMatchObject({
        code: 'SKIFF_E_PORT_IN_USE',
        message: expect.stringMatching(new RegExp(`gRPC trigger on tcp \\S+:${port}: in use.*grpc\\.port`)),
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
      await removeDir(dataDir);
    }
  });

  it('starts no gRPC server when grpc.enabled is false', async () => {
    const p = await startPlatform({ config: { grpc: { enabled: false } } });
    try {
      expect(p.server.endpoints['grpc']).toBeUndefined();
      expect(Object.keys(p.server.endpoints)).toContain('http');
    } finally {
      await p.stop();
      await removeDir(p.dataDir);
    }
  });
});
