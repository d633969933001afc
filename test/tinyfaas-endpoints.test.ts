/**
 * tinyFaaS clients unchanged against Skiff in tinyFaaS mode: its gRPC service from its own .proto, CoAP
 * and HTTP with its answers (docs/compat/tinyfaas.md).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Agent, request } from 'coap';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINYFAAS_PROTO } from '../src/compat/tinyfaas/grpc.js';
import { fixture, startPlatform, TMP_PREFIX, type TestPlatform } from './helpers/platform.js';
import { waitUntil } from './helpers/wait.js';

type Unary = (
  req: { functionIdentifier: string; data?: string },
  metadata: Metadata,
  callback: (err: ServiceError | null, res?: { response: string }) => void,
) => void;

let scratch = 0;
/** A folder with one fn.sh, for an upload. */
function writeFn(script: string): string {
  const dir = path.join(os.tmpdir(), `${TMP_PREFIX}tf-${process.pid}-${(scratch += 1)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'fn.sh'), script, { mode: 0o755 });
  return dir;
}

describe('tinyFaaS endpoints', () => {
  let p: TestPlatform;
  let tinyfaas: { Request: Unary; close(): void };
  const agent = new Agent();

  const call = (functionIdentifier: string, data?: string, metadata = new Metadata()) =>
    new Promise<{ err: ServiceError | null; response?: string }>((resolve) => {
      tinyfaas.Request(
        { functionIdentifier, ...(data === undefined ? {} : { data }) },
        metadata,
        (err, res) => resolve({ err, ...(res === undefined ? {} : { response: res.response }) }),
      );
    });

  const coap = (name: string, payload: string) =>
    new Promise<{ code: string; payload: Buffer; format: unknown }>((resolve, reject) => {
      const url = new URL(p.server.endpoints['coap'] ?? '');
      const req = request({ hostname: url.hostname, port: Number(url.port), pathname: `/${name}`, agent });
      req.on('response', (res: { code: string; payload: Buffer; headers: Record<string, unknown> }) =>
        resolve({ code: res.code, payload: res.payload, format: res.headers['Content-Format'] }),
      );
      req.on('error', reject);
      req.end(payload);
    });

  beforeAll(async () => {
    p = await startPlatform({ config: { compat: { tinyfaas: { enabled: true } } } });
    // deployed the tinyFaaS way: POST /upload with the folder zipped and base64-encoded (no skiff.json)
    for (const [name, dir, env] of [
      ['echo', 'tf-echo', 'python3'],
      ['echojs', 'tf-echojs', 'nodejs'],
      ['echobinary', 'tf-echobinary', 'binary'],
      ['sieve', 'tf-sieve', 'nodejs'],
      ['headers', 'tf-headers', 'python3'],
      ['headersjs', 'tf-headersjs', 'nodejs'],
      ['pymisc', 'tf-py-misc', 'python3'],
    ] as const) {
      const zip = execFileSync('sh', ['-c', "zip -q -r - . -x skiff.json | base64 | tr -d '\\n'"], {
        cwd: fixture(dir),
      }).toString();
      const res = await fetch(`${p.controlUrl}/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${p.token}` },
        body: JSON.stringify({ name, env, threads: 1, zip }),
      });
      expect(res.status, `${name}: ${await res.text()}`).toBe(200);
    }
    await p.deployAll({ slow: 'tf-slow' });
    const loaded = loadPackageDefinition(loadSync(TINYFAAS_PROTO, { keepCase: true })) as unknown as {
      openfogstack: {
        tinyfaas: { tinyfaas: { TinyFaaS: new (target: string, creds: unknown) => typeof tinyfaas } };
      };
    };
    const target = (p.server.endpoints['grpc'] ?? '').replace('grpc://', '');
    tinyfaas = new loaded.openfogstack.tinyfaas.tinyfaas.TinyFaaS(target, credentials.createInsecure());
  });
  afterAll(async () => {
    tinyfaas.close();
    agent.close();
    await p.stop();
  });

  it('answers tinyFaaS gRPC Request: echo, a call without data, an unknown function', async () => {
    expect(await call('echo', 'Hello World!')).toMatchObject({ err: null, response: 'Hello World!' });
    expect((await call('sieve')).response).toBe('Found 1229 primes under 10000\n');
    const unknown = await call('nosuch', 'x');
    expect(unknown.err?.code).toBe(2);
    expect(unknown.err?.details).toBe('function nosuch not found');
    const failing = await call('pymisc', 'raise');
    expect(failing.err?.code).toBe(2);
    expect(failing.err?.details).toBe('error calling function pymisc');
  });

  it('echoes over HTTP, gRPC and CoAP for each flavor, and answers async calls with 202', async () => {
    for (const name of ['echo', 'echojs', 'echobinary']) {
      expect(await call(name, 'Hello World!'), name).toMatchObject({ err: null, response: 'Hello World!' });
      const h = await p.call(`/${name}`, { method: 'POST', body: 'Hello World!' });
      expect([h.status, await h.text()], name).toEqual([200, 'Hello World!']);
      const c = await coap(name, 'Hello World!');
      expect([c.code, c.payload.toString()], name).toEqual(['2.05', 'Hello World!']);
    }
    const queued = await p.call('/sieve', { headers: { 'X-tinyFaaS-Async': 'true' } });
    expect(queued.status).toBe(202);
    expect(await queued.text()).toBe('');
  });

  it('gives Node functions lower-case header keys and Python ones canonical keys, over HTTP and gRPC', async () => {
    const http = (name: string) =>
      p.call(`/${name}`, { headers: { lab: 'x' } }).then((r) => r.json() as Promise<Record<string, string>>);
    expect(await http('headersjs')).toMatchObject({ lab: 'x' });
    expect(await http('headers')).toMatchObject({ Lab: 'x' });
    const metadata = new Metadata();
    metadata.set('lab', 'y');
    const js = JSON.parse((await call('headersjs', '', metadata)).response ?? '{}') as Record<string, string>;
    expect(js['lab']).toBe('y');
    expect(js['user-agent']).toContain('grpc-node');
  });

  it('passes gRPC metadata as headers in the flavor’s case, with user-agent and authority', async () => {
    const metadata = new Metadata();
    metadata.set('lab', 'x');
    const { response } = await call('headers', '', metadata);
    const headers = JSON.parse(response ?? '{}') as Record<string, string>;
    expect(headers['Lab']).toBe('x');
    expect(headers['User-Agent']).toContain('grpc-node');
    expect(headers['Authority']).toContain('127.0.0.1');
  });

  it('answers CoAP with 2.05 and Content-Format 0, and 4.04 for an unknown function', async () => {
    const echoed = await coap('echo', 'Hello World!');
    expect(echoed.code).toBe('2.05');
    expect(echoed.payload.toString()).toBe('Hello World!');
    expect(echoed.format).toBe('text/plain');
    expect((await coap('nosuch', 'x')).code).toBe('4.04');
  });

  it('re-uploads a function under steady load without a failed request (8)', async () => {
    const zipOf = (reply: string) =>
      execFileSync('sh', ['-c', "zip -q - fn.sh | base64 | tr -d '\\n'"], {
        cwd: writeFn(`#!/bin/sh\necho ${reply}\n`),
      }).toString();
    const upload = (reply: string) =>
      fetch(`${p.controlUrl}/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${p.token}` },
        body: JSON.stringify({ name: 'steady', env: 'binary', threads: 1, zip: zipOf(reply) }),
      });
    expect((await upload('v0')).status).toBe(200);
    let done = false;
    const failures: number[] = [];
    const seen = new Set<string>();
    const deadline = Date.now() + 30_000;
    const loop = async () => {
      while (!done && Date.now() < deadline) {
        const res = await p.call('/steady');
        if (res.status !== 200) failures.push(res.status);
        seen.add((await res.text()).trim());
      }
    };
    const loops = Array.from({ length: 3 }, loop);
    for (const v of ['v1', 'v2', 'v3']) expect((await upload(v)).status).toBe(200);
    // traffic goes on after the last upload until v3 answers too
    await waitUntil('v3 to answer', () => seen.has('v3'), 5_000).catch(() => undefined);
    done = true;
    await Promise.all(loops);
    expect(failures).toEqual([]);
    expect(seen.has('v3')).toBe(true);
  });

  it('answers HTTP failures with 500 and the function’s text, a timeout too', async () => {
    const failed = await p.call('/pymisc', { method: 'POST', body: 'raise' });
    expect(failed.status).toBe(500);
    expect(failed.headers.get('content-type')).toContain('text/plain');
    expect(await failed.text()).toContain('bad');
    const slow = await p.call('/slow', { method: 'POST', body: 'x' });
    expect(slow.status).toBe(500);
  });
});
