/**
 * Red team, hostile LOCAL CLIENT: the GuestAPIHost listeners (one per attached instance) are bare
 * grpc-js servers, without the ConnectionGuard every other TCP listener of Skiff has (gateway,
 * control, gRPC trigger, MQTT): no per-address cap (connections.maxPerAddress), no idle deadline
 * (connections.idleTimeoutMs), and 8 MiB messages decoded before the originator is even looked at.
 * Any local process holds as many silent connections as it likes (file descriptors of the platform,
 * not counted in the caps fitted to the fd limit at start), with up to 64 such ports to pick from.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorkflow, startHostileGuest, type HostileGuest } from './edgeless-red-guest.js';

const CAP = 20;
const SOCKETS = 60;
let platform: TestPlatform;
let guest: HostileGuest;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  guest = await startHostileGuest();
  platform = await startPlatform({
    config: {
      compat: { edgeless: { enabled: true } },
      connections: { maxPerAddress: CAP, idleTimeoutMs: 1000 },
    } as never,
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
  for (const s of sockets) s.destroy();
  await platform?.stop();
  await guest?.close();
  if (platform !== undefined) await removeDir(platform.dataDir);
});

describe("EDGELESS red team: the host listener's connection limits", () => {
  it('silent connections beyond connections.maxPerAddress, or idle past idleTimeoutMs, are closed', async () => {
    const port = Number(new URL(guest.boot()?.endpoint ?? 'http://x:1').port);
    let closed = 0;
    for (let i = 0; i < SOCKETS; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closed++);
      sockets.push(s);
    }
    // a guarded listener refuses those over the cap at once and the rest after the idle deadline
    await waitFor('connections closed', () => (closed >= SOCKETS - CAP ? true : undefined), 3000).catch(
      () => undefined,
    );
    const open = SOCKETS - closed;
    expect(open, `${open} silent connections still open on the host listener`).toBeLessThanOrEqual(CAP);
  });
});
