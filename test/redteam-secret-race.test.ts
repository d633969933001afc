/**
 * A secret set whose body arrives slowly while the function is deleted: the answer says the function
 * is gone (FUNCTION_NOT_FOUND), not an internal error from the store refusing a secret of no function.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

/** A PUT of a secret whose body is sent only when `finish` is called; resolves with status and body. */
function slowSecret(
  platform: TestPlatform,
  route: string,
  value: string,
): { finish: () => void; done: Promise<{ status: number; body: string }> } {
  const url = new URL(`${platform.controlUrl}${route}`);
  let finish = (): void => undefined;
  const done = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(url, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${platform.token}`,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(value)),
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.write(value.slice(0, 1));
    finish = () => req.end(value.slice(1));
  });
  return { finish, done };
}

describe('a secret set racing a delete', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startPlatform();
  });
  afterAll(async () => {
    await platform.stop();
    await removeDir(platform.dataDir);
  });

  it('answers FUNCTION_NOT_FOUND when the function was deleted while the value was read', async () => {
    expect((await platform.deploy('gone', fixture('echo-cjs'))).status).toBe(201);
    const put = slowSecret(
      platform,
      '/v1/functions/gone/secrets/KEY',
      JSON.stringify({ value: 'value-of-the-old-function' }),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect((await platform.api('/v1/functions/gone', { method: 'DELETE' })).status).toBeLessThan(300);
    put.finish();
    const res = await put.done;
    expect(res.status, res.body).toBe(404);
    expect(res.body).toContain('SKIFF_E_FUNCTION_NOT_FOUND');
  });
});
