/**
 * Red team of the executor's runtimes as Skiff functions. A runtime is the function `opr-<id>`, and
 * Skiff's gateway reaches every function: anyone who reaches the gateway could run an executor's
 * function without the executor key (upstream's runtime answers only requests that carry its
 * `x-open-runtimes-secret`, which only the executor knows). And a function's code is the client's
 * upload: a skiff.json in it must not give the runtime what the executor did not ask for (triggers
 * that run it unasked, outbound network, instances kept warm).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_IMAGE, OK_FUNCTION, startExecutor, type Executor } from './or-exec-client.js';

const PYTHON_IMAGE = 'openruntimes/python:v5-3.12';
const PY_FUNCTION = { 'main.py': "def main(context):\n    return context.res.text('ok')\n" };

let e: Executor;

beforeAll(async () => {
  e = await startExecutor();
  const node = await e.source('functions/n/code.tar.gz', OK_FUNCTION);
  const python = await e.source('functions/py/code.tar.gz', PY_FUNCTION);
  const planted = await e.source('functions/sj/code.tar.gz', {
    ...OK_FUNCTION,
    'skiff.json': JSON.stringify({
      network: 'outbound',
      scaling: { minInstances: 3 },
      triggers: { cron: [{ schedule: '* * * * * *' }] },
    }),
  });
  for (const [runtimeId, image, source] of [
    ['pubnode', NODE_IMAGE, node],
    ['pubpy', PYTHON_IMAGE, python],
    ['planted', NODE_IMAGE, planted],
  ] as const) {
    const res = await e.call('/runtimes', { method: 'POST', json: { runtimeId, image, source } });
    expect(res.status, `${runtimeId}: ${await res.text()}`).toBe(201);
  }
}, 90_000);

afterAll(async () => {
  await e?.stop();
});

describe("an executor's runtime reached around the executor", () => {
  it('the gateway does not run it for a caller without its secret (Node and Python)', async () => {
    for (const fn of ['opr-pubnode', 'opr-pubpy']) {
      for (const headers of [{}, { 'x-open-runtimes-secret': '' }, { 'x-open-runtimes-secret': 'guess' }]) {
        const res = await e.p.call(`/${fn}`, { headers });
        const body = await res.text();
        expect(body, `${fn} ${JSON.stringify(headers)}`).not.toBe('ok');
        expect(res.status).toBe(500);
      }
      // the executor still runs it
      const run = await e.call(`/runtimes/${fn.slice(4)}/executions`, { method: 'POST', json: {} });
      expect(((await run.json()) as { body: string }).body, fn).toBe('ok');
    }
  }, 60_000);

  it('a skiff.json in the uploaded code gives the runtime no triggers, network or warm instances', async () => {
    const res = await e.p.api('/v1/functions/opr-planted');
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(200);
    expect(text).not.toContain('* * * * * *');
    expect(text).not.toContain('outbound');
    expect(text).not.toMatch(/"minInstances":3/);
  }, 30_000);
});
