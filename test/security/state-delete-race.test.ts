/**
 * A state write whose body is still arriving while its function is deleted must not land after the
 * delete dropped the function's state: the rows would outlive the function, and a new function made
 * under the same name (another tenant's, perhaps) would read them.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, fixture, type TestPlatform } from '../helpers/platform.js';

let p: TestPlatform;

beforeAll(async () => {
  p = await startPlatform();
});

afterAll(async () => {
  await p.stop();
  await removeDir(p.dataDir);
});

/** Starts a PUT of a state value, sends the first chunk and resolves once the handler reads the body. */
function slowPut(route: string, first: string) {
  const url = new URL(`${p.controlUrl}${route}`);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'PUT',
    headers: {
      authorization: `Bearer ${p.token}`,
      'content-type': 'application/octet-stream',
      'content-length': String(first.length * 2),
      expect: '100-continue',
    },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  const started = new Promise<void>((resolve) => req.on('continue', () => resolve()));
  req.flushHeaders();
  return {
    started: started.then(() => {
      req.write(first);
    }),
    finish: () => req.end(first),
    answer,
  };
}

describe('a state write racing the delete of its function', () => {
  it('does not leave state behind for a function made again under the name', async () => {
    const created = await p.deploy('racer', fixture('echo-cjs'));
    expect(created.status).toBe(201);
    const put = slowPut('/v1/functions/racer/state/secret', 'leaked!!');
    await put.started;
    const removed = await p.api('/v1/functions/racer', { method: 'DELETE' });
    expect(removed.status).toBe(204);
    put.finish();
    const answer = await put.answer;
    expect(answer.status).toBe(404);
    expect(answer.body).toContain('SKIFF_E_FUNCTION_NOT_FOUND');

    expect((await p.deploy('racer', fixture('echo-cjs'))).status).toBe(201);
    const read = await p.api('/v1/functions/racer/state/secret');
    expect(read.status).toBe(404);
    const list = (await (await p.api('/v1/functions/racer/state')).json()) as {
      keys: unknown[];
      usage: { keys: number; bytes: number };
    };
    expect(list.keys).toEqual([]);
    expect(list.usage).toEqual({ keys: 0, bytes: 0 });
  });
});
