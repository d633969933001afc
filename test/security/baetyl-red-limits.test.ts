/**
 * Sizes a Baetyl client or function chooses: the proxy's body limit holds at the byte and for a
 * chunked body of megabytes; a gRPC request or reply over `compat.baetyl.maxMessageBytes` is
 * RESOURCE_EXHAUSTED; a function's error answer of megabytes reaches the client as at most 4 KiB of
 * text (gRPC details, the proxy's JSON), never copied whole; an error text with CR/LF and
 * non-ASCII stays inside its JSON string.
 */
import { request } from 'node:http';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicesFor } from '../../src/compat/baetyl/services.js';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { folderWith } from '../helpers/tmp.js';
import { baetylClients } from './baetyl-red-client.js';

const MAX = 4096;
let p: TestPlatform;
let grpc: ReturnType<typeof baetylClients>;
let proxy: string;
let loudDir: string;

/** Answers 500 with the body the payload asks for (`<n>` bytes of 'e', or a text with CR/LF); `ok<n>`: 200 with n bytes. */
const LOUD = `export default async (request) => {
  const ask = await request.text();
  if (ask.startsWith('ok')) return new Response('o'.repeat(Number(ask.slice(2))));
  const body = ask === 'crlf' ? 'bad\\r\\nx-injected: 1\\n中' : 'e'.repeat(Number(ask));
  return new Response(body, { status: 500 });
};
`;

beforeAll(async () => {
  p = await startPlatform({
    config: { compat: { baetyl: { enabled: true, maxMessageBytes: MAX, proxy: { port: 0 } } } },
  });
  loudDir = await folderWith({ 'index.mjs': LOUD });
  expect((await p.deploy('loud', loudDir)).status).toBe(201);
  expect((await p.deploy('bin', fixture('bin-echo'))).status).toBe(201);
  servicesFor(p.dataDir).set('svc', ['bin', 'loud']);
  proxy = p.server.endpoints['baetyl-proxy'] as string;
  grpc = baetylClients(p);
}, 60_000);

afterAll(async () => {
  grpc?.close();
  await p?.stop();
  if (p !== undefined) await removeDir(p.dataDir);
  if (loudDir !== undefined) await removeDir(loudDir);
});

describe('the proxy body limit', () => {
  it('takes a body of exactly maxMessageBytes and refuses one byte more', async () => {
    const at = await fetch(`${proxy}/svc/bin`, { method: 'POST', body: 'a'.repeat(MAX) });
    expect(at.status).toBe(200);
    expect((await at.text()).length).toBe(MAX);
    const over = await fetch(`${proxy}/svc/bin`, { method: 'POST', body: 'a'.repeat(MAX + 1) });
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ errCode: 'ERR_BODY_TOO_LARGE' });
  });

  it('refuses a chunked body of megabytes without reading it all', async () => {
    const { hostname, port } = new URL(proxy);
    const answer = await new Promise<number>((resolve, reject) => {
      const req = request({ hostname, port, method: 'POST', path: '/svc/bin' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => undefined);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = (): void => {
        while (sent < 64 * 1024 * 1024 && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
      setTimeout(() => reject(new Error('no answer')), 20_000).unref();
    });
    expect(answer).toBe(413);
  });
});

describe('gRPC messages at the limit', () => {
  it('refuses a request over maxMessageBytes', async () => {
    const answer = await grpc.call('baetyl', { FunctionName: 'bin', Payload: Buffer.alloc(MAX + 1) });
    expect(answer.err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(answer.err?.details).toMatch(/^Received message larger than max \(\d+ vs\. 4096\)$/);
  });

  it('refuses a reply over maxMessageBytes', async () => {
    const answer = await grpc.call('baetyl', { FunctionName: 'loud', Payload: Buffer.from(`ok${MAX}`) });
    expect(answer.err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(answer.err?.details).toMatch(/^Sent message larger than max \(\d+ vs\. 4096\)$/);
  });
});

describe("a function's error answer of megabytes", () => {
  it('reaches a gRPC client as at most 4 KiB of details', async () => {
    const answer = await grpc.call('faas', {
      Metadata: { functionName: 'loud' },
      Payload: Buffer.from('3000000'),
    });
    expect(answer.err?.code).toBe(status.UNKNOWN);
    expect(answer.err?.details).toBe('e'.repeat(4096));
  });

  it('reaches a proxy client as at most 4 KiB of text in its JSON', async () => {
    const res = await fetch(`${proxy}/svc/loud`, { method: 'POST', body: '3000000' });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { message: string };
    expect(body.message).toBe(`rpc error: code = Unknown desc = ${'e'.repeat(4096)}`);
  });

  it('keeps CR/LF and non-ASCII inside the JSON string', async () => {
    const res = await fetch(`${proxy}/svc/loud`, { method: 'POST', body: 'crlf' });
    expect(res.headers.get('x-injected')).toBeNull();
    expect(((await res.json()) as { message: string }).message).toBe(
      'rpc error: code = Unknown desc = bad\r\nx-injected: 1\n中',
    );
    const answer = await grpc.call('faas', {
      Metadata: { functionName: 'loud' },
      Payload: Buffer.from('crlf'),
    });
    expect(answer.err?.details).toBe('bad\r\nx-injected: 1\n中');
    expect(answer.err?.metadata.get('x-injected')).toEqual([]);
  });
});
