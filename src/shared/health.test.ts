import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Health } from './health.js';
import { GATEWAY_PROBES, RESERVED_PREFIX, withHealth } from './health-http.js';

describe('Health', () => {
  it('is starting until listening and every start condition held once, then stays ready until it drains', () => {
    const health = new Health();
    let warm = false;
    health.waitFor(() => (warm ? undefined : 'warming'));
    expect(health.readiness()).toMatchObject({ ready: false, phase: 'starting' });
    health.listeningNow();
    expect(health.readiness()).toEqual({ ready: false, phase: 'starting', reason: 'warming' });
    warm = true;
    expect(health.readiness()).toEqual({ ready: true, phase: 'ready' });
    // latched: the condition failing later does not make it start again
    warm = false;
    expect(health.readiness().ready).toBe(true);
    health.drain();
    expect(health.readiness()).toMatchObject({ ready: false, phase: 'draining' });
    expect(health.draining).toBe(true);
  });
});

describe('withHealth', () => {
  const health = new Health();
  let server: Server;
  let base: string;
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer(
      withHealth(
        (req, res) => {
          seen.push(req.url ?? '');
          res.end('app');
        },
        health,
        { ...GATEWAY_PROBES, reserved: RESERVED_PREFIX },
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers the probes and the reserved prefix before the app, and refuses the rest while draining', async () => {
    expect((await fetch(`${base}/_skiff/health/ready`)).status).toBe(503);
    health.listeningNow();
    expect(await (await fetch(`${base}/_skiff/health/ready?x=1`)).json()).toEqual({ status: 'ready' });
    expect((await fetch(`${base}/_skiff/health/live`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${base}/_skiff/health/live`, { method: 'POST' })).status).toBe(405);
    const reserved = await fetch(`${base}/_skiff/health`);
    expect(reserved.status).toBe(404);
    expect(await reserved.json()).toMatchObject({ error: { code: 'SKIFF_E_NOT_FOUND' } });
    expect(await (await fetch(`${base}/fn`)).text()).toBe('app');
    health.drain();
    const refused = await fetch(`${base}/fn`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toMatchObject({ error: { code: 'SKIFF_E_SHUTTING_DOWN' } });
    expect(await (await fetch(`${base}/_skiff/health/ready`)).json()).toMatchObject({ status: 'draining' });
    expect(seen).toEqual(['/fn']);
  });
});
