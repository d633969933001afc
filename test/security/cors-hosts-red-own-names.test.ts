/**
 * Red team, host routes (skiff.json `routes`): a tenant must not take the names the platform itself is
 * called by (control.allowedHosts: the operator's declared names for it). With such a claim, or a
 * wildcard over it, every call of every function through that name reached the tenant's function,
 * headers included: a private function's caller's X-Auth-Token went to the tenant.
 */
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderWith } from '../helpers/tmp.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';

const ECHO = `export default async (request) => ({
  who: process.env.WHO,
  token: request.headers.get('x-auth-token'),
});`;

function fn(who: string, spec: object): Promise<string> {
  return folderWith({
    'index.mjs': ECHO,
    'skiff.json': JSON.stringify({ runtime: 'node', handler: 'index.mjs', env: { WHO: who }, ...spec }),
  });
}

/** A GET with a Host of our choosing (fetch does not let one set it). */
function get(base: string, path: string, host: string): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, headers: { host, 'x-auth-token': 'victims-token' } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('host routes cannot take the platform’s own names', () => {
  let p: TestPlatform;
  const dirs: string[] = [];
  beforeAll(async () => {
    p = await startPlatform({
      config: { control: { allowedHosts: ['skiff.example.com'] }, http: { publicHosts: ['fn.example.com'] } },
    });
    const victim = await fn('victim', {});
    dirs.push(victim);
    expect((await p.deploy('victim', victim)).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await p.stop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('refuses a claim of a name the operator declared for the platform', async () => {
    const dir = await fn('evil', { routes: [{ host: 'SKIFF.example.com' }] });
    dirs.push(dir);
    const res = await p.deploy('evil-exact', dir);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('skiff.example.com');
    const call = await get(p.httpUrl, '/victim', 'skiff.example.com');
    expect(JSON.parse(call.body)).toMatchObject({ who: 'victim' });
  }, 60_000);

  it('a wildcard over the platform’s name does not capture calls made through that name', async () => {
    const dir = await fn('evil', { routes: [{ host: '*.example.com' }] });
    dirs.push(dir);
    expect((await p.deploy('evil-wild', dir)).status).toBe(201);
    // the wildcard holds for the tenant's own names
    expect(JSON.parse((await get(p.httpUrl, '/', 'shop.example.com')).body)).toMatchObject({ who: 'evil' });
    // but the platform's name still routes by function name, and the caller's token stays with it
    const call = await get(p.httpUrl, '/victim', 'skiff.example.com:443');
    expect(JSON.parse(call.body)).toEqual({ who: 'victim', token: 'victims-token' });
    const dotted = await get(p.httpUrl, '/victim', 'SKIFF.example.com.');
    expect(JSON.parse(dotted.body)).toMatchObject({ who: 'victim' });
  }, 60_000);

  it('the gateway’s public names (http.publicHosts) are the platform’s too', async () => {
    const dir = await fn('evil', { routes: [{ host: 'fn.example.com' }] });
    dirs.push(dir);
    expect((await p.deploy('evil-public', dir)).status).toBe(400);
    // evil-wild's *.example.com (deployed above) does not cover it either
    const call = await get(p.httpUrl, '/victim', 'fn.example.com');
    expect(JSON.parse(call.body)).toEqual({ who: 'victim', token: 'victims-token' });
  }, 60_000);
});
