/**
 * A result whose headers are larger than any HTTP client accepts (a hostile or broken bridge answering
 * with 20 000 header pairs): the platform refuses it as a bad response with a stable code and a line
 * in the function's logs, instead of sending 300 KB of headers the caller's client drops ("fetch
 * failed", no code). Headers that fit still go out whole, and the instance keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RESULT_HEADER_BYTES } from '../../src/model/result-rules.js';
import { answeringBridge, bridgeFunction } from '../helpers/hostile-bridge.js';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait.js';

// HELLO, READY after INIT, and for every INVOKE a RESULT with `?n=` headers of `?size=` value bytes.
const BRIDGE = answeringBridge(`
      const q = new URL(meta.url).searchParams;
      const n = Number(q.get('n')), size = Number(q.get('size'));
      const headers = Array.from({ length: n }, (_, i) => ['x-h-' + i, 'v'.repeat(size)]);
      sock.write(frame(5, id, { status: 200, headers }));
`);

describe('result headers larger than a caller accepts', () => {
  let platform: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    dir = await makeDataDir();
    const fn = await bridgeFunction(dir, 'fn', BRIDGE);
    platform = await startPlatform();
    const res = await platform.deploy('headers', fn);
    expect(res.status, await res.text()).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await platform?.stop();
    await removeDir(dir);
  });

  it('are refused with 502 SKIFF_E_BAD_RESPONSE and a line in the logs; the instance serves on', async () => {
    const res = await platform.call('/headers?n=20000&size=10');
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('SKIFF_E_BAD_RESPONSE');
    expect(body.error.message).toMatch(/20000 headers take \d+ bytes/);
    await waitFor('the refusal in the logs', async () =>
      (await platform.logs('headers')).find((l) => l.message.includes('20000 headers take')),
    );

    // just over the cap: refused too; just under: sent whole
    const line = (size: number) => `x-h-0: ${'v'.repeat(size)}\r\n`.length;
    const over = await platform.call(`/headers?n=1&size=${MAX_RESULT_HEADER_BYTES}`);
    expect(over.status).toBe(502);
    const fits = await platform.call(`/headers?n=1&size=${MAX_RESULT_HEADER_BYTES - line(0)}`);
    expect(fits.status).toBe(200);
    expect(fits.headers.get('x-h-0')?.length).toBe(MAX_RESULT_HEADER_BYTES - line(0));
    const many = await platform.call('/headers?n=100&size=100');
    expect(many.status).toBe(200);
    expect(many.headers.get('x-h-99')).toBe('v'.repeat(100));
  }, 60_000);
});
