/**
 * The tinyFaaS flavor of the Node bridge hands the function `req.query` (first value of each name): a
 * query parameter named like an Object.prototype key (`constructor`, `toString`, `__proto__`) is a
 * parameter like any other, not one the object "already has".
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDataDir, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';

describe('tinyFaaS Node functions and query names like prototype keys', () => {
  let platform: TestPlatform;
  let dir: string;

  beforeAll(async () => {
    dir = await makeDataDir();
    const fn = path.join(dir, 'fn');
    await mkdir(fn);
    await writeFile(
      path.join(fn, 'index.js'),
      `module.exports = (req, res) => {
        const seen = {};
        for (const key of ['constructor', 'toString', 'a']) {
          seen[key] = Object.prototype.hasOwnProperty.call(req.query, key) ? String(req.query[key]) : null;
        }
        res.json(seen);
      };`,
    );
    await writeFile(
      path.join(fn, 'package.json'),
      '{ "name": "fn", "version": "1.0.0", "main": "index.js" }',
    );
    await writeFile(path.join(fn, 'skiff.json'), '{ "runtime": "node", "flavor": "tinyfaas" }');
    platform = await startPlatform();
    const res = await platform.deploy('tq', fn);
    expect(res.status, await res.text()).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await platform?.stop();
    await removeDir(dir);
  });

  it('passes every parameter, first value each', async () => {
    const res = await platform.call('/tq/?constructor=c&toString=t&__proto__=p&a=1&a=2');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ constructor: 'c', toString: 't', a: '1' });
  }, 30_000);
});
