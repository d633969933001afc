/**
 * `$SKIFF_API` on a real platform in the real sandbox (docs/composition.md, "From binary, custom and
 * http runtimes"): the chain Node → Python → shell where the shell step calls a fourth function with
 * curl on the Unix socket, an http-runtime server calling through it, and the refusals a process inside
 * gets (no invocation id, an id not in flight, a body over the limit).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

const MAX_RESPONSE_BYTES = 1024 * 1024;

describe('$SKIFF_API', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform({ config: { functions: { maxResponseBytes: MAX_RESPONSE_BYTES } } });
    await p.deployAll({
      'api-node': 'api-node',
      'api-py': 'api-py',
      'api-sh': 'api-sh',
      'api-tail': 'api-tail',
      'api-http': 'api-http',
      'api-state': 'api-state',
    });
  });

  afterAll(async () => {
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
  });

  it('runs the chain Node → Python → shell, the shell step calling on through $SKIFF_API', async () => {
    const res = await p.call('/api-node', { method: 'POST', body: 'start' });
    expect(res.status).toBe(200);
    // each step appends its mark; the shell step upper-cases what api-tail (called with curl) answered
    expect(await res.json()).toEqual({ status: 200, body: 'START>NODE>PY>SH>TAIL(CALL POST /)' });
  });

  it('serves an http-runtime server: method, path and query reach the callee, its answer comes back', async () => {
    const res = await p.call('/api-http/go', { method: 'POST', body: 'from' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 200,
      path: '/deep/path',
      host: 'skiff', // the callee ran in the sandbox (its host name)
      body: 'from>http>tail(call PUT /deep/path)',
    });
  });

  it('refuses a request without the invocation id, for an id not in flight, and a body over the limit', async () => {
    await p.call('/api-http/first', { method: 'POST', body: 'x' }); // an invocation that then ends
    const res = await p.call('/api-http/refusals', { method: 'POST' });
    expect(res.status).toBe(200);
    const out = (await res.json()) as Record<string, { status: number; code?: string }>;
    expect(out).toEqual({
      missing: { status: 400, code: 'SKIFF_E_INVALID_REQUEST' },
      unknown: { status: 404, code: 'SKIFF_E_INVOCATION_NOT_FOUND' },
      ended: { status: 404, code: 'SKIFF_E_INVOCATION_NOT_FOUND' },
      oversized: { status: 413, code: 'SKIFF_E_PAYLOAD_TOO_LARGE' },
      route: { status: 404, code: 'SKIFF_E_NOT_FOUND' },
      // a refusal of the platform (its FAIL code) is the status too
      noFunction: { status: 404, code: 'SKIFF_E_FUNCTION_NOT_FOUND' },
    });
  });

  it('gives a shell function its own state: PUT, GET, a stale If-Match refused with 409', async () => {
    const first = await p.call('/api-state', { method: 'POST', body: 'hello' });
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('put=200 1 got=hello stale=409');
    const second = await p.call('/api-state', { method: 'POST', body: 'again' });
    expect(await second.text()).toBe('put=200 2 got=again stale=409');
    // the same state the control API shows
    const seen = await p.api('/v1/functions/api-state/state/note');
    expect(seen.status).toBe(200);
    expect(await seen.text()).toBe('again');
  });
});
