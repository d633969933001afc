import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDefaultContentType } from '../src/compat/tinyfaas/http.js';
import { startPlatform, TMP_PREFIX, type TestPlatform } from './helpers/platform.js';
import { quietFor, waitFor, waitUntil } from './helpers/wait.js';

interface CurlReply {
  status: number;
  body: string;
  seconds: number;
}

/** A real curl process, as tinyFaaS's scripts run it; the status and time come from `-w`. */
function curl(args: string[]): Promise<CurlReply> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-s', '-o', '-', '-w', '\n%{http_code} %{time_total}', ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (err, stdout) => {
        if (err) return reject(err);
        const cut = stdout.lastIndexOf('\n');
        const [status, seconds] = stdout.slice(cut + 1).split(' ');
        resolve({ status: Number(status), body: stdout.slice(0, cut), seconds: Number(seconds) });
      },
    );
  });
}

let p: TestPlatform;
let work: string;
let mgmt: string;
let gw: string;
let ports: { http: string; coap: string; grpc: string };

/** Writes a function folder and zips it like upload.sh: `zip -r - ./* | base64 | tr -d '\n'`. */
async function zipB64(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(work, 'fn-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  return execFileSync('sh', ['-c', "zip -q -r - ./* | base64 | tr -d '\\n'"], { cwd: dir }).toString();
}

/** upload.sh's curl line, unchanged but for the host and port. */
async function upload(
  name: string,
  env: string,
  threads: number,
  zip: string,
  extra = '',
): Promise<CurlReply> {
  return curl([
    `${mgmt}/upload`,
    '--data',
    `{"name": "${name}", "env": "${env}", "threads": ${threads}, "zip": "${zip}"${extra}}`,
  ]);
}

const binary = (script: string) => zipB64({ 'fn.sh': `#!/bin/sh\n${script}\n` });
const lines = (name: string) =>
  `http://:${ports.http}/${name}\ncoap://:${ports.coap}/${name}\ngrpc://:${ports.grpc}/${name}\n`;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  // upstream's scripts send no token and download from a local server: both opt-ins of the operator
  p = await startPlatform({
    config: {
      compat: { tinyfaas: { enabled: true, trustLoopback: true } },
      outbound: { allowPrivate: true },
    },
  });
  mgmt = p.controlUrl;
  gw = p.httpUrl;
  const port = (key: string) => new URL(p.server.endpoints[key] as string).port;
  ports = { http: port('http'), coap: port('coap'), grpc: port('grpc') };
}, 60_000);

