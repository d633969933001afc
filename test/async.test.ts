import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCallInFlight } from './helpers/function-status.js';
import { startPlatform, type TestPlatform } from './helpers/platform.js';
import { waitFor, waitUntil } from './helpers/wait.js';

interface AsyncView {
  id: string;
  status: string;
  attempts: number;
  result: { status: number; body: string } | null;
  error: { code: string } | null;
  history: { outcome: string }[];
  callbackStatus: number | null;
}

const TERMINAL = ['succeeded', 'failed', 'expired'];

async function view(p: TestPlatform, id: string): Promise<AsyncView> {
  const res = await p.api(`/v1/invocations/${id}`);
  return ((await res.json()) as { invocation: AsyncView }).invocation;
}

function settled(p: TestPlatform, id: string, ms = 10_000): Promise<AsyncView> {
  return waitFor(
    `invocation ${id} to be final`,
    async () => {
      const invocation = await view(p, id);
      return TERMINAL.includes(invocation.status) ? invocation : undefined;
    },
    ms,
  );
}

describe('async invocations over HTTP', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    // the callback receiver below listens on 127.0.0.1, which only outbound.allowPrivate lets through
    p = await startPlatform({
      config: { async: { retryBaseMs: 50, maxEventAgeMs: 1500 }, outbound: { allowPrivate: true } },
    });
    await p.deployAll({ echo: 'echo-cjs', throws: 'throws', busy: 'sleepy' });
  });
  afterAll(async () => {
    await p.stop();
  });

  it('answers 202 with an id and a Location, then runs it once with that id and keeps the result', async () => {
    const res = await p.call('/echo/a?x=1', {
      method: 'POST',
      headers: { 'x-skiff-async': 'true', 'content-type': 'text/plain' },
      body: 'later',
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; status: string; location: string };
    expect(body.status).toBe('queued');
    expect(res.headers.get('location')).toBe(`${p.controlUrl}/v1/invocations/${body.id}`);
    expect(res.headers.get('x-skiff-invocation-id')).toBe(body.id);
    const done = await settled(p, body.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, error: null });
    const echoed = JSON.parse(Buffer.from(done.result?.body ?? '', 'base64').toString()) as Record<
      string,
      unknown
    >;
    expect(echoed).toMatchObject({
      method: 'POST',
      path: '/a',
      query: '?x=1',
      body: 'later',
      invocationId: body.id,
    });
  });

  it('takes Prefer: respond-async too', async () => {
    const res = await p.call('/echo', { headers: { prefer: 'respond-async, wait=10' } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect((await settled(p, id)).status).toBe('succeeded');
  });

  it('never answers 202 for an unknown function, and refuses a body over the async limit', async () => {
    const unknown = await p.call('/nobody', { headers: { 'x-skiff-async': 'true' } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'SKIFF_E_FUNCTION_NOT_FOUND' } });
    const big = await p.call('/echo', {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
      body: Buffer.alloc(256 * 1024 + 1),
    });
    expect(big.status).toBe(413);
    const missing = await p.api('/v1/invocations/not-an-id');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'SKIFF_E_INVOCATION_NOT_FOUND' } });
  });

  it('retries a function that throws twice, then dead-letters it with every attempt recorded', async () => {
    const res = await p.call('/throws', { headers: { 'x-skiff-async': 'true' } });
    const { id } = (await res.json()) as { id: string };
    const done = await settled(p, id);
    expect(done).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'SKIFF_E_FUNCTION_ERROR' } });
    expect(done.history.map((h) => h.outcome)).toEqual([
      'SKIFF_E_FUNCTION_ERROR',
      'SKIFF_E_FUNCTION_ERROR',
      'SKIFF_E_FUNCTION_ERROR',
    ]);
    const failed = (await (await p.api('/v1/invocations?function=throws&status=failed')).json()) as {
      invocations: { id: string }[];
    };
    expect(failed.invocations.map((i) => i.id)).toContain(id);
  });

  it('keeps an invocation queued while the function is saturated, and expires it past its maximum age', async () => {
    const scaled = await p.api('/v1/functions/busy/scaling', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxInstances: 1, concurrency: 1, maxQueue: 0 }),
    });
    expect(scaled.status).toBe(200);
    const blocking = p.call('/busy?ms=2500');
    await waitUntil('the blocking call to run', () => hasCallInFlight(p, 'busy'), 5_000);
    const res = await p.call('/busy', { headers: { 'x-skiff-async': 'true' } });
    const { id } = (await res.json()) as { id: string };
    const done = await settled(p, id);
    // refused for capacity (never counted as an attempt), until the 1.5 s maximum age ran out
    expect(done.status).toBe('expired');
    expect(done.attempts).toBe(0);
    expect(done.history[0]?.outcome).toBe('SKIFF_E_TOO_MANY_REQUESTS');
    expect((await blocking).status).toBe(200);
  });

  it('POSTs the final record to X-Callback-Url', async () => {
    const received: { headers: IncomingMessage['headers']; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const res = await p.call('/echo', {
        headers: { 'x-skiff-async': 'true', 'x-callback-url': `http://127.0.0.1:${port}/done` },
      });
      const { id } = (await res.json()) as { id: string };
      await settled(p, id);
      await waitUntil('the callback', () => received.length > 0, 2_000);
      expect(received).toHaveLength(1);
      expect(received[0]?.headers['x-skiff-invocation-id']).toBe(id);
      expect(JSON.parse(received[0]?.body ?? '{}')).toMatchObject({ id, status: 'succeeded' });
      const callbackStatus = await waitFor(
        'the callback status on the record',
        async () => (await view(p, id)).callbackStatus ?? undefined,
        2_000,
      );
      expect(callbackStatus).toBe(204);
      const bad = await p.call('/echo', {
        headers: { 'x-skiff-async': 'true', 'x-callback-url': 'ftp://x' },
      });
      expect(bad.status).toBe(400);
    } finally {
      server.close();
    }
  });
});
