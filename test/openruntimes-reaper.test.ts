/**
 * The Open Runtimes executor's runtimes over time (acceptance point 19 of docs/compat/openruntimes.md):
 * an idle runtime is removed after the inactivity threshold, one with an execution in flight is not,
 * and runtimes survive a restart of the platform (upstream keeps them in memory only).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, startPlatform } from './helpers/platform.js';
import { waitUntil } from './helpers/wait.js';
import { SECRET, startExecutor, type ExecutorPlatform } from './openruntimes/executor-client.js';

const NODE = path.join(FIXTURES, 'openruntimes', 'node-exec');
const IMAGE = 'openruntimes/node:v5-22';

describe('Open Runtimes runtimes over time', () => {
  let e: ExecutorPlatform;

  beforeAll(async () => {
    e = await startExecutor({ inactiveThresholdS: 2, maintenanceIntervalS: 1 });
    e.store(NODE, '/storage/functions/node/code.tar.gz');
  }, 60_000);

  afterAll(async () => {
    await e?.stop();
  });

  it('19: removes an idle runtime after the threshold, never one running longer than it', async () => {
    for (const runtimeId of ['idle', 'busy']) {
      const made = await e.call('POST', '/runtimes', {
        runtimeId,
        source: '/storage/functions/node/code.tar.gz',
        entrypoint: 'index.js',
        image: IMAGE,
      });
      expect(made.status, made.text).toBe(201);
    }
    const running = e.call(
      'POST',
      '/runtimes/busy/executions',
      { path: '/slow?ms=5000', timeout: 10 },
      { headers: { accept: 'application/json' } },
    );
    await waitUntil(
      'the idle runtime to be removed',
      async () => (await e.call('GET', '/runtimes/idle')).status === 404,
      10_000,
    );
    expect((await e.p.api('/v1/functions/opr-idle')).status).toBe(404);
    // the busy one has been running for longer than the threshold by now
    expect((await e.call('GET', '/runtimes/busy')).status).toBe(200);
    const outcome = await running;
    expect(outcome.status).toBe(200);
    expect((outcome.json as { body: string }).body).toBe('slow done');
    await waitUntil(
      'the busy runtime to go once idle',
      async () => (await e.call('GET', '/runtimes/busy')).status === 404,
      10_000,
    );
  }, 60_000);
});

describe('Open Runtimes runtimes across a restart', () => {
  it('keeps its runtimes and their functions', async () => {
    const first = await startExecutor();
    const dataDir = first.p.dataDir;
    first.store(NODE, '/storage/functions/node/code.tar.gz');
    const made = await first.call('POST', '/runtimes', {
      runtimeId: 'kept',
      source: '/storage/functions/node/code.tar.gz',
      image: IMAGE,
    });
    expect(made.status, made.text).toBe(201);
    await first.stop();
    const p = await startPlatform({
      dataDir,
      config: { compat: { openruntimes: { enabled: true, port: 0, secret: SECRET } } } as never,
    });
    try {
      const base = `${p.server.endpoints['openruntimes']}/v1`;
      const headers = { authorization: `Bearer ${SECRET}`, accept: 'application/json' };
      const list = (await (await fetch(`${base}/runtimes`, { headers })).json()) as { name: string }[];
      expect(list.map((runtime) => runtime.name)).toEqual(['kept']);
      const res = await fetch(`${base}/runtimes/kept/executions`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ path: '/echo', method: 'POST', body: 'again' }),
      });
      expect(((await res.json()) as { body: string }).body).toBe('again');
    } finally {
      await p.stop();
    }
  }, 60_000);
});
