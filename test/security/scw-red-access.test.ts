/**
 * Private functions (skiff.json `access.private`) against a caller without a (good) token, a caller of
 * the control API and a damaged data directory: methods and paths around the check, token headers in
 * every case and number, JWT header tricks (alg confusion with the public key, embedded keys, crit,
 * unencoded payloads, nested tokens), tokens of another platform, minting and revocation edges.
 */
import http from 'node:http';
import { cp, mkdtemp, readFile, rm, writeFile, chmod, stat } from 'node:fs/promises';
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CompactSign, exportJWK, FlattenedSign, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from '../helpers/platform.js';
import { waitUntil } from '../helpers/wait.js';

/** A raw request (the path is sent as written), answering status and body. */
function raw(
  base: string,
  method: string,
  rawPath: string,
  headers: Record<string, string> | string[] = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: rawPath, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('private functions against hostile callers', () => {
  let p: TestPlatform;
  const dirs: string[] = [];
  let signingKey: ReturnType<typeof createPrivateKey>;
  let namespaceId: string;
  let good: string;

  const deployPrivate = async (name: string): Promise<void> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'skiff-test-scw-red-'));
    dirs.push(dir);
    await cp(fixture('scw-red-node'), dir, { recursive: true });
    await writeFile(
      path.join(dir, 'skiff.json'),
      JSON.stringify({ runtime: 'node', flavor: 'scaleway', access: { private: true } }),
    );
    const res = await p.deploy(name, dir);
    expect(res.status, await res.text()).toBe(201);
  };

  const mint = async (name: string, body: unknown = {}): Promise<Response> =>
    p.api(`/v1/functions/${name}/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const tokenFor = async (name: string, body: unknown = {}): Promise<string> => {
    const res = await mint(name, body);
    expect(res.status).toBe(201);
    return ((await res.json()) as { token: string }).token;
  };
  const status = async (token: string, name = 'vault'): Promise<number> => {
    const res = await p.call(`/${name}/ok`, { headers: { 'X-Auth-Token': token } });
    await res.arrayBuffer();
    return res.status;
  };
  const nsClaim = () => [{ namespace_id: namespaceId, application_id: '' }];

  beforeAll(async () => {
    p = await startPlatform();
    await deployPrivate('vault');
    await deployPrivate('other');
    await p.deployAll({ open: 'scw-red-node' });
    signingKey = createPrivateKey(await readFile(path.join(p.dataDir, 'access', 'signing-key.pem')));
    namespaceId = (await readFile(path.join(p.dataDir, 'access', 'namespace-id'), 'utf8')).trim();
    good = await tokenFor('vault');
    expect(await status(good)).toBe(200);
  }, 90_000);

  afterAll(async () => {
    await p.stop();
    await removeDir(p.dataDir);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('refuses every method without a token, the preflight and the favicon included', async () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH']) {
      expect((await raw(p.httpUrl, method, '/vault/ok')).status, method).toBe(403);
    }
    expect((await raw(p.httpUrl, 'GET', '/vault/favicon.ico')).status).toBe(403);
    expect((await raw(p.httpUrl, 'OPTIONS', '/vault/', { Origin: 'http://evil' })).status).toBe(403);
  });

  it('gives no path around the check (encoding, case, dot segments, doubled slashes)', async () => {
    for (const trick of [
      '/vault/whoami',
      '/vault/whoami?x=1',
      '//vault/whoami',
      '/%76ault/whoami',
      '/VAULT/whoami',
      '/./vault/whoami',
      '/open/../vault/whoami',
      '/vault%2fwhoami',
      '/vault;x/whoami',
      'http://127.0.0.1/vault/whoami',
    ]) {
      const { status: got, body } = await raw(p.httpUrl, 'GET', trick);
      // a 200 is only the public function's (which sees the rest as its path), never vault's
      if (got === 200) expect(body, trick).not.toBe('vault');
    }
  });

  it('checks the token before any Scaleway rule answers (SCW_TRIGGER_TYPE mqtt, a body too large)', async () => {
    expect((await raw(p.httpUrl, 'POST', '/vault/ok', { SCW_TRIGGER_TYPE: 'mqtt' })).status).toBe(403);
    expect((await raw(p.httpUrl, 'POST', '/vault/ok', { 'content-length': '999999999' })).status).toBe(403);
  });

  it('answers a chunked body over the limit with 413 and the Scaleway text, without a Content-Length', async () => {
    const url = new URL(p.httpUrl);
    const send = () =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: '/open/ok',
            headers: { 'transfer-encoding': 'chunked' },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
            );
          },
        );
        req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
        req.on('error', (err) =>
          err.message === 'timed out' ? reject(err) : resolve({ status: -1, body: err.message }),
        );
        const chunk = Buffer.alloc(256 * 1024, 0x61);
        // 8 MiB in 32 chunks, over the 6 MiB limit; the server may stop reading early
        let sent = 0;
        const pump = () => {
          while (sent < 32) {
            sent += 1;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
    // the server may reset the upload before its answer is read: up to three tries for the answer
    let got = await send();
    for (let tries = 1; got.status === -1 && tries < 3; tries += 1) got = await send();
    expect(got.status).toBe(413);
    expect(got.body).toMatch(/^Request payload too large, max payload size = \d+ bytes\n$/);
  }, 30_000);

  it('never runs an async call without a token', async () => {
    const res = await p.call('/vault/ok', { method: 'POST', headers: { 'X-Skiff-Async': 'true' } });
    expect(res.status).toBe(403);
  });

  it('reads only the first token header: a bad one first is not rescued by a good one after', async () => {
    expect(await status(good)).toBe(200);
    for (const headers of [
      ['X-Auth-Token', 'junk', 'SCW-Functions-Token', good],
      ['X-AUTH-TOKEN', 'junk', 'Authorization', `Bearer ${good}`],
      ['X-Auth-Token', 'junk', 'X-Auth-Token', good],
      ['SCW-Functions-Token', 'junk', 'Authorization', `Bearer ${good}`],
      ['X-Auth-Token', `${good} ${good}`],
      ['Authorization', `Bearer ${good} x`],
      ['Authorization', `Basic ${good}`],
    ]) {
      expect((await raw(p.httpUrl, 'GET', '/vault/ok', headers)).status, headers.join(' ')).not.toBe(200);
    }
  });

  it('refuses huge tokens without harm, and still answers', async () => {
    expect((await raw(p.httpUrl, 'GET', '/vault/ok', { 'X-Auth-Token': 'a'.repeat(12_000) })).status).toBe(
      401,
    );
    const huge = await raw(p.httpUrl, 'GET', '/vault/ok', {
      'X-Auth-Token': `${good}.${'a'.repeat(100_000)}`,
    }).catch(() => ({ status: 0, body: '' }));
    expect(huge.status).not.toBe(200);
    expect(await status(good)).toBe(200);
  });

  it('refuses HS256 signed with the public key (alg confusion) in either PEM form', async () => {
    const info = (await (await p.api('/v1/access')).json()) as { publicKey: string; publicKeySpki: string };
    for (const pem of [info.publicKey, info.publicKeySpki]) {
      const forged = await new SignJWT({ application_claim: nsClaim() })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(new TextEncoder().encode(pem));
      expect(await status(forged)).toBe(401);
    }
    // and the public key route needs the admin token
    expect((await fetch(`${p.controlUrl}/v1/access`)).status).toBe(401);
  });

  it('ignores keys a token brings (jwk, jku, x5u, kid) and tokens of another key', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    for (const extra of [
      { jwk },
      { jku: 'http://127.0.0.1:1/keys' },
      { x5u: 'http://127.0.0.1:1/x' },
      { kid: '0' },
    ]) {
      const forged = await new SignJWT({ application_claim: nsClaim() })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...extra })
        .sign(privateKey);
      expect(await status(forged), Object.keys(extra).join()).toBe(401);
    }
  });

  it('refuses crit, an unencoded payload and a nested token, even when signed with the platform key', async () => {
    const crit = await new SignJWT({ application_claim: nsClaim() })
      .setProtectedHeader({ alg: 'RS256', crit: ['x-ext'], 'x-ext': 1 } as never)
      .sign(signingKey)
      .catch(async () => {
        // jose refuses to sign an unknown crit: build it by hand
        const header = Buffer.from(JSON.stringify({ alg: 'RS256', crit: ['x-ext'], 'x-ext': 1 })).toString(
          'base64url',
        );
        return new CompactSign(Buffer.from(JSON.stringify({ application_claim: nsClaim() })))
          .setProtectedHeader({ alg: 'RS256' })
          .sign(signingKey)
          .then((t) => `${header}.${t.split('.')[1] ?? ''}.${t.split('.')[2] ?? ''}`);
      });
    expect(await status(crit)).toBe(401);
    const flat = await new FlattenedSign(Buffer.from(JSON.stringify({ application_claim: nsClaim() })))
      .setProtectedHeader({ alg: 'RS256', b64: false, crit: ['b64'] })
      .sign(signingKey);
    const unencoded = `${flat.protected ?? ''}.${flat.payload}.${flat.signature}`;
    expect(await status(unencoded)).toBe(401);
    // a token whose payload is a good token, signed by a stranger
    const { privateKey } = await generateKeyPair('RS256');
    const nested = await new CompactSign(Buffer.from(good))
      .setProtectedHeader({ alg: 'RS256', cty: 'JWT' })
      .sign(privateKey);
    expect(await status(nested)).toBe(401);
  });

  it("refuses another function's token (403) and empty or non-string claims", async () => {
    expect(await status(await tokenFor('other'), 'vault')).toBe(403);
    const sign = (claims: unknown) =>
      new SignJWT({ application_claim: claims }).setProtectedHeader({ alg: 'RS256' }).sign(signingKey);
    expect(await status(await sign([{ namespace_id: '', application_id: '' }]))).toBe(403);
    expect(await status(await sign([{ namespace_id: [namespaceId] }]))).toBe(403);
    expect(await status(await sign({ namespace_id: namespaceId }))).toBe(401);
  });

  it('mints only for existing functions, within the lifetime bounds, from a small strict body', async () => {
    expect((await mint('ghost')).status).toBe(404);
    expect(
      (await p.api('/v1/functions/..%2fvault/tokens', { method: 'POST' })).status,
    ).toBeGreaterThanOrEqual(400);
    for (const expiresInSec of [0, -1, 1.5, 1e308, '60', null, 10 * 365 * 24 * 3600 + 1]) {
      expect((await mint('vault', { expiresInSec })).status, String(expiresInSec)).toBe(400);
    }
    expect((await mint('vault', { namespace_id: 'x' })).status).toBe(400);
    expect((await mint('vault', { pad: 'x'.repeat(10_000) })).status).toBe(413);
    const longest = await mint('vault', { expiresInSec: 10 * 365 * 24 * 3600 });
    expect(longest.status).toBe(201);
    expect(Date.parse(((await longest.json()) as { expiresAt: string }).expiresAt)).toBeGreaterThan(
      Date.now(),
    );
    const short = await tokenFor('vault', { expiresInSec: 1 });
    await waitUntil('the one-second token to expire', async () => (await status(short)) === 401, 10_000);
  });

  it('revokes every function token minted before the revoke answers, concurrent mints included', async () => {
    const before = await tokenFor('vault');
    const racing = await Promise.all([
      tokenFor('vault'),
      tokenFor('vault'),
      p.api('/v1/functions/vault/tokens/revoke', { method: 'POST' }).then(() => ''),
      tokenFor('vault'),
    ]);
    expect(await status(before)).toBe(403);
    const revoked = await p.api('/v1/functions/vault/tokens/revoke', { method: 'POST' });
    expect(revoked.status).toBe(200);
    for (const token of racing.filter((t) => t !== '')) expect(await status(token)).toBe(403);
    expect(await status(await tokenFor('vault'))).toBe(200);
  });
});

describe('private functions and a damaged data directory', () => {
  const started: TestPlatform[] = [];
  const dirs: string[] = [];

  afterAll(async () => {
    for (const p of started) await p.stop().catch(() => undefined);
    for (const p of started) await removeDir(p.dataDir);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const privateCopy = async (): Promise<string> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'skiff-test-scw-red-'));
    dirs.push(dir);
    await cp(fixture('scw-red-node'), dir, { recursive: true });
    await writeFile(
      path.join(dir, 'skiff.json'),
      JSON.stringify({ runtime: 'node', flavor: 'scaleway', access: { private: true } }),
    );
    return dir;
  };

  it("refuses another platform's tokens even when it is given this platform's namespace id", async () => {
    const a = await startPlatform();
    started.push(a);
    const b = await startPlatform();
    started.push(b);
    const dir = await privateCopy();
    for (const q of [a, b]) expect((await q.deploy('vault', dir)).status).toBe(201);
    // the namespace id swap: b is restarted with a's id
    await b.stop();
    await writeFile(
      path.join(b.dataDir, 'access', 'namespace-id'),
      await readFile(path.join(a.dataDir, 'access', 'namespace-id')),
    );
    const b2 = await startPlatform({ dataDir: b.dataDir });
    started.push(b2);
    for (const scope of ['namespace', 'function']) {
      const res = await b2.api('/v1/functions/vault/tokens', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ scope }),
      });
      const { token } = (await res.json()) as { token: string };
      expect((await b2.call('/vault/ok', { headers: { 'X-Auth-Token': token } })).status, scope).toBe(200);
      expect((await a.call('/vault/ok', { headers: { 'X-Auth-Token': token } })).status, scope).toBe(401);
    }
  }, 120_000);

  it('makes loosened key files owner-only again at the next start', async () => {
    const p = await startPlatform();
    started.push(p);
    const access = path.join(p.dataDir, 'access');
    await p.stop();
    await chmod(access, 0o755);
    await chmod(path.join(access, 'signing-key.pem'), 0o644);
    await chmod(path.join(access, 'namespace-id'), 0o666);
    const again = await startPlatform({ dataDir: p.dataDir });
    started.push(again);
    expect((await stat(access)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(access, 'signing-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(access, 'namespace-id'))).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('refuses a weak (1024-bit) or non-RSA signing key at start: 500, and no token is made', async () => {
    for (const key of [
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    ]) {
      const p = await startPlatform();
      started.push(p);
      expect((await p.deploy('vault', await privateCopy())).status).toBe(201);
      await p.stop();
      await writeFile(
        path.join(p.dataDir, 'access', 'signing-key.pem'),
        key.export({ type: 'pkcs8', format: 'pem' }),
      );
      const again = await startPlatform({ dataDir: p.dataDir });
      started.push(again);
      expect((await again.api('/v1/access')).status).toBe(500);
      expect((await again.api('/v1/functions/vault/tokens', { method: 'POST' })).status).toBe(500);
      const weak = await new SignJWT({ application_claim: [{ namespace_id: 'x' }] })
        .setProtectedHeader({ alg: key.asymmetricKeyType === 'rsa' ? 'RS256' : 'ES256' })
        .sign(key)
        .catch(() => 'x.y.z');
      const res = await again.call('/vault/ok', { headers: { 'X-Auth-Token': weak } });
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('function runtime not setup correctly\n');
    }
  }, 120_000);
});
