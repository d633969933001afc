/**
 * A function's output through the v2 proxy. The proxy chose the Content-Type with `JSON.parse` of the
 * whole output: a function answering 6 MiB of `[[[…]]]` or `[{},{},…]` held the platform's event
 * loop for up to a second per call, for every client of every listener. The check now scans
 * without building anything (src/compat/baetyl/json-valid.ts, timed against JSON.parse in its unit
 * test), at most 10 000 levels deep as Go's json.Valid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicesFor } from '../../src/compat/baetyl/services.js';
import { removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { folderWith } from '../helpers/tmp.js';

let p: TestPlatform;
let proxy: string;
let dir: string;

/** Answers the output the payload names: `nested:<levels>` or `objects:<n>`. */
const SHAPES = `export default async (request) => {
  const [shape, n] = (await request.text()).split(':');
  const k = Number(n);
  const body =
    shape === 'nested' ? '['.repeat(k) + ']'.repeat(k)
    : '[' + '{},'.repeat(k) + '{}]';
  return new Response(body);
};
`;

beforeAll(async () => {
  p = await startPlatform({
    config: { compat: { baetyl: { enabled: true, proxy: { port: 0 } } } },
  });
  dir = await folderWith({ 'index.mjs': SHAPES });
  expect((await p.deploy('shapes', dir)).status).toBe(201);
  servicesFor(p.dataDir).set('svc', ['shapes']);
  proxy = p.server.endpoints['baetyl-proxy'] as string;
}, 60_000);

afterAll(async () => {
  await p?.stop();
  if (p !== undefined) await removeDir(p.dataDir);
  if (dir !== undefined) await removeDir(dir);
});

const ask = (payload: string) => fetch(`${proxy}/svc`, { method: 'POST', body: payload });

describe("a function's output through the proxy", () => {
  it('is JSON up to 10 000 levels deep, as Go decides, and text beyond', async () => {
    const at = await ask('nested:10000');
    expect(at.status).toBe(200);
    expect(at.headers.get('content-type')).toBe('application/json');
    expect((await at.text()).length).toBe(20_000);
    const over = await ask('nested:10001');
    expect(over.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect((await over.text()).length).toBe(20_002);
  });

  it('is JSON when it is many small objects', async () => {
    const res = await ask('objects:300000');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect((await res.text()).length).toBe(900_004);
  });
});
