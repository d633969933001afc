/**
 * Red team, host claims: two deploys racing for one host, and a host freed by a delete or a redeploy.
 * One host has one holder at a time, and the gateway routes it to that holder only.
 */
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { folderWith } from '../helpers/tmp.js';
import { startPlatform, type TestPlatform } from '../helpers/platform.js';

function fn(who: string, hosts: string[]): Promise<string> {
  return folderWith({
    'index.mjs': 'export default async () => ({ who: process.env.WHO });',
    'skiff.json': JSON.stringify({
      runtime: 'node',
      handler: 'index.mjs',
      env: { WHO: who },
      ...(hosts.length === 0 ? {} : { routes: hosts.map((host) => ({ host })) }),
    }),
  });
}

function whoAt(base: string, host: string): Promise<unknown> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/', headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve(res.statusCode === 200 ? (JSON.parse(body) as { who: string }).who : res.statusCode),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('host claims under races, deletes and redeploys', () => {
  let p: TestPlatform;
  const dirs: string[] = [];
  const dir = async (who: string, hosts: string[]) => {
    const d = await fn(who, hosts);
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    p = await startPlatform();
  }, 60_000);
  afterAll(async () => {
    await p.stop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('two concurrent deploys of one host: one gets it, the other 409', async () => {
    const [a, b] = await Promise.all([dir('a', ['race.example.com']), dir('b', ['race.example.com'])]);
    const [ra, rb] = await Promise.all([p.deploy('race-a', a), p.deploy('race-b', b)]);
    expect([ra.status, rb.status].sort()).toEqual([201, 409]);
    const loser = ra.status === 409 ? ra : rb;
    expect(await loser.text()).toContain('SKIFF_E_HOST_TAKEN');
    expect(await whoAt(p.httpUrl, 'race.example.com')).toBe(ra.status === 201 ? 'a' : 'b');
  }, 120_000);

  it('a host freed by a delete or a redeploy goes to its next claimer, and the old holder no longer gets it', async () => {
    expect((await p.deploy('old', await dir('old', ['shop.example.com']))).status).toBe(201);
    expect(await whoAt(p.httpUrl, 'shop.example.com')).toBe('old');
    // redeployed without the host: freed at once
    expect((await p.deploy('old', await dir('old', []))).status).toBe(200);
    expect(await whoAt(p.httpUrl, 'shop.example.com')).toBe(404);
    expect((await p.deploy('new', await dir('new', ['shop.example.com']))).status).toBe(201);
    expect(await whoAt(p.httpUrl, 'shop.example.com')).toBe('new');
    // the old holder's rollback to the version that had it is refused
    const back = await p.api('/v1/functions/old/rollback', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: 1 }),
    });
    expect(back.status).toBe(409);
    expect(await back.text()).toContain('SKIFF_E_HOST_TAKEN');
    expect(await whoAt(p.httpUrl, 'shop.example.com')).toBe('new');
    // deleted: the host is free again and routes nowhere
    expect((await p.api('/v1/functions/new', { method: 'DELETE' })).status).toBeLessThan(300);
    expect(await whoAt(p.httpUrl, 'shop.example.com')).toBe(404);
    expect((await p.deploy('old', await dir('old', ['shop.example.com']))).status).toBe(200);
    expect(await whoAt(p.httpUrl, 'shop.example.com')).toBe('old');
  }, 120_000);
});
