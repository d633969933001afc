import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDestination, forbiddenAddress, guardedLookup, outboundRequest } from './outbound.js';

describe('forbiddenAddress', () => {
  it.each([
    '127.0.0.1',
    '127.9.9.9',
    '0.0.0.0',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '::1',
    '::',
    '[::1]',
    'fe80::1%lo',
    'fd00::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '0:0:0:0:0:ffff:7f00:1',
    '0:0:0:0:0:ffff:127.0.0.1',
    '0:0:0:0:0:ffff:a9fe:a9fe',
    '::ffff:0:7f00:1',
    '::7f00:1',
    '64:ff9b::7f00:1',
    '2002:7f00:1::1',
    '224.0.0.1',
  ])('refuses %s', (address) => {
    expect(forbiddenAddress(address)).toBeTypeOf('string');
  });

  it.each(['1.1.1.1', '203.0.113.80', '2606:4700::1111'])('allows %s', (address) => {
    expect(forbiddenAddress(address)).toBeUndefined();
  });

  it('refuses what is not an address', () => {
    expect(forbiddenAddress('example.com')).toBe('not an IP address');
  });
});

describe('checkDestination', () => {
  const strict = { allowPrivate: false };
  it.each([
    'http://127.0.0.1:8080/x',
    'http://[::1]/',
    'http://[0:0:0:0:0:ffff:7f00:1]:1/',
    'http://localhost:1/',
    'http://localhost./',
    'http://intranet./',
    'http://api.localhost/',
    'http://intranet/',
    'http://2130706433/',
    'http://0x7f.1/',
    'file:///etc/passwd',
    'ftp://example.com/',
    'http://user:pw@example.com/',
    'not a url',
  ])('refuses %s with SKIFF_E_FORBIDDEN_DESTINATION', (url) => {
    expect(() => checkDestination(url, 'callback', strict)).toThrow(
      expect.objectContaining({ code: 'SKIFF_E_FORBIDDEN_DESTINATION' }),
    );
  });

  it('accepts a public URL, and a private one when the operator allows it', () => {
    expect(checkDestination('https://example.com/hook', 'callback', strict).hostname).toBe('example.com');
    expect(checkDestination('http://127.0.0.1:1/', 'callback', { allowPrivate: true }).port).toBe('1');
  });
});

describe('outboundRequest', () => {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/target' }).end();
      return;
    }
    res.end('x'.repeat(req.url === '/big' ? 10_000 : 5));
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const req = { method: 'GET', timeoutMs: 5_000, maxResponseBytes: 1_000 } as const;

  it('never connects to loopback under the default policy, by literal or by name', async () => {
    const before = hits;
    await expect(outboundRequest(`${base}/`, 'download', { allowPrivate: false }, req)).rejects.toMatchObject(
      {
        code: 'SKIFF_E_FORBIDDEN_DESTINATION',
      },
    );
    expect(hits).toBe(before);
  });

  it('checks every address DNS gives for a name', async () => {
    const resolve = (name: string, allowPrivate: boolean) =>
      new Promise<unknown>((done) =>
        guardedLookup({ allowPrivate })(name, {}, (err, address) => done(err ?? address)),
      );
    // /etc/hosts names localhost: the literal check never sees it, the lookup does
    await expect(resolve('localhost', false)).resolves.toMatchObject({ code: 'EFORBIDDEN' });
    await expect(resolve('localhost', true)).resolves.toMatch(/^(127\.0\.0\.1|::1)$/);
  });

  it('follows no redirect and caps the answer', async () => {
    const allowed = { allowPrivate: true };
    const redirect = await outboundRequest(`${base}/redirect`, 'download', allowed, req);
    expect(redirect.status).toBe(302);
    const before = hits;
    await expect(outboundRequest(`${base}/big`, 'download', allowed, req)).rejects.toThrow(
      /larger than 1000/,
    );
    expect(hits).toBe(before + 1);
  });
});
