/** The asynchronous invocation routes in memory, over a real queue store: lookup, list, filters. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { controlKit, type ControlKit } from '../../test/helpers/control-app.js';
import type { InMemoryResponse } from '../../test/helpers/in-memory-http.js';

let kit: ControlKit;
beforeEach(() => {
  kit = controlKit();
});
afterEach(() => kit.close());

const errorOf = (res: InMemoryResponse) => res.json<{ error: { code: string } }>().error;

function queued(id: string, fn: string): void {
  kit.queue.accept({
    id,
    function: fn,
    trigger: 'async',
    method: 'POST',
    path: '/',
    query: '',
    headers: [['content-type', 'text/plain']],
    body: Buffer.from('payload'),
    host: 'localhost',
    maxRetries: 0,
    expiresAt: Date.now() + 60_000,
    callbackUrl: null,
  });
}

describe('GET /v1/invocations/{id}', () => {
  it('shows a queued invocation: id, function, trigger, status, no result yet', async () => {
    queued('inv-1', 'hello');
    const res = await kit.request({ path: '/v1/invocations/inv-1' });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      invocation: {
        id: 'inv-1',
        function: 'hello',
        trigger: 'async',
        status: 'queued',
        attempts: 0,
        finishedAt: null,
        result: null,
      },
    });
  });

  it('answers an id it does not know with 404 SKIFF_E_INVOCATION_NOT_FOUND', async () => {
    const res = await kit.request({ path: '/v1/invocations/no-such-id' });
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('SKIFF_E_INVOCATION_NOT_FOUND');
  });
});

describe('GET /v1/invocations', () => {
  it('lists invocations, filtered by function', async () => {
    queued('a', 'one');
    queued('b', 'two');
    const all = await kit.request({ path: '/v1/invocations' });
    expect(
      all
        .json<{ invocations: { id: string }[] }>()
        .invocations.map((i) => i.id)
        .sort(),
    ).toEqual(['a', 'b']);
    const two = await kit.request({ path: '/v1/invocations?function=two&status=queued' });
    expect(two.json<{ invocations: { id: string }[] }>().invocations.map((i) => i.id)).toEqual(['b']);
  });

  it('refuses an unknown status or a limit out of range with 400 SKIFF_E_INVALID_REQUEST', async () => {
    for (const query of ['status=done', 'limit=0', 'limit=10001', 'limit=x']) {
      const res = await kit.request({ path: `/v1/invocations?${query}` });
      expect(res.status, query).toBe(400);
      expect(errorOf(res).code).toBe('SKIFF_E_INVALID_REQUEST');
    }
  });
});
