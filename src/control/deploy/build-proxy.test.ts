import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuthority, startBuildProxy, type BuildProxy } from './build-proxy.js';

/** Sends `request` to the proxy and returns the first line of its answer. */
function ask(socket: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = net.connect(socket);
    let got = '';
    client.on('connect', () => client.write(request));
    client.on('data', (chunk: Buffer) => {
      got += chunk.toString('latin1');
      if (got.includes('\r\n')) {
        client.destroy();
        resolve(got.split('\r\n')[0] ?? '');
      }
    });
    client.on('error', reject);
    client.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
  });
}

describe('build proxy', () => {
  let dir: string;
  let socket: string;
  let proxy: BuildProxy;
  let target: net.Server;
  let targetPort: number;
  const notes: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-test-'));
    socket = path.join(dir, 'proxy.sock');
    proxy = await startBuildProxy(socket, { policy: { allowPrivate: false }, note: (l) => notes.push(l) });
    target = net.createServer((s) => s.end('secret'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    targetPort = (target.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await proxy.close();
    await new Promise((r) => target.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses CONNECT to loopback, private and link-local addresses and names that resolve there', async () => {
    for (const where of [
      `127.0.0.1:${targetPort}`,
      `localhost:${targetPort}`,
      `[::1]:${targetPort}`,
      '10.0.0.1:443',
      '169.254.169.254:80',
      '[::ffff:127.0.0.1]:80',
      '[0:0:0:0:0:ffff:7f00:1]:80',
      '[0:0:0:0:0:ffff:127.0.0.1]:80',
    ]) {
      expect(await ask(socket, `CONNECT ${where} HTTP/1.1\r\nhost: ${where}\r\n\r\n`), where).toMatch(
        /^HTTP\/1\.1 403/,
      );
    }
    expect(notes.some((n) => n.includes('loopback'))).toBe(true);
  });

  it('accepts only CONNECT with host:port, and bounds the request head', async () => {
    expect(await ask(socket, `GET http://127.0.0.1:${targetPort}/ HTTP/1.1\r\n\r\n`)).toMatch(
      /^HTTP\/1\.1 405/,
    );
    expect(await ask(socket, 'CONNECT nohostport HTTP/1.1\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await ask(socket, `CONNECT a:1 HTTP/1.1\r\nx: ${'y'.repeat(10_000)}`)).toMatch(/^HTTP\/1\.1 431/);
  });

  it('tunnels to a private address only when the operator allows it', async () => {
    const open = path.join(dir, 'open.sock');
    const allowing = await startBuildProxy(open, { policy: { allowPrivate: true } });
    try {
      const got = await new Promise<string>((resolve, reject) => {
        const client = net.connect(open);
        let text = '';
        client.on('connect', () => client.write(`CONNECT 127.0.0.1:${targetPort} HTTP/1.1\r\n\r\n`));
        client.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        client.on('close', () => resolve(text));
        client.on('error', reject);
      });
      expect(got).toBe('HTTP/1.1 200 Connection Established\r\n\r\nsecret');
    } finally {
      await allowing.close();
    }
  });

  it('parses authorities', () => {
    expect(parseAuthority('registry.npmjs.org:443')).toEqual({ host: 'registry.npmjs.org', port: 443 });
    expect(parseAuthority('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseAuthority('a:0')).toBeUndefined();
    expect(parseAuthority('a:99999')).toBeUndefined();
    expect(parseAuthority('a b:1')).toBeUndefined();
  });
});
