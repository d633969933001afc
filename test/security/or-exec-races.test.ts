/**
 * Red team of the executor API: races of one runtime id. Concurrent creations and cold starts make
 * one runtime; a runtime deleted and at once created again must be the new one, whole (the old one's
 * removal went on after DELETE had forgotten it and deleted the new function's files); the reaper
 * never removes a runtime under an execution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_IMAGE, startExecutor, type Executor } from './or-exec-client.js';

const FUNCTION = {
  'index.js': `module.exports = async (context) => {
  if (context.req.path === '/sleep') await new Promise((resolve) => setTimeout(resolve, 2500));
  return context.res.text('ok');
};
`,
};

let e: Executor;
let source: string;

beforeAll(async () => {
  e = await startExecutor({ inactiveThresholdS: 1, maintenanceIntervalS: 1 });
  source = await e.source('functions/r/code.tar.gz', FUNCTION);
}, 60_000);

afterAll(async () => {
  await e?.stop();
});

const create = (runtimeId: string) =>
  e.call('/runtimes', { method: 'POST', json: { runtimeId, image: NODE_IMAGE, source } });

async function execute(runtimeId: string, path = '/', coldStart = false) {
  const res = await e.call(`/runtimes/${runtimeId}/executions`, {
    method: 'POST',
    json: { path, ...(coldStart ? { image: NODE_IMAGE, source } : {}) },
  });
  const text = await res.text();
  return { status: res.status, body: text, json: () => JSON.parse(text) as Record<string, unknown> };
}

describe('races of one runtime id', () => {
  it('ten concurrent creations make one runtime; ten concurrent cold starts all run on one', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await create('same');
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);
    const runs = await Promise.all(Array.from({ length: 10 }, () => execute('cold', '/', true)));
    for (const run of runs) {
      expect(run.status, run.body.slice(0, 200)).toBe(200);
      expect(run.json()['body']).toBe('ok');
    }
  }, 60_000);

  it('a runtime deleted and at once created again is the new one, and it runs', async () => {
    for (let round = 0; round < 2; round++) {
      const id = `again${round}`;
      expect((await create(id)).status).toBe(201);
      expect((await execute(id)).status).toBe(200);
      // an execution in flight keeps the old function's removal going for a while
      const inFlight = execute(id, '/sleep');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const removal = e.call(`/runtimes/${id}`, { method: 'DELETE' });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const recreated = await create(id);
      expect((await removal).status).toBe(200);
      await inFlight;
      const body = await recreated.text();
      expect(recreated.status, body.slice(0, 300)).toBe(201);
      const run = await execute(id);
      expect(run.status, run.body.slice(0, 300)).toBe(200);
      expect(run.json()['body'], `round ${round}: ${run.body.slice(0, 300)}`).toBe('ok');
      expect((await e.call(`/runtimes/${id}`)).status).toBe(200);
    }
  }, 60_000);

  it('the reaper leaves a runtime under an execution alone, and reaps it once idle', async () => {
    expect((await create('slow')).status).toBe(201);
    const run = await execute('slow', '/sleep');
    expect(run.status, run.body.slice(0, 200)).toBe(200);
    expect(run.json()['body']).toBe('ok');
    const deadline = Date.now() + 15_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      const res = await e.call('/runtimes/slow');
      status = res.status;
      await res.arrayBuffer();
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(404);
  }, 60_000);
});
