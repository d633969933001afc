import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Agent, request, type OptionValue } from 'coap';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { hasCallInFlight } from './helpers/function-status.js';
import { quietFor, waitUntil } from './helpers/wait.js';

const KiB = 1024;
const MAX_PAYLOAD = 12 * KiB;

interface Answer {
  code: string;
  payload: Buffer;
  headers: Record<string, unknown>;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One request with the `coap` package's client: `target` is `/<name>[/rest][?query]`. */
function coapCall(
  agent: Agent,
  base: string,
  target: string,
  init: {
    method?: Method;
    payload?: Buffer | string | undefined;
    confirmable?: boolean;
    options?: Record<string, OptionValue>;
  } = {},
): Promise<Answer> {
  const url = new URL(base);
  const q = target.indexOf('?');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no CoAP answer to ${target}`)), 15_000);
    const req = request({
      hostname: url.hostname,
      port: Number(url.port),
      pathname: q === -1 ? target : target.slice(0, q),
      ...(q === -1 ? {} : { query: target.slice(q + 1) }),
      method: init.method ?? 'GET',
      confirmable: init.confirmable ?? true,
      agent,
      ...(init.options === undefined ? {} : { options: init.options }),
    });
    req.on('response', (res: { code: string; payload: Buffer; headers: Record<string, unknown> }) => {
      clearTimeout(timer);
      resolve({ code: res.code, payload: res.payload, headers: res.headers });
    });
    req.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(init.payload);
  });
}

interface ClientRun {
  /** The response payload (`-o`). */
  payload: Buffer;
  /** What coap-client printed on stderr: the code and payload of a 4.xx/5.xx answer. */
  stderr: string;
  /** The last message received, from the -v 7 log: type, code and options. */
  response: { type: string; code: string; options: string } | undefined;
}

let outputs = 0;

/** Runs Debian's libcoap client (coap-client-notls) with a timeout; `-B` bounds its own wait. */
async function coapClient(dir: string, args: string[]): Promise<ClientRun> {
  const out = path.join(dir, `coap-out-${(outputs += 1)}`);
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      'coap-client-notls',
      ['-B', '10', '-v', '7', '-o', out, ...args],
      { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 },
      (err, so, se) =>
        err !== null ? reject(new Error(`${err.message}\n${se}`)) : resolve({ stdout: so, stderr: se }),
    );
  });
  const received = [
    ...stdout.matchAll(/v:1 t:(CON|NON|ACK|RST) c:(\d\.\d\d) i:[0-9a-f]+ \{[0-9a-f]*\} \[ (.*?) \]/g),
  ]
    .map((m) => ({ type: m[1] as string, code: m[2] as string, options: m[3] as string }))
    .filter((m) => !m.code.startsWith('0.'));
  const payload = await readFile(out).catch(() => Buffer.alloc(0));
  return { payload, stderr, response: received.at(-1) };
}

/** A raw CoAP request datagram (RFC 7252 §3), for what the clients above cannot send. */
function datagram(confirmable: boolean, mid: number, token: Buffer, options: [number, string][]): Buffer {
  const parts = [
    Buffer.from([0x40 | (confirmable ? 0 : 0x10) | token.length, 0x01, mid >> 8, mid & 0xff]),
    token,
  ];
  let last = 0;
  for (const [num, value] of options) {
    // short options only: delta and length below 13
    parts.push(Buffer.from([((num - last) << 4) | Buffer.byteLength(value)]), Buffer.from(value));
    last = num;
  }
  return Buffer.concat(parts);
}

/** Sends datagrams from one socket and collects what comes back for `ms`. */
async function exchange(base: string, datagrams: Buffer[], ms: number): Promise<Buffer[]> {
  const sock = createSocket('udp4');
  const received: Buffer[] = [];
  sock.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  for (const d of datagrams) sock.send(d, Number(new URL(base).port), '127.0.0.1');
  await quietFor(ms, 'every reply that comes back in this window, repeats included');
  sock.close();
  return received;
}

describe('CoAP trigger', () => {
  let p: TestPlatform;
  let base: string;
  let agent: Agent;

  const json = (a: Answer) => JSON.parse(a.payload.toString()) as Record<string, unknown>;
  const logLines = async (name: string, marker: string) =>
    (await p.logs(name)).filter((l) => l.message.includes(marker)).length;

  beforeAll(async () => {
    p = await startPlatform({ config: { coap: { maxPayloadBytes: MAX_PAYLOAD } } });
    base = p.server.endpoints['coap'] as string;
    await p.deployAll({
      echo: 'echo-cjs',
      'py-echo': 'py-echo',
      'bin-echo': 'bin-echo',
      throws: 'throws',
      'respond-as': 'respond-as',
    });
  });

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
  });

  beforeAll(() => {
    agent = new Agent({ type: 'udp4' });
  });
  afterEach(() => {
    agent.close();
    agent = new Agent({ type: 'udp4' });
  });
  afterAll(() => {
    agent.close();
  });

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

  it('moves 8 KiB of random bytes block-wise both ways, running the function once', async () => {
    const bytes = randomBytes(8 * KiB);
    const file = path.join(p.dataDir, 'in-8k.bin');
    await writeFile(file, bytes);
    const before = await logLines('bin-echo', 'echo-marker POST /blocks');
    const cli = await coapClient(p.dataDir, ['-m', 'post', '-f', file, `${base}/bin-echo/blocks`]);
    expect(cli.response?.code).toBe('2.05');
    expect(cli.response?.options).toMatch(/Block2:7\/_\/1024/);
    expect(cli.payload.equals(bytes)).toBe(true);

    // the coap package's client, with Block1 of 1024 bytes
    const node = await coapCall(agent, base, '/bin-echo/blocks', {
      method: 'PUT',
      payload: bytes,
      options: { Block1: Buffer.from([6]) },
    });
    expect(node.code).toBe('2.05');
    expect(node.payload.equals(bytes)).toBe(true);

    // and smaller blocks than the server's (libcoap -b 256)
    const small = await coapClient(p.dataDir, [
      '-m',
      'post',
      '-b',
      '256',
      '-f',
      file,
      `${base}/bin-echo/blocks`,
    ]);
    expect(small.payload.equals(bytes)).toBe(true);

    // each request ran the function once, not once per block
    await waitUntil(
      'both requests to run',
      async () => (await logLines('bin-echo', 'echo-marker POST /blocks')) >= before + 2,
      3_000,
    );
    await quietFor(200, 'no further run for a later block');
    expect(await logLines('bin-echo', 'echo-marker POST /blocks')).toBe(before + 2);
  });

  it('sends a large response to a GET block-wise from one invocation', async () => {
    const cli = await coapClient(p.dataDir, ['-m', 'get', `${base}/respond-as?body=y&repeat=${5 * KiB}`]);
    expect(cli.payload.toString()).toBe('y'.repeat(5 * KiB));
    const file = path.join(p.dataDir, 'in-text.txt');
    await writeFile(file, 'z'.repeat(6 * KiB));
    const echoed = await coapClient(p.dataDir, [
      '-m',
      'post',
      '-t',
      'text/plain',
      '-f',
      file,
      `${base}/echo/big`,
    ]);
    // one JSON document: every block came from the same invocation
    expect(JSON.parse(echoed.payload.toString())).toMatchObject({ body: 'z'.repeat(6 * KiB), path: '/big' });
  });

  it('refuses a payload over coap.maxPayloadBytes with 4.13 and Size1, before the function runs', async () => {
    const file = path.join(p.dataDir, 'in-16k.bin');
    await writeFile(file, randomBytes(16 * KiB));
    const before = await logLines('echo', 'echo called POST /too-big');
    const cli = await coapClient(p.dataDir, ['-m', 'post', '-f', file, `${base}/echo/too-big`]);
    expect(cli.response).toMatchObject({ code: '4.13' });
    expect(cli.response?.options).toContain(`Size1:${MAX_PAYLOAD}`);
    expect(cli.stderr).toContain('4.13 SKIFF_E_PAYLOAD_TOO_LARGE');

    const node = await coapCall(agent, base, '/echo/too-big', {
      method: 'POST',
      payload: randomBytes(MAX_PAYLOAD + 1),
      options: { Block1: Buffer.from([6]) },
    });
    expect(node.code).toBe('4.13');
    expect(node.headers['Size1']).toBe(MAX_PAYLOAD);

    // exactly the limit is fine
    const fits = await coapCall(agent, base, '/bin-echo', {
      method: 'POST',
      payload: Buffer.alloc(MAX_PAYLOAD, 7),
      options: { Block1: Buffer.from([6]) },
    });
    expect(fits.code).toBe('2.05');
    expect(fits.payload.length).toBe(MAX_PAYLOAD);
    await quietFor(200, 'a refused upload must not run the function, not even late');
    expect(await logLines('echo', 'echo called POST /too-big')).toBe(before);
  });

  it('answers 5.03 with Max-Age when the function is saturated', async () => {
    const deployed = await p.deploy('busy', fixture('sleepy'), '?maxInstances=1&concurrency=1&maxQueue=0');
    expect(deployed.status).toBe(201);
    expect((await coapCall(agent, base, '/busy')).code).toBe('2.05'); // warm
    const slow = coapCall(agent, base, '/busy?ms=2500');
    await waitUntil('the slow call to run', () => hasCallInFlight(p, 'busy'), 5_000);
    const other = new Agent({ type: 'udp4' });
    const refused = await coapCall(other, base, '/busy').finally(() => other.close());
    expect(refused.code).toBe('5.03');
    expect(refused.headers['Max-Age']).toBe(1);
    expect(refused.payload.toString()).toMatch(/^SKIFF_E_TOO_MANY_REQUESTS: /);

    const cli = await coapClient(p.dataDir, ['-m', 'get', `${base}/busy`]);
    expect(cli.response).toMatchObject({ code: '5.03' });
    expect(cli.response?.options).toContain('Max-Age:1');

    const done = await slow;
    expect(done.code).toBe('2.05');
    expect(json(done)).toMatchObject({ version: 1 });
  });

  it('answers a ping with a reset, refuses unknown critical options, and survives garbage', async () => {
    const ping = Buffer.from([0x40, 0x00, 0x12, 0x34]); // an empty Confirmable message
    const garbage = [
      Buffer.from([0xff, 0x00, 0x12]), // version 3
      Buffer.from([0x40, 0x01]), // shorter than a header
      Buffer.from([0x4f, 0x01, 0x00, 0x01]), // token length 15
      Buffer.from([0x50, 0x01, 0x00, 0x01, 0xf0]), // option delta 15 without a payload marker
    ];
    const received = await exchange(base, [...garbage, ping], 300);
    expect(received.map((m) => [...m])).toEqual([[0x70, 0x00, 0x12, 0x34]]);

    // option 2055 is odd: critical, and unknown
    const cli = await coapClient(p.dataDir, ['-m', 'get', '-O', '2055,x', `${base}/echo`]);
    expect(cli.response).toMatchObject({ code: '4.02' });
    expect((await coapCall(agent, base, '/echo')).code).toBe('2.05');
  });

  it('runs a retransmitted Confirmable request once', async () => {
    const marker = `dup-${randomBytes(4).toString('hex')}`;
    const request = datagram(true, 0x2345, Buffer.from([0xab]), [
      [11, 'echo'],
      [11, marker],
    ]);
    const replies = await exchange(base, [request, request, request], 800);
    const answers = replies.filter((m) => m[1] === 0x45); // 2.05
    expect(answers.length).toBeGreaterThanOrEqual(1);
    const payloads = new Set(answers.map((m) => m.subarray(m.indexOf(0xff) + 1).toString()));
    expect(payloads.size).toBe(1); // the same invocation each time
    expect(JSON.parse([...payloads][0] as string)).toMatchObject({ path: `/${marker}` });
    await quietFor(200, 'a repeated request must not run the function again, not even late');
    expect(await logLines('echo', `echo called GET /${marker}`)).toBe(1);
  });
});

describe('CoAP trigger stopping', () => {
  it('answers the calls in progress before it closes', async () => {
    const p = await startPlatform();
    const agent = new Agent({ type: 'udp4' });
    try {
      expect((await p.deploy('sleepy', fixture('sleepy'))).status).toBe(201);
      const base = p.server.endpoints['coap'] as string;
      const running = coapCall(agent, base, '/sleepy?ms=800');
      await waitUntil('the call to run', () => hasCallInFlight(p, 'sleepy'), 5_000);
      await p.stop();
      expect((await running).code).toBe('2.05');
    } finally {
      agent.close();
      await p.stop();
      await removeDir(p.dataDir);
    }
  });
});
