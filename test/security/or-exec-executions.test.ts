/**
 * Red team of executions (`POST /v1/runtimes/:id/executions`): headers that try to pass for the
 * executor's own (`x-open-runtimes-*`) or hop-by-hop ones, bodies at and past upstream's 20 MiB,
 * multipart requests with thousands of parts, thousands of headers, odd runtime ids and variables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_IMAGE, startExecutor, type Executor } from './or-exec-client.js';

const FUNCTION = {
  'index.js': `module.exports = async (context) => {
  if (context.req.path === '/headers') return context.res.json(context.req.headers);
  if (context.req.path === '/size') return context.res.text(String(context.req.bodyBinary.length));
  if (context.req.path === '/env') return context.res.text(String(process.env[context.req.query.name]));
  return context.res.text('ok');
};
`,
};

let e: Executor;
let source: string;

beforeAll(async () => {
  e = await startExecutor();
  source = await e.source('functions/x/code.tar.gz', FUNCTION);
  const res = await e.call('/runtimes', {
    method: 'POST',
    json: { runtimeId: 'x', image: NODE_IMAGE, source, variables: { MINE: 'v' } },
  });
  expect(res.status, await res.text()).toBe(201);
}, 60_000);

afterAll(async () => {
  await e?.stop();
});

async function execute(json: Record<string, unknown>, id = 'x') {
  const res = await e.call(`/runtimes/${encodeURIComponent(id)}/executions`, { method: 'POST', json });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

describe('a client executing', () => {
  it("headers passing for the executor's own or hop-by-hop ones do not reach the function", async () => {
    const run = await execute({
      path: '/headers',
      headers: {
        'X-Open-Runtimes-Secret': 'mine',
        'x-open-runtimes-timeout': '9999',
        'x-open-runtimes-logging': 'disabled',
        'x-open-runtimes-log-id': '../../etc/x',
        'Content-Length': '5',
        'transfer-encoding': 'chunked',
        connection: 'close',
        upgrade: 'websocket',
        'x-keep': 'yes',
      },
    });
    expect(run.status, run.text.slice(0, 300)).toBe(200);
    const seen = JSON.parse(String(run.json()['body'])) as Record<string, string>;
    expect(seen['x-keep']).toBe('yes');
    for (const name of Object.keys(seen)) expect(name).not.toMatch(/^x-open-runtimes-/);
    expect(Object.values(seen)).not.toContain('mine');
    expect(seen['transfer-encoding']).toBeUndefined();
    expect(seen['upgrade']).toBeUndefined();
    expect(run.json()['logs']).not.toBeUndefined();
  }, 30_000);

  it('a 20 MiB body reaches the function whole; past the limit the request is refused', async () => {
    const big = 'a'.repeat(20 * 1024 * 1024);
    const run = await execute({ path: '/size', method: 'POST', body: big });
    expect(run.status, run.text.slice(0, 300)).toBe(200);
    expect(run.json()['body'], run.text.slice(0, 300)).toBe(String(big.length));
    const over = await execute({ path: '/size', method: 'POST', body: 'a'.repeat(33 * 1024 * 1024) });
    expect(over.status).toBe(400);
    expect((await execute({})).json()['body']).toBe('ok');
  }, 60_000);

  it('a multipart request with thousands of parts is refused', async () => {
    const form = new FormData();
    for (let i = 0; i < 5000; i++) form.append(`p${i}`, 'x');
    const res = await e.call('/runtimes/x/executions', {
      method: 'POST',
      body: form,
      headers: { accept: 'application/json' },
    });
    expect(res.status).toBe(400);
    await res.arrayBuffer();
    expect((await execute({})).json()['body']).toBe('ok');
  }, 30_000);

  it('thousands of headers are an answer (not a crash) and the runtime serves on', async () => {
    const headers = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`x-h${i}`, 'v'.repeat(100)]));
    const run = await execute({ path: '/headers', headers });
    expect([200, 400]).toContain(run.status);
    expect((await execute({})).json()['body']).toBe('ok');
  }, 30_000);

  it('odd runtime ids round-trip, and variables cannot break the environment', async () => {
    for (const id of ['a/b', '../up', 'ünï', 'x'.repeat(64), 'UPPER', ' sp ']) {
      const res = await e.call('/runtimes', {
        method: 'POST',
        json: { runtimeId: id, image: NODE_IMAGE, source },
      });
      expect(res.status, `${id}: ${await res.text()}`).toBe(201);
      expect((await execute({}, id)).json()['body'], id).toBe('ok');
      const removed = await e.call(`/runtimes/${encodeURIComponent(id)}`, { method: 'DELETE' });
      expect(removed.status, id).toBe(200);
    }
    for (const variables of [{ 'A=B': 'x' }, { '': 'x' }, { A: 'x\u0000y' }, { 'A B': 'x' }]) {
      const res = await e.call('/runtimes', {
        method: 'POST',
        json: { runtimeId: 'vars', image: NODE_IMAGE, source, variables },
      });
      expect(res.status, JSON.stringify(variables)).toBe(400);
      await res.arrayBuffer();
    }
    const secret = await execute({ path: '/env?name=OPEN_RUNTIMES_SECRET' });
    expect(secret.json()['body']).not.toBe('undefined');
    expect((await execute({ path: '/env?name=MINE' })).json()['body']).toBe('v');
  }, 60_000);

  it('a runtime asking for more CPUs or memory than the platform allows is refused', async () => {
    for (const [i, limits] of [{ cpus: 64 }, { memory: 65_536 }].entries()) {
      const res = await e.call('/runtimes', {
        method: 'POST',
        json: { runtimeId: `huge${i}`, image: NODE_IMAGE, source, ...limits },
      });
      expect(res.status, JSON.stringify(limits)).toBe(400);
      expect(((await res.json()) as { type: string }).type).toBe('runtime_failed');
      expect((await e.call(`/runtimes/huge${i}`)).status).toBe(404);
    }
  }, 30_000);
});
