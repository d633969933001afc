/**
 * Red team, skiff.json `cors` under a flavor that answers failures itself (Scaleway's: plain text with
 * `Access-Control-Allow-Origin: *`). With `cors`, the gateway's CORS answer is the only one, on the
 * function's answers and on the gateway's errors alike: the flavor's `*` must not replace the echoed
 * origin (a credentialed page then fails) nor let any origin read the refusal.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderWith } from '../helpers/tmp.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';

describe('cors of a flavored function on a gateway error', () => {
  let p: TestPlatform;
  let dir: string;
  beforeAll(async () => {
    p = await startPlatform();
    dir = await folderWith({
      'handler.js': 'exports.handle = async () => ({ statusCode: 200, body: "secret" });',
      'skiff.json': JSON.stringify({
        runtime: 'node',
        flavor: 'scaleway',
        handler: 'handler.handle',
        access: { private: true },
        cors: { origins: ['https://app.example.com'], credentials: true },
      }),
    });
    const res = await p.deploy('vault', dir);
    expect(res.status, await res.text()).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await p.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('an allowed origin gets itself back, with credentials, on the 403 of a call without a token', async () => {
    const res = await p.call('/vault', { headers: { origin: 'https://app.example.com' } });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  }, 30_000);

  it('another origin gets no Access-Control-Allow-Origin on it', async () => {
    const res = await p.call('/vault', { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('vary')).toContain('Origin');
  }, 30_000);
});
