/**
 * Scaleway Functions Python handlers (flavor `scaleway`) deployed unchanged through the control API and
 * called through Skiff's gateway: results as text or JSON and a newline, the response mapping, the
 * event, failures, `package/` imports and prints reaching the logs at once (docs/compat/scaleway.md,
 * acceptance points 2, 3, 4, 5, 7, 8, 14, 16, 17, 23).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { waitUntil } from './helpers/wait.js';

const TEXT = 'text/plain; charset=utf-8';
const NOT_A_FUNCTION = 'Provided Handler does not exist, or does not export methods properly.';
const LOAD_FAILED =
  'Function Handler does not exist, check that you provided the right HANDLER parameter (path to your module with exported function to use)';

describe('Scaleway Python handlers (flavor scaleway)', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({
      scwpy: 'scw-py',
      scwpybroken: 'scw-py-broken',
      scwpyasync: 'scw-py-async',
      scwpybadexport: 'scw-py-badexport',
    });
  }, 120_000);

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  const text = async (route: string, init?: RequestInit) => (await p.call(`/scwpy${route}`, init)).text();

  it('a str result is sent as it is, as text/plain (point 2)', async () => {
    const res = await p.call('/scwpy');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(TEXT);
    expect(await res.text()).toBe('Hello World');
  });

  it('other results are JSON and a newline; records are mapped (points 3, 4, 5, 7)', async () => {
    expect(await text('/true')).toBe('true\n');
    expect(await text('/dict')).toBe('{"x": 1}\n');
    const notFound = await p.call('/scwpy/notfound');
    expect(notFound.status).toBe(404);
    expect(await notFound.text()).toBe('');
    const headers = await p.call('/scwpy/headers');
    expect(headers.headers.get('content-type')).toBe('text/plain');
    expect(headers.headers.get('x-multi')).toBe('a, b');
    expect(await text('/body-number')).toBe('5');
    expect(await text('/body-true')).toBe('true');
    expect(await text('/body-object')).toBe('{"a":2}');
    expect(await text('/b64flag', { method: 'POST', body: 'SGVsbG8gV29ybGQ=' })).toBe('true\n');
    expect(await text('/b64flag', { method: 'POST', body: 'Hello World' })).toBe('null\n');
  });

  it('builds the event: every field, base64 of binary bodies, query last wins (points 8, 9)', async () => {
    const empty = JSON.parse(await text('/event?a=1&a=2')) as Record<string, unknown>;
    expect(empty).toMatchObject({
      resource: '',
      path: '/event',
      httpMethod: 'GET',
      multiValueHeaders: null,
      queryStringParameters: { a: '2' },
      multiValueQueryStringParameters: null,
      pathParameters: null,
      stageVariables: {},
      requestContext: { httpMethod: 'GET', authorizer: null, accountId: '', apiId: '' },
      body: '',
      isBase64Encoded: true,
    });
    expect((empty['headers'] as Record<string, string>)['User-Agent']).toBeDefined();
    const binary = JSON.parse(
      await text('/event', { method: 'POST', body: Buffer.from([0xff, 0xfe, 0xfd]) }),
    ) as Record<string, unknown>;
    expect(binary['isBase64Encoded']).toBe(true);
    expect(binary['body']).toBe('//79');
    // base64 whose bytes are not UTF-8 is not taken for base64 text; query values are decoded
    const notText = JSON.parse(await text('/event?q=a+b%21', { method: 'POST', body: 'gIE=' })) as Record<
      string,
      unknown
    >;
    expect(notText).not.toHaveProperty('isBase64Encoded');
    expect(notText['queryStringParameters']).toEqual({ q: 'a b!' });
    const twice = await new Promise<string>((resolve, reject) => {
      const headers = ['Host', 'localhost', 'X-Twice', 'v1', 'X-Twice', 'v2'];
      const req = http.request(`${p.httpUrl}/scwpy/event`, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      });
      req.on('error', reject);
      req.end();
    });
    expect((JSON.parse(twice) as { headers: Record<string, string> }).headers['X-Twice']).toBe('v1,v2');
  });

  it('a raise is a 500 with its message; code that cannot load answers 500 (points 14, 16)', async () => {
    const res = await p.call('/scwpy/raise');
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe(TEXT);
    expect(await res.text()).toBe('An error occured during handler execution: boom from python\n');
    const broken = await p.call('/scwpybroken');
    expect(broken.status).toBe(500);
    expect(await broken.text()).toBe(`${LOAD_FAILED}\n`);
    const wrong = await p.call('/scwpybadexport');
    expect(wrong.status).toBe(500);
    expect(await wrong.text()).toBe(`${NOT_A_FUNCTION}\n`);
    // the reason is in the function's logs
    await waitUntil('the import error in the logs', async () =>
      (await p.logs('scwpybroken')).some((l) => l.message.includes('broken at import')),
    );
  });

  it('the context holds the memory limit, name and version (point 17)', async () => {
    expect(JSON.parse(await text('/context'))).toEqual({
      memoryLimitInMb: 160,
      functionName: 'scwpy',
      functionVersion: '1',
    });
  });

  it('imports from package/, and a print reaches the logs while the call still runs (point 23)', async () => {
    expect(await text('/dep')).toBe('from package/');
    // the handler prints, then sleeps 3 s before it answers
    let answeredAt: number | undefined;
    const call = p.call('/scwpy/slow-print?tag=t23').then(async (res) => {
      answeredAt = Date.now();
      return res.text();
    });
    const printed = async () =>
      (await p.logs('scwpy')).find((l) => l.message === 'printed before the answer t23');
    await waitUntil('the print in the logs', async () => (await printed()) !== undefined);
    expect(answeredAt).toBeUndefined();
    expect(await call).toBe('slept');
    const line = await printed();
    // logged well before the answer, not flushed with it
    expect(new Date(line?.ts ?? 0).getTime()).toBeLessThan((answeredAt ?? 0) - 1500);
  });

  it('runs an async def named as file.function', async () => {
    const res = await p.call('/scwpyasync', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('async POST');
    const raised = await p.call('/scwpyasync/raise');
    expect(raised.status).toBe(500);
    expect(await raised.text()).toBe('An error occured during handler execution: async boom\n');
  });
});