afterAll(async () => {
  await p?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('tinyFaaS management API', () => {
  it('answers GET / on the management and the invocation port', async () => {
    expect((await curl([`${mgmt}/`])).status).toBeGreaterThanOrEqual(200);
    expect((await curl([`${gw}/`])).status).toBe(404);
  });

  it('uploads a form-encoded python3 function and replies with the empty-host endpoint lines (2)', async () => {
    const zip = await zipB64({
      'fn.py': 'def fn(input, headers):\n    return input\n',
      // the native entry, so that the upload deploys whether or not the bridge knows the tinyFaaS flavor
      'main.py': 'def handle(request, ctx):\n    return request.text()\n',
    });
    const res = await upload('pyecho', 'python3', 1, zip);
    expect(res).toMatchObject({ status: 200, body: lines('pyecho') });
    expect((await curl([`${gw}/pyecho`, '--data', 'x'])).status).not.toBe(404);
  });

  it('uploads a nodejs function (management behaviour only)', async () => {
    const zip = await zipB64({
      'package.json': '{"name":"fn","version":"1.0.0","main":"index.js"}',
      'index.js': 'module.exports = (req, res) => res.send("hi");\n',
    });
    expect(await upload('nodehi', 'nodejs', 2, zip)).toMatchObject({ status: 200, body: lines('nodehi') });
    expect((await curl([`${mgmt}/list`])).body.split('\n')).toContain('nodehi');
  });

  it('refuses wrong methods and bad JSON with 400, bad fields with 500 (3)', async () => {
    expect(await curl([`${mgmt}/upload`])).toMatchObject({ status: 400, body: '' });
    expect(await curl([`${mgmt}/list`, '-X', 'POST'])).toMatchObject({ status: 400, body: '' });
    expect(await curl([`${mgmt}/upload`, '--data', '{"name": '])).toMatchObject({ status: 400, body: '' });
    const zip = await binary('cat');
    expect((await upload('my-fn', 'binary', 1, zip)).status).toBe(500);
    expect((await upload('Echo', 'binary', 1, zip)).status).toBe(500);
    const ruby = await upload('rubyfn', 'ruby', 1, zip);
    expect(ruby.status).toBe(500);
    expect(ruby.body).toMatch(/env/);
    expect((await upload('gofn', 'go', 1, zip)).status).toBe(500);
    expect((await upload('badzip', 'binary', 1, 'not*base64!')).status).toBe(500);
    expect((await upload('badzip', 'binary', 1, Buffer.from('no zip').toString('base64'))).status).toBe(500);
    expect((await curl([`${mgmt}/list`])).body.split('\n')).not.toContain('badzip');
  });

  it('passes envs split at the first = and skips entries without = (4)', async () => {
    const zip = await binary('printf "A=%s BROKEN=%s" "$A" "${BROKEN-unset}"');
    const res = await upload('envs', 'binary', 1, zip, ', "envs": ["A=1=2", "BROKEN"]');
    expect(res.status).toBe(200);
    expect(await curl([`${gw}/envs`])).toMatchObject({ status: 200, body: 'A=1=2 BROKEN=unset' });
  });

  it('invokes by the whole path, ignores the query, answers 404 empty for unknown names (13)', async () => {
    expect((await upload('echo', 'binary', 1, await binary('cat'))).status).toBe(200);
    const ok = await curl([`${gw}/echo`, '--data', 'Hello World!']);
    expect(ok).toMatchObject({ status: 200, body: 'Hello World!' });
    expect(await curl([`${gw}/echo?x=1`, '--data', 'q'])).toMatchObject({ status: 200, body: 'q' });
    expect(await curl([`${gw}//echo`, '--data', 's'])).toMatchObject({ status: 200, body: 's' });
    expect(await curl([`${gw}/echo/x`, '--data', 's'])).toMatchObject({ status: 404, body: '' });
    expect(await curl([`${gw}/nosuch`])).toMatchObject({ status: 404, body: '' });
    // an uploaded fn.sh runs in the tinyfaas flavor, which answers text/plain like upstream
    const type = await fetch(`${gw}/echo`, { method: 'POST', body: 'hi' });
    expect(type.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    // a reply without a type gets text/plain, or octet-stream when it is not UTF-8
    expect(withDefaultContentType([], Buffer.from('hé'))).toEqual([
      ['content-type', 'text/plain; charset=utf-8'],
    ]);
    expect(withDefaultContentType([], Buffer.from([0xff]))).toEqual([
      ['content-type', 'application/octet-stream'],
    ]);
  });

  it('accepts X-tinyFaaS-Async with an empty 202 at once and runs the function once (11, 12)', async () => {
    const zip = await binary('echo "slow call ran" >&2; sleep 2');
    expect((await upload('slow', 'binary', 1, zip)).status).toBe(200);
    const res = await curl([`${gw}/slow`, '-H', 'X-tinyFaaS-Async: true', '--data', 'x']);
    expect(res).toMatchObject({ status: 202, body: '' });
    expect(res.seconds).toBeLessThan(0.1);
    expect(await curl([`${gw}/nosuch`, '-H', 'X-tinyFaaS-Async: true'])).toMatchObject({
      status: 404,
      body: '',
    });
    const runs = async () => (await p.logs('slow')).filter((l) => l.message.includes('slow call ran')).length;
    await waitUntil('the call to run', async () => (await runs()) > 0, 10_000);
    await quietFor(2500, 'the 2 s call ends: it must not run a second time');
    expect(await runs()).toBe(1);
  }, 30_000);

  it('serves logs as function=<name> handler= lines, 500 for an unknown name (7)', async () => {
    expect((await upload('logger', 'binary', 1, await binary('echo "a log line" >&2; cat'))).status).toBe(
      200,
    );
    expect((await curl([`${gw}/logger`, '--data', 'x'])).status).toBe(200);
    const text = await waitFor(
      'the log line on /logs',
      async () => {
        const body = (await curl([`${mgmt}/logs?name=logger`])).body;
        return body.includes('a log line') ? body : undefined;
      },
      2_000,
    );
    const line = text.split('\n').find((l) => l.includes('a log line'));
    expect(line).toMatch(/^function=logger handler=\S+ \S+ a log line$/);
    expect((await curl([`${mgmt}/logs`])).body).toContain('function=logger handler=');
    expect((await curl([`${mgmt}/logs?name=nosuch`])).status).toBe(500);
  });

  describe('uploadURL', () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      const dir = await mkdtemp(path.join(work, 'repo-'));
      await mkdir(path.join(dir, 'repo', 'fns', 'up'), { recursive: true });
      await writeFile(path.join(dir, 'repo', 'fns', 'up', 'fn.sh'), '#!/bin/sh\ntr a-z A-Z\n');
      await writeFile(path.join(dir, 'repo', 'README'), 'not a function\n');
      const zip = execFileSync('zip', ['-q', '-r', '-', 'repo'], { cwd: dir });
      server = createServer((_, res) => res.writeHead(200).end(zip));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('deploys a nested subfolder_path and rejects one with .. (9)', async () => {
      const body = (sub: string) =>
        `{"name": "upurl", "env": "binary", "threads": 1, "url": "${base}/main.zip", "subfolder_path": "${sub}"}`;
      const res = await curl([`${mgmt}/uploadURL`, '--data', body('repo/fns/up')]);
      expect(res).toMatchObject({ status: 200, body: lines('upurl') });
      expect(await curl([`${gw}/upurl`, '--data', 'abc'])).toMatchObject({ status: 200, body: 'ABC' });
      expect((await curl([`${mgmt}/uploadURL`, '--data', body('repo/../repo/fns/up')])).status).toBe(500);
      expect((await curl([`${mgmt}/uploadURL`, '--data', body('/etc')])).status).toBe(500);
    });
  });

  it('deletes a function, then 404; deleting again is 500 (6)', async () => {
    expect((await upload('gone', 'binary', 1, await binary('cat'))).status).toBe(200);
    expect(await curl([`${mgmt}/delete`, '--data', '{"name": "gone"}'])).toMatchObject({
      status: 200,
      body: '',
    });
    expect((await curl([`${gw}/gone`])).status).toBe(404);
    expect((await curl([`${mgmt}/delete`, '--data', '{"name": "gone"}'])).status).toBe(500);
  });

  it('lists each name with a newline, and wipe empties the list (5)', async () => {
    const list = await curl([`${mgmt}/list`]);
    expect(list.status).toBe(200);
    expect(list.body.endsWith('\n')).toBe(true);
    expect(list.body.split('\n')).toEqual(expect.arrayContaining(['echo', 'envs', 'slow']));
    expect(await curl([`${mgmt}/wipe`, '-X', 'POST'])).toMatchObject({ status: 200, body: '' });
    expect(await curl([`${mgmt}/list`])).toMatchObject({ status: 200, body: '' });
  }, 30_000);

  it('keeps the /v1 API behind the admin token', async () => {
    expect((await curl([`${mgmt}/v1/functions`])).status).toBe(401);
  });
});
