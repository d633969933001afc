/**
 * The scaling override routes in memory: what a PATCH may hold (bounds, known fields, min ≤ max, the
 * platform's ceiling), how null fields and DELETE fall back, and that the running versions are told.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { controlKit, type ControlKit } from '../../test/helpers/control-app.js';
import type { InMemoryResponse, RequestBody } from '../../test/helpers/in-memory-http.js';

let kit: ControlKit;
beforeEach(() => {
  kit = controlKit();
  kit.addFunction('hello', { spec: { scaling: { concurrency: 5 } } });
});
afterEach(() => kit.close());

const errorOf = (res: InMemoryResponse) => res.json<{ error: { code: string; message: string } }>().error;
const patch = (body: RequestBody, fn = 'hello') =>
  kit.request({ method: 'PATCH', path: `/v1/functions/${fn}/scaling`, body });

describe('PATCH /v1/functions/{name}/scaling', () => {
  it('sets an override over skiff.json and the defaults, and rescales the running version', async () => {
    expect(kit.router.resolve('hello').scaling.maxInstances).toBe(10);
    const res = await patch({ maxInstances: 4, minInstances: 1 });
    expect(res.status).toBe(200);
    // the router's cached deployment was dropped: the next call runs with the new settings
    expect(kit.router.resolve('hello').scaling).toMatchObject({ minInstances: 1, maxInstances: 4 });
    expect(res.json()).toEqual({
      scaling: {
        minInstances: 1,
        maxInstances: 4,
        concurrency: 5,
        maxQueue: 1000,
        maxQueueWaitMs: 10_000,
        idleTimeoutMs: 300_000,
      },
      override: { minInstances: 1, maxInstances: 4 },
    });
    expect(kit.executor.calls).toEqual(['rescale hello max=4', 'ensure hello@1']);
    expect(kit.registry.getScaling('hello')).toEqual({ minInstances: 1, maxInstances: 4 });
    const fn = await kit.request({ path: '/v1/functions/hello' });
    expect(fn.json()).toMatchObject({ function: { scalingOverride: { minInstances: 1, maxInstances: 4 } } });
  });

  it('merges patches; a null field falls back, and DELETE removes the whole override', async () => {
    await patch({ maxInstances: 4, minInstances: 1 });
    const cleared = await patch({ minInstances: null, concurrency: 7 });
    expect(cleared.json()).toMatchObject({
      scaling: { minInstances: 0, maxInstances: 4, concurrency: 7 },
      override: { maxInstances: 4, concurrency: 7 },
    });
    const removed = await kit.request({ method: 'DELETE', path: '/v1/functions/hello/scaling' });
    expect(removed.status).toBe(200);
    expect(removed.json()).toMatchObject({ scaling: { maxInstances: 10, concurrency: 5 }, override: null });
    expect(kit.registry.getScaling('hello')).toBeNull();
  });

  it('refuses values out of bounds, fractions, strings and unknown fields with 400 SKIFF_E_INVALID_SCALING', async () => {
    const bodies = [
      { maxInstances: 0 },
      { maxInstances: 101 },
      { minInstances: -1 },
      { concurrency: 1.5 },
      { concurrency: '10' },
      { idleTimeoutMs: 99 },
      { maxInstance: 4 },
      { maxInstance: null },
    ];
    for (const body of bodies) {
      const res = await patch(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(res).code).toBe('SKIFF_E_INVALID_SCALING');
    }
    expect(kit.registry.getScaling('hello')).toBeNull();
    expect(kit.executor.calls).toEqual([]);
  });

  it('refuses a minimum above the maximum, also above the maximum of an earlier layer', async () => {
    const both = await patch({ minInstances: 5, maxInstances: 2 });
    expect(both.status).toBe(400);
    expect(errorOf(both).message).toMatch(/minInstances \(5\) is above maxInstances \(2\)/);
    // the default maxInstances is 10
    const layered = await patch({ minInstances: 11 });
    expect(layered.status).toBe(400);
    expect(errorOf(layered).code).toBe('SKIFF_E_INVALID_SCALING');
  });

  it("refuses a maximum above the operator's ceiling (functions.maxInstancesCeiling, 20 by default)", async () => {
    const res = await patch({ maxInstances: 21 });
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toMatch(/maxInstancesCeiling/);
  });

  it('refuses a body that is not a JSON object with 400, and a large one with 413', async () => {
    for (const body of ['{', '[1]', '3', 'null']) {
      const res = await patch(body);
      expect(res.status, body).toBe(400);
      expect(errorOf(res).code).toBe('SKIFF_E_INVALID_SCALING');
    }
    const big = await patch({ maxInstances: 4, pad: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect(errorOf(big).code).toBe('SKIFF_E_PAYLOAD_TOO_LARGE');
  });

  it('answers an unknown function with 404 SKIFF_E_FUNCTION_NOT_FOUND', async () => {
    const res = await patch({ maxInstances: 4 }, 'nope');
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('SKIFF_E_FUNCTION_NOT_FOUND');
  });
});
