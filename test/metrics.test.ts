import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startPlatform, type TestPlatform } from './helpers/platform.js';
import {
  histogramCount,
  parseExposition,
  samples,
  seriesOfFunction,
  value,
  type Scrape,
} from './helpers/prometheus.js';
import { waitFor, waitUntil } from './helpers/wait.js';

const METRICS_TOKEN = 'prometheus-reads-this-0123456789';

describe('GET /metrics (Prometheus) on the real platform', () => {
  let p: TestPlatform;
  const scrape = async (token = p.token): Promise<Scrape> => {
    const res = await fetch(`${p.controlUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };
  const status = async (name: string) =>
    (
      (await (await p.api(`/v1/functions/${name}`)).json()) as {
        function: { instances: unknown[]; status: { inFlight: number } };
      }
    ).function;

  beforeAll(async () => {
    p = await startPlatform({
      config: {
        control: { metricsToken: METRICS_TOKEN },
        // one invocation at once: a second is refused (429); a timeout within a test's patience
        executor: { maxInFlight: 1 },
        functions: { maxTimeoutMs: 1500 },
        async: { retryBaseMs: 50 },
        // one request in progress per client address: a second from the same one is refused (429)
        http: { maxInFlightPerAddress: 1 },
      },
    });
    await p.deployAll({ echo: 'echo-cjs', busy: 'sleepy', keeps: 'typed-ts', throws: 'throws' });
  });
  afterAll(async () => {
    await p.stop();
  });

  it('asks for the admin token or the metrics token, with the usual error shape', async () => {
    const none = await fetch(`${p.controlUrl}/metrics`);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: 'SKIFF_E_UNAUTHORIZED' } });
    const wrong = await fetch(`${p.controlUrl}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    await scrape(p.token);
    await scrape(METRICS_TOKEN);
    // the metrics token is read-only: it opens nothing else of the control API
    const other = await fetch(`${p.controlUrl}/v1/functions`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(other.status).toBe(401);
  });

  it('counts a sync HTTP invocation, its duration, and an async one', async () => {
    const before = await scrape();
    expect((await p.call('/echo/x')).status).toBe(200);
    const queued = await p.call('/echo/later', { method: 'POST', headers: { 'x-skiff-async': 'true' } });
    expect(queued.status).toBe(202);
    const { id } = (await queued.json()) as { id: string };
    await waitUntil('the async invocation to succeed', async () => {
      const res = await p.api(`/v1/invocations/${id}`);
      return ((await res.json()) as { invocation: { status: string } }).invocation.status === 'succeeded';
    });
    const after = await scrape(METRICS_TOKEN);
    const ok = { function: 'echo', outcome: 'ok' };
    expect(value(after, 'skiff_invocations_total', { ...ok, trigger: 'http' })).toBe(
      value(before, 'skiff_invocations_total', { ...ok, trigger: 'http' }) + 1,
    );
    expect(value(after, 'skiff_invocations_total', { ...ok, trigger: 'async' })).toBe(1);
    const timed = { function: 'echo', trigger: 'http' };
    expect(histogramCount(after, 'skiff_invocation_duration_seconds', timed)).toBe(
      histogramCount(before, 'skiff_invocation_duration_seconds', timed) + 1,
    );
    expect(value(after, 'skiff_async_backlog', { state: 'queued' })).toBe(0);
    // process metrics, prefixed
    expect(value(after, 'skiff_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples(after, 'skiff_nodejs_eventloop_lag_seconds')).toHaveLength(1);
    expect(samples(after, 'skiff_process_open_fds')).toHaveLength(1);
  });

  it('counts the retries and the dead letter of an async invocation that keeps failing', async () => {
    const res = await p.call('/throws', { headers: { 'x-skiff-async': 'true' } });
    const { id } = (await res.json()) as { id: string };
    await waitUntil('the invocation to be dead-lettered', async () => {
      const got = await p.api(`/v1/invocations/${id}`);
      return ((await got.json()) as { invocation: { status: string } }).invocation.status === 'failed';
    });
    const after = await scrape();
    // three attempts: two retries, then the dead letter
    expect(value(after, 'skiff_async_retries_total', { function: 'throws', reason: 'failed' })).toBe(2);
    expect(value(after, 'skiff_async_dead_letters_total', { function: 'throws', reason: 'failed' })).toBe(1);
    expect(value(after, 'skiff_async_dead_letters')).toBe(1);
    expect(
      value(after, 'skiff_invocations_total', { function: 'throws', trigger: 'async', outcome: 'error' }),
    ).toBe(3);
  });

  it('counts the refusals (429) by reason, and a timeout', async () => {
    // the one slot taken by a call that outlives the 1.5 s timeout (from 127.0.0.1, as fetch sends)
    const slow = p.call('/busy?ms=20000');
    await waitUntil(
      'the slow call to be in flight',
      async () => (await status('busy')).status.inFlight === 1,
    );
    // the same client again: over its own cap, before any function is looked at
    const mine = await p.call('/echo/x');
    expect(mine.status).toBe(429);
    // another client: over the platform's executor.maxInFlight
    expect(await statusFrom('127.0.0.2', `${p.httpUrl}/echo/x`)).toBe(429);
    expect((await slow).status).toBe(504);
    const after = await scrape();
    expect(value(after, 'skiff_refusals_total', { reason: 'client_in_flight' })).toBe(1);
    expect(value(after, 'skiff_refusals_total', { reason: 'async_queue_full' })).toBe(0);
    expect(
      value(after, 'skiff_invocation_rejections_total', { function: 'echo', reason: 'platform_busy' }),
    ).toBe(1);
    expect(value(after, 'skiff_invocations_total', { function: 'echo', outcome: 'rejected' })).toBe(1);
    expect(value(after, 'skiff_invocation_timeouts_total', { function: 'busy', trigger: 'http' })).toBe(1);
    expect(value(after, 'skiff_invocations_total', { function: 'busy', outcome: 'timeout' })).toBe(1);
  });

  it('counts a cold start and its duration, and shows instances by state', async () => {
    // sleepy's instances stop after 600 ms idle: the next call waits for a new one
    await waitUntil('busy to scale to zero', async () => (await status('busy')).instances.length === 0);
    const before = await scrape();
    expect(value(before, 'skiff_instances', { function: 'busy' })).toBe(0);
    const call = p.call('/busy?ms=1000');
    // while it runs: its instance, cold-started, is busy
    await waitFor('a busy instance of busy', async () => {
      const s = await scrape();
      return value(s, 'skiff_instances', { function: 'busy', state: 'busy' }) === 1 ? s : undefined;
    });
    expect((await call).status).toBe(200);
    const after = await scrape();
    expect(value(after, 'skiff_cold_starts_total', { function: 'busy', outcome: 'ready' })).toBe(
      value(before, 'skiff_cold_starts_total', { function: 'busy', outcome: 'ready' }) + 1,
    );
    expect(histogramCount(after, 'skiff_cold_start_duration_seconds', { function: 'busy' })).toBe(
      histogramCount(before, 'skiff_cold_start_duration_seconds', { function: 'busy' }) + 1,
    );
  });

  it('counts a failed build and the build durations', async () => {
    const bad = await p.deploy('keeps', fixture('broken-ts'));
    expect(bad.status).toBe(422);
    const after = await scrape();
    expect(value(after, 'skiff_build_failures_total', { function: 'keeps' })).toBe(1);
    expect(
      histogramCount(after, 'skiff_build_duration_seconds', { function: 'keeps', outcome: 'failed' }),
    ).toBe(1);
    expect(
      histogramCount(after, 'skiff_build_duration_seconds', { function: 'keeps', outcome: 'succeeded' }),
    ).toBe(1);
  });

  it("removes a deleted function's series", async () => {
    const before = await scrape();
    expect(seriesOfFunction(before, 'echo').length).toBeGreaterThan(0);
    expect((await p.api('/v1/functions/echo', { method: 'DELETE' })).status).toBe(204);
    const after = await waitFor('echo series gone', async () => {
      const s = await scrape();
      return seriesOfFunction(s, 'echo').length === 0 ? s : undefined;
    });
    expect(seriesOfFunction(after, 'busy').length).toBeGreaterThan(0);
  });

  it('lists in docs/operations.md exactly the metrics it exposes', async () => {
    const exposed = new Set((await scrape()).families.map((f) => f.name));
    const whole = readFileSync(path.resolve(import.meta.dirname, '..', 'docs', 'operations.md'), 'utf8');
    // the section "Metrics (Prometheus)", up to the next section
    const doc = whole.slice(whole.indexOf('## Metrics (Prometheus)')).split(/\n## /)[0] ?? '';
    const documented = new Set([...doc.matchAll(/^\| `(skiff_[a-z0-9_]+)`/gm)].map((m) => m[1] as string));
    expect([...documented].sort()).toEqual([...exposed].sort());
  });
});

/** A GET from another loopback address (a second client of the gateway); resolves with the status. */
function statusFrom(localAddress: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
