import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform, fixture } from './helpers/platform.js';

const MiB = 1024 * 1024;

interface LogLine {
  message: string;
  invocationId?: string;
}

describe('custom and http runtimes', () => {
  let p: TestPlatform;

  const logsOf = async (name: string): Promise<LogLine[]> =>
    ((await (await p.api(`/v1/functions/${name}/logs?limit=1000`)).json()) as { logs: LogLine[] }).logs;

  beforeAll(async () => {
    p = await startPlatform({ config: { http: { maxBodyBytes: 2 * MiB } } });
    await p.deployAll({
      'custom-py': 'custom-py',
      'http-node': 'http-node',
      'http-socket': 'http-socket',
      'http-py': 'http-py',
    });
  });

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  describe('custom runtime (a Python program speaking the protocol)', () => {
    it('echoes the body and sees the request, function and env', async () => {
      const bytes = randomBytes(256 * 1024);
      const res = await p.call('/custom-py/some/path?q=1', {
        method: 'POST',
        headers: { 'x-custom': 'abc', 'content-type': 'application/x-test' },
        body: bytes,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-test');
      expect(res.headers.get('x-method')).toBe('POST');
      expect(res.headers.get('x-url')).toMatch(/^http:\/\/[^/]+\/some\/path\?q=1$/);
      expect(res.headers.get('x-custom')).toBe('abc');
      expect(res.headers.get('x-function')).toBe('custom-py@1');
      expect(res.headers.get('x-greeting')).toBe('hi from python');
      const invocationId = res.headers.get('x-skiff-invocation-id');
      expect(res.headers.get('x-invocation')).toBe(invocationId);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
      const log = (await logsOf('custom-py')).find((l) => l.message === 'custom-runtime-marker POST');
      expect(log?.invocationId).toBe(invocationId);
    });

    it('refuses a deploy without a command', async () => {
      const res = await p.deploy('custom-none', fixture('bin-echo'), '?runtime=custom');
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({ code: 'SKIFF_E_INVALID_SPEC' });
      expect(body.error.message).toContain('"command"');
    });
  });

  describe('http runtime (an ordinary HTTP server)', () => {
    it('proxies status, headers and body to a server on $PORT', async () => {
      const bytes = randomBytes(MiB + 3);
      const res = await p.call('/http-node/items/7?status=201', {
        method: 'PUT',
        headers: { 'x-custom': 'v', 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-method')).toBe('PUT');
      expect(res.headers.get('x-url')).toBe('/items/7?status=201');
      expect(res.headers.get('x-custom')).toBe('v');
      expect(res.headers.get('x-greeting')).toBe('hi from node');
      expect(res.headers.get('x-invocation')).toBe(res.headers.get('x-skiff-invocation-id'));
      expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
      const get = await p.call('/http-node');
      expect(get.status).toBe(200);
      expect(get.headers.get('x-url')).toBe('/');
      expect(get.headers.get('x-method')).toBe('GET');
      expect(await get.text()).toBe('');
    });

    it('serves a server on the Unix socket in $SKIFF_SOCKET', async () => {
      const res = await p.call('/http-socket/x?y=1');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-listener')).toBe('unix');
      expect(await res.text()).toBe('socket GET /x?y=1');
    });

    it('runs a string command through /bin/sh (a Python http.server)', async () => {
      const res = await p.call('/http-py/hello');
      expect(res.status).toBe(202);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await res.text()).toBe('python /hello');
    });

    it('answers 502 when the server dies, and the next call gets a new instance', async () => {
      const before = (await p.call('/http-node')).headers.get('x-instance');
      const status = (await (await p.api('/v1/functions/http-node')).json()) as {
        function: { instances: { pid: number }[] };
      };
      const hostPid = status.function.instances[0]?.pid ?? 0;
      expect(hostPid).toBeGreaterThan(0);
      const res = await p.call('/http-node/crash');
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ error: { code: 'SKIFF_E_INSTANCE_CRASHED' } });
      const next = await p.call('/http-node');
      expect(next.status).toBe(200);
      const after = next.headers.get('x-instance');
      expect(after).not.toBe(before);
      expect(() => process.kill(hostPid, 0)).toThrow();
      expect((await logsOf('http-node')).some((l) => l.message.includes('crash requested'))).toBe(true);
    });
  });
});
