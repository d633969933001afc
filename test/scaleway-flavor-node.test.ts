/**
 * Scaleway Functions Node handlers (flavor `scaleway`) deployed unchanged through the control API and
 * called through Skiff's gateway: the event and context, the response mapping, first result wins,
 * failures and load failures (docs/compat/scaleway.md, acceptance points 1, 3–6, 8, 9, 14–17).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';

const TEXT = 'text/plain; charset=utf-8';
const LOAD_FAILED =
  'Function Handler does not exist, check that you provided the right HANDLER parameter (path to your module with exported function to use)';
const NOT_A_FUNCTION = 'Provided Handler does not exist, or does not export methods properly.';

/** One raw request with repeated headers (fetch joins them with ", "). */
function rawGet(url: string, headers: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Scaleway Node handlers (flavor scaleway)', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await startPlatform();
    await p.deployAll({
      scwnode: 'scw-node',
      scwesm: 'scw-node-esm',
      scwbadexport: 'scw-node-badexport',
      scwloadfail: 'scw-node-loadfail',
      caller: 'call-node',
      named: 'node-named-export',
      namedts: 'node-named-ts',
    });
  }, 120_000);

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  async function eventOf(route: string, init?: RequestInit): Promise<Record<string, unknown>> {
    const res = await p.call(`/scwnode/event${route}`, init);
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  it('answers {body} for GET and for POST with JSON (point 1)', async () => {
    const get = await p.call('/scwnode');
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe(TEXT);
    expect(await get.text()).toBe('Hello from a GET request');
    const post = await p.call('/scwnode', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(await post.text()).toBe('Hello from a POST request');
  });

  it('maps statusCode, headers with array values and every kind of body (points 3, 4, 5)', async () => {
    const notFound = await p.call('/scwnode/notfound');
    expect(notFound.status).toBe(404);
    expect(await notFound.text()).toBe('');
    const headers = await p.call('/scwnode/headers');
    expect(headers.headers.get('content-type')).toBe('text/plain');
    expect(headers.headers.get('x-multi')).toBe('a, b');
    expect(headers.headers.get('x-one')).toBe('one');
    expect(await headers.text()).toBe('x');
    const bodies: Record<string, string> = {
      'body-number': '5',
      'body-true': 'true',
      'body-spaces': 'this is a string   ',
      'body-object': '{"a":2}',
    };
    for (const [route, want] of Object.entries(bodies)) {
      const res = await p.call(`/scwnode/${route}`);
      expect(res.status, route).toBe(200);
      expect(await res.text(), route).toBe(want);
    }
  });

  it('decodes a base64 body to its bytes; invalid base64 is a 500 (point 6)', async () => {
    const res = await p.call('/scwnode/base64');
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(
      Buffer.from(Array.from({ length: 16 }, (_, i) => 0x80 + i)),
    );
    const invalid = await p.call('/scwnode/base64-invalid');
    expect(invalid.status).toBe(500);
    expect(await invalid.text()).toContain('An error occured during handler execution: ');
  });

  it('builds the event: every field, query last wins, repeated headers joined (points 8, 9)', async () => {
    const event = await eventOf('?a=1&a=2&b=x%20y', { headers: { 'x-custom': 'yes' } });
    expect(event).toMatchObject({
      resource: '',
      path: '/event',
      httpMethod: 'GET',
      multiValueHeaders: null,
      queryStringParameters: { a: '2', b: 'x y' },
      multiValueQueryStringParameters: null,
      pathParameters: null,
      stageVariables: {},
      requestContext: {
        accountId: '',
        resourceId: '',
        stage: '',
        requestId: '',
        resourcePath: '',
        authorizer: null,
        httpMethod: 'GET',
        apiId: '',
      },
      body: '',
      isBase64Encoded: true,
    });
    const headers = event['headers'] as Record<string, string>;
    expect(headers['X-Custom']).toBe('yes');
    expect(headers['User-Agent']).toBeDefined();
    expect(Object.keys(await eventOf(''))).toEqual(
      expect.arrayContaining(['resource', 'path', 'httpMethod', 'headers', 'body', 'requestContext']),
    );
    expect((await eventOf(''))['queryStringParameters']).toEqual({});

    const twice = await rawGet(`${p.httpUrl}/scwnode/event`, [
      'Host',
      'localhost',
      'X-Twice',
      'v1',
      'X-Twice',
      'v2',
    ]);
    expect(twice.status, twice.body).toBe(200);
    expect((JSON.parse(twice.body) as { headers: Record<string, string> }).headers['X-Twice']).toBe('v1,v2');
  });

  it('sets isBase64Encoded by the body: text, base64 text, binary (point 8)', async () => {
    const text = await eventOf('', { method: 'POST', body: 'Hello World' });
    expect(text['body']).toBe('Hello World');
    expect(text).not.toHaveProperty('isBase64Encoded');
    const b64 = await eventOf('', { method: 'POST', body: Buffer.from('hi there').toString('base64') });
    expect(b64['isBase64Encoded']).toBe(true);
    const binary = await eventOf('', { method: 'POST', body: Buffer.from([0xff, 0xfe, 0xfd]) });
    expect(binary['isBase64Encoded']).toBe(true);
    expect(binary['body']).toBe(Buffer.from([0xff, 0xfe, 0xfd]).toString('base64'));
    // base64 whose bytes are not UTF-8 is not taken for base64 text
    const notText = await eventOf('', { method: 'POST', body: 'gIE=' });
    expect(notText).not.toHaveProperty('isBase64Encoded');
  });

  it('a throw, a rejection and callback(err) are 500 with the message (point 14)', async () => {
    for (const [route, message] of [
      ['throw', 'boom from a throw'],
      ['reject', 'boom from a rejection'],
      ['callback-error', 'boom from the callback'],
    ] as const) {
      const res = await p.call(`/scwnode/${route}`);
      expect(res.status, route).toBe(500);
      expect(res.headers.get('content-type')).toBe(TEXT);
      expect(await res.text(), route).toBe(`An error occured during handler execution: ${message}\n`);
    }
  });

  it('the first result wins; a number is its decimal string; a later callback answers (point 15)', async () => {
    expect(await (await p.call('/scwnode/callback-first')).text()).toBe('callback won');
    expect(await (await p.call('/scwnode/return-first')).text()).toBe('return won');
    const later = await p.call('/scwnode/callback-later');
    expect(later.status).toBe(201);
    expect(await later.text()).toBe('called back');
    const number = await p.call('/scwnode/number');
    expect(number.status).toBe(200);
    expect(await number.text()).toBe('42');
    expect(await (await p.call('/scwnode/array')).text()).toBe('[1,"two"]');
  });

  it('loads an ES module exporting { handle } (point 15)', async () => {
    const res = await p.call('/scwesm', { method: 'PUT' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('esm PUT scwesm');
  });

  it('a wrong export name or a module that cannot load deploys, and every call is a 500 (point 16)', async () => {
    for (let i = 0; i < 2; i++) {
      const wrong = await p.call('/scwbadexport');
      expect(wrong.status).toBe(500);
      expect(await wrong.text()).toBe(`${NOT_A_FUNCTION}\n`);
      const broken = await p.call('/scwloadfail');
      expect(broken.status).toBe(500);
      expect(await broken.text()).toBe(`${LOAD_FAILED}\n`);
    }
  });

  it('the context holds the memory limit, name and version (point 17)', async () => {
    const res = await p.call('/scwnode/context');
    expect(await res.json()).toEqual({ memoryLimitInMb: 192, functionName: 'scwnode', functionVersion: '1' });
  });

  it('another function reaches it with ctx.call', async () => {
    const res = await p.call('/caller/ping?peer=scwnode', { method: 'POST', body: 'hi' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('pong POST hi');
  });

  it("a native function's handler may name an export, as the flavor's does (file:export)", async () => {
    expect(await (await p.call('/named', { method: 'POST' })).text()).toBe('greet POST');
    expect(await (await p.call('/namedts')).text()).toBe('typed GET');
  });
});
