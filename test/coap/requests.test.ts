/**
 * The CoAP trigger, request and answer: what a function sees of a CoAP request (method, path, query,
 * Content-Format, CON or NON) from the `coap` package's client and from libcoap's coap-client, and
 * how its answer maps back (Content-Format, status codes, errors).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Agent } from 'coap';
import { describe, expect, it } from 'vitest';
import type { TestPlatform } from '../helpers/platform.js';
import { agentPerTest, coapCall, coapClient, json, platformForFile, type Method } from './setup.js';

describe('CoAP trigger', () => {
  let p: TestPlatform;
  let base: string;
  let agent: Agent;

  platformForFile(
    {
      echo: 'echo-cjs',
      'py-echo': 'py-echo',
      'bin-echo': 'bin-echo',
      throws: 'throws',
      'respond-as': 'respond-as',
    },
    (started) => ({ p, base } = started),
  );
  agentPerTest((a) => (agent = a));

  it('listens on a UDP port of its own, named in endpoints.json', async () => {
    expect(base).toMatch(/^coap:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(base).port)).toBeGreaterThan(0);
    const endpoints = JSON.parse(await readFile(path.join(p.dataDir, 'endpoints.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(endpoints['coap']).toBe(base);
  });

  it('passes method, path below the name, query, Content-Format and payload to a Node function', async () => {
    const res = await coapCall(agent, base, '/echo/a b/c?x=1&y=two', {
      method: 'POST',
      payload: 'hello',
      options: { 'Content-Format': 'text/plain', Accept: 'application/json' },
    });
    expect(res.code).toBe('2.05');
    expect(res.headers['Content-Format']).toBe('application/json');
    const echo = json(res);
    expect(echo).toMatchObject({
      method: 'POST',
      path: '/a%20b/c',
      query: '?x=1&y=two',
      body: 'hello',
      function: 'echo',
    });
    expect(echo['invocationId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(echo['headers']).toMatchObject({
      'content-type': 'text/plain;charset=utf-8',
      accept: 'application/json',
      'x-coap-content-format': '0',
      'x-coap-type': 'CON',
    });
  });

  it('serves GET, PUT and DELETE, and /<name> alone with path /', async () => {
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const res = await coapCall(agent, base, '/echo', {
        method,
        payload: method === 'PUT' ? 'put' : undefined,
      });
      expect(res.code).toBe('2.05');
      expect(json(res)).toMatchObject({ method, path: '/', query: '', body: method === 'PUT' ? 'put' : '' });
    }
  });

  it('answers non-confirmable requests with the same result', async () => {
    const res = await coapCall(agent, base, '/echo/non?n=1', {
      method: 'POST',
      payload: 'quiet',
      confirmable: false,
    });
    expect(res.code).toBe('2.05');
    expect(json(res)).toMatchObject({ method: 'POST', path: '/non', query: '?n=1', body: 'quiet' });
    expect((json(res)['headers'] as Record<string, string>)['x-coap-type']).toBe('NON');

    const run = await coapClient(p.dataDir, ['-N', '-m', 'get', `${base}/py-echo/q?a=b`]);
    expect(run.response).toMatchObject({ type: 'NON', code: '2.05' });
    expect(JSON.parse(run.payload.toString())).toMatchObject({
      method: 'GET',
      path: '/q',
      query: { a: 'b' },
    });
  });

  it('invokes Python and binary functions, from both clients', async () => {
    const py = await coapCall(agent, base, '/py-echo/p?k=v&k=w', {
      method: 'PUT',
      payload: '{"n":1}',
      options: { 'Content-Format': 'application/json' },
    });
    expect(py.code).toBe('2.05');
    expect(json(py)).toMatchObject({
      method: 'PUT',
      path: '/p',
      query_string: 'k=v&k=w',
      query_all: { k: ['v', 'w'] },
      json: { n: 1 },
      trigger: 'coap',
      function: 'py-echo',
    });

    const bin = await coapCall(agent, base, '/bin-echo', { method: 'POST', payload: 'raw bytes' });
    expect(bin.code).toBe('2.05');
    expect(bin.payload.toString()).toBe('raw bytes');

    const cli = await coapClient(p.dataDir, [
      '-m',
      'post',
      '-e',
      'hello',
      '-t',
      'text/plain',
      `${base}/bin-echo`,
    ]);
    expect(cli.response).toMatchObject({ type: 'ACK', code: '2.05' });
    expect(cli.payload.toString()).toBe('hello');

    const pyCli = await coapClient(p.dataDir, [
      '-m',
      'post',
      '-e',
      'hi',
      '-t',
      'text/plain',
      `${base}/py-echo`,
    ]);
    expect(JSON.parse(pyCli.payload.toString())).toMatchObject({
      method: 'POST',
      body: 'hi',
      headers: { 'content-type': 'text/plain;charset=utf-8' },
    });
    expect(pyCli.response?.options).toContain('Content-Format:application/json');
  });

  it('maps Content-Format to content-type on the way in', async () => {
    const formats: [number, string][] = [
      [0, 'text/plain;charset=utf-8'],
      [40, 'application/link-format'],
      [41, 'application/xml'],
      [42, 'application/octet-stream'],
      [50, 'application/json'],
      [60, 'application/cbor'],
    ];
    for (const [format, type] of formats) {
      const res = await coapCall(agent, base, '/echo', {
        method: 'POST',
        payload: 'x',
        options: { 'Content-Format': Buffer.from([format]) },
      });
      expect((json(res)['headers'] as Record<string, string>)['content-type']).toBe(type);
    }
    // a number without a media type of its own
    const odd = await coapCall(agent, base, '/echo', {
      method: 'POST',
      payload: 'x',
      options: { 'Content-Format': Buffer.from([0x2b, 0x67]) },
    });
    expect(json(odd)['headers']).toMatchObject({
      'content-type': 'application/octet-stream',
      'x-coap-content-format': '11111',
    });
  });

  it('maps content-type to Content-Format on the way out, unknown types to 42', async () => {
    const cases: [string, string | number][] = [
      ['text/plain; charset=utf-8', 'text/plain'],
      ['application/link-format', 'application/link-format'],
      ['application/xml', 'application/xml'],
      ['application/octet-stream', 'application/octet-stream'],
      ['application/json; charset=utf-8', 'application/json'],
      ['application/cbor', 'application/cbor'],
      ['image/png', 'application/octet-stream'],
      ['text/plain; charset=iso-8859-1', 'application/octet-stream'],
    ];
    for (const [type, format] of cases) {
      const res = await coapCall(agent, base, `/respond-as?type=${type}`);
      expect(res.code).toBe('2.05');
      expect([type, res.headers['Content-Format']]).toEqual([type, format]);
    }
    const cli = await coapClient(p.dataDir, ['-m', 'get', `${base}/respond-as?type=application/cbor`]);
    expect(cli.response?.options).toContain('Content-Format:application/cbor');
  });

  it("maps the function's status onto CoAP codes", async () => {
    const cases: [number, Method, string][] = [
      [200, 'POST', '2.05'],
      [201, 'POST', '2.01'],
      [204, 'POST', '2.04'],
      [204, 'PUT', '2.04'],
      [204, 'DELETE', '2.02'],
      [204, 'GET', '2.05'],
      [400, 'GET', '4.00'],
      [401, 'GET', '4.01'],
      [403, 'GET', '4.03'],
      [404, 'GET', '4.04'],
      [405, 'GET', '4.05'],
      [413, 'GET', '4.13'],
      [415, 'GET', '4.15'],
      [418, 'GET', '4.00'],
      [500, 'GET', '5.00'],
      [501, 'GET', '5.01'],
      [502, 'GET', '5.02'],
      [503, 'GET', '5.03'],
      [504, 'GET', '5.04'],
      [507, 'GET', '5.00'],
    ];
    for (const [status, method, code] of cases) {
      const res = await coapCall(agent, base, `/respond-as?status=${status}&body=s${status}`, { method });
      expect([status, method, res.code]).toEqual([status, method, code]);
      if (status !== 204) expect(res.payload.toString()).toBe(`s${status}`);
    }
    // a redirect has no CoAP code: the platform answers for the function
    const redirect = await coapCall(agent, base, '/respond-as?status=302&location=/elsewhere');
    expect(redirect.code).toBe('5.00');
    expect(redirect.payload.toString()).toMatch(/^SKIFF_E_BAD_RESPONSE: /);
    // 2.01 carries the location; cache-control max-age becomes Max-Age
    const created = await coapCall(agent, base, '/respond-as?status=201&location=/made/7&cache=max-age=30');
    expect(created.code).toBe('2.01');
    expect(created.headers['Max-Age']).toBe(30);
    const cli = await coapClient(p.dataDir, ['-m', 'post', `${base}/respond-as?status=201&location=/made/7`]);
    expect(cli.response).toMatchObject({ code: '2.01' });
    expect(cli.response?.options).toMatch(/Location-Path:made, Location-Path:7/);
  });

  it('answers 4.04 for an unknown function and for no name at all', async () => {
    const res = await coapCall(agent, base, '/nope/x');
    expect(res.code).toBe('4.04');
    expect(res.headers['Content-Format']).toBe('text/plain');
    expect(res.payload.toString()).toBe(
      'SKIFF_E_FUNCTION_NOT_FOUND: no function named "nope"; deploy it first',
    );
    expect((await coapCall(agent, base, '/')).code).toBe('4.04');
    expect((await coapCall(agent, base, '/Not_A_Name')).code).toBe('4.04');

    const cli = await coapClient(p.dataDir, ['-m', 'get', `${base}/nope`]);
    expect(cli.response).toMatchObject({ code: '4.04' });
    expect(cli.stderr).toContain('4.04 SKIFF_E_FUNCTION_NOT_FOUND');
  });

  it('answers 5.00 with the error code, not the stack, when the function throws', async () => {
    const res = await coapCall(agent, base, '/throws', { method: 'POST', payload: 'x' });
    expect(res.code).toBe('5.00');
    const text = res.payload.toString();
    expect(text).toMatch(/^SKIFF_E_FUNCTION_ERROR: /);
    expect(text).not.toContain('stack-marker-7731');
    expect(text).not.toContain('index.mjs');

    const cli = await coapClient(p.dataDir, ['-m', 'get', `${base}/throws`]);
    expect(cli.response).toMatchObject({ code: '5.00' });
    expect(cli.stderr).toContain('5.00 SKIFF_E_FUNCTION_ERROR');
  });
});
