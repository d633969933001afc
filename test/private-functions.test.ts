/**
 * Private functions (skiff.json `access.private`) on the real platform, over real HTTP and gRPC: tokens
 * made by the control API and the CLI, and hostile ones crafted with jose and the platform's own key.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { credentials, Metadata, status, type Client } from '@grpc/grpc-js';
import { jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, removeDir, startPlatform, type TestPlatform } from './helpers/platform.js';
import { TMP_PREFIX } from './helpers/tmp.js';
import { invoke, InvokerClient, target } from './grpc/setup.js';
import { coapCall } from './coap/setup.js';
import { Agent } from 'coap';

const BIN = path.resolve(import.meta.dirname, '..', 'bin', 'skiff.js');

/** The call-node fixture with `extra` merged into its skiff.json. */
async function callNodeWith(extra: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  await cp(fixture('call-node'), dir, { recursive: true });
  await writeFile(path.join(dir, 'skiff.json'), JSON.stringify({ runtime: 'node', ...extra }));
  return dir;
}

interface Minted {
  token: string;
  expiresAt: string | null;
}

async function mint(p: TestPlatform, name: string, body: Record<string, unknown> = {}): Promise<Minted> {
  const res = await p.api(`/v1/functions/${name}/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Minted;
}

/** The gateway's answer to a call of `name` with these headers: status and error code (or body). */
async function outcome(p: TestPlatform, name: string, headers: Record<string, string> = {}) {
  const res = await p.call(`/${name}/hello`, { headers });
  const text = await res.text();
  if (res.ok) return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  const { error } = JSON.parse(text) as { error: { code: string; message: string } };
  return { status: res.status, code: error.code, message: error.message };
}

const FORBIDDEN = { status: 403, code: 'SKIFF_E_FORBIDDEN', message: 'Forbidden' };
const NOT_VALID = { status: 401, code: 'SKIFF_E_UNAUTHORIZED', message: 'authorization token not valid' };
const NOT_SETUP = { status: 500, code: 'SKIFF_E_INTERNAL', message: 'function runtime not setup correctly' };

describe('private functions', () => {
  let p: TestPlatform;
  const dirs: string[] = [];
  let privateDir: string;
  let signingKey: ReturnType<typeof createPrivateKey>;
  let namespaceId: string;

  /** A token signed with the platform's own key, with these claims and edits. */
  const craft = (claims: unknown, edit: (jwt: SignJWT) => SignJWT = (j) => j): Promise<string> =>
    edit(new SignJWT({ application_claim: claims }).setProtectedHeader({ alg: 'RS256', typ: 'JWT' })).sign(
      signingKey,
    );

  beforeAll(async () => {
    p = await startPlatform();
    privateDir = await callNodeWith({ access: { private: true } });
    dirs.push(privateDir);
    const res = await p.deploy('secret-fn', privateDir);
    expect(res.status, await res.text()).toBe(201);
    await p.deployAll({ open: 'call-node' });
    signingKey = createPrivateKey(await readFile(path.join(p.dataDir, 'access', 'signing-key.pem')));
    namespaceId = (await readFile(path.join(p.dataDir, 'access', 'namespace-id'), 'utf8')).trim();
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
    for (const dir of dirs) await removeDir(dir);
  });

  it('keeps its key material owner-only in the data directory', async () => {
    const { stat } = await import('node:fs/promises');
    expect((await stat(path.join(p.dataDir, 'access'))).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(p.dataDir, 'access', 'signing-key.pem'))).mode & 0o777).toBe(0o600);
    expect(namespaceId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('shows the namespace id and the public key (PKCS#1 and SPKI), which verifies its tokens, never the private key', async () => {
    const res = await p.api('/v1/access');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toMatch(/PRIVATE/);
    const info = JSON.parse(text) as { namespaceId: string; publicKey: string; publicKeySpki: string };
    expect(info.namespaceId).toBe(namespaceId);
    expect(info.publicKey).toMatch(/^-----BEGIN RSA PUBLIC KEY-----/);
    const { token } = await mint(p, 'secret-fn', { scope: 'namespace' });
    for (const pem of [info.publicKey, info.publicKeySpki]) {
      const { payload } = await jwtVerify(token, createPublicKey(pem), { algorithms: ['RS256'] });
      expect(payload).toMatchObject({ iss: 'skiff', sub: 'token', aud: 'functions' });
    }
  });

  it('refuses a call without a token with 403 Forbidden; a public function needs none', async () => {
    expect(await outcome(p, 'secret-fn')).toEqual(FORBIDDEN);
    expect(await outcome(p, 'open')).toMatchObject({ status: 200, body: { function: 'open' } });
  });

  it('accepts a namespace token and a function token from the control API', async () => {
    const ns = await mint(p, 'secret-fn', { scope: 'namespace' });
    expect(await outcome(p, 'secret-fn', { 'x-auth-token': ns.token })).toMatchObject({ status: 200 });
    const fn = await mint(p, 'secret-fn', { expiresInSec: 3600 });
    expect(Date.parse(fn.expiresAt ?? '')).toBeGreaterThan(Date.now());
    expect(await outcome(p, 'secret-fn', { 'x-auth-token': fn.token })).toMatchObject({
      status: 200,
      body: { function: 'secret-fn', trigger: 'http' },
    });
  });

  it('accepts a matching namespace claim or application claim alone, and refuses one that matches neither', async () => {
    expect(
      await outcome(p, 'secret-fn', {
        // as Scaleway's tokens are made: its own issuer, subject and audience
        'x-auth-token': await craft([{ namespace_id: namespaceId, application_id: 'other' }], (jwt) =>
          jwt.setIssuer('scaleway').setSubject('token').setAudience('functions'),
        ),
      }),
    ).toMatchObject({ status: 200 });
    const appId = JSON.parse(
      Buffer.from((await mint(p, 'secret-fn')).token.split('.')[1] ?? '', 'base64url').toString(),
    ) as { application_claim: [{ application_id: string }] };
    const onlyApp = await craft([
      { namespace_id: 'other', application_id: appId.application_claim[0].application_id },
    ]);
    expect(await outcome(p, 'secret-fn', { 'x-auth-token': onlyApp })).toMatchObject({ status: 200 });
    const neither = await craft([{ namespace_id: 'other', application_id: 'other' }]);
    expect(await outcome(p, 'secret-fn', { 'x-auth-token': neither })).toEqual(FORBIDDEN);
  });

  it('refuses two claims, an expired or not yet valid token, a tampered one, alg none and HS256 with 401', async () => {
    const claim = { namespace_id: namespaceId, application_id: '' };
    const now = Math.floor(Date.now() / 1000);
    const good = await craft([claim]);
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const tampered = `${header}.${payload.slice(0, -2)}${payload.endsWith('A') ? 'B' : 'A'}${payload.slice(-1)}.${signature}`;
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    const publicPem = createPublicKey(signingKey).export({ type: 'spki', format: 'pem' });
    const hs256 = await new SignJWT({ application_claim: [claim] })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(publicPem.toString()));
    const hostile = {
      twoClaims: await craft([claim, claim]),
      noClaim: await craft([]),
      expired: await craft([claim], (j) => j.setExpirationTime(now - 60)),
      notYet: await craft([claim], (j) => j.setNotBefore(now + 3600)),
      tampered,
      none,
      hs256,
      garbage: 'not-a-jwt',
    };
    for (const [what, token] of Object.entries(hostile)) {
      expect(await outcome(p, 'secret-fn', { 'x-auth-token': token }), what).toEqual(NOT_VALID);
    }
    expect(await outcome(p, 'secret-fn', { 'x-auth-token': good })).toMatchObject({ status: 200 });
  });

  it('reads the token from X-Auth-Token, SCW-Functions-Token, SCW_FUNCTIONS_TOKEN and a bearer token', async () => {
    const { token } = await mint(p, 'secret-fn');
    for (const header of ['X-Auth-Token', 'SCW-Functions-Token', 'SCW_FUNCTIONS_TOKEN']) {
      expect(await outcome(p, 'secret-fn', { [header]: token }), header).toMatchObject({ status: 200 });
    }
    expect(await outcome(p, 'secret-fn', { authorization: `Bearer ${token}` })).toMatchObject({
      status: 200,
    });
    // the first header sent wins: a bad X-Auth-Token is not saved by a good bearer token
    expect(
      await outcome(p, 'secret-fn', { 'x-auth-token': 'bad', authorization: `Bearer ${token}` }),
    ).toEqual(NOT_VALID);
  });

  it('checks async calls before queuing them', async () => {
    const refused = await p.call('/secret-fn/hello', {
      method: 'POST',
      headers: { 'x-skiff-async': 'true' },
    });
    expect(refused.status).toBe(403);
    const { token } = await mint(p, 'secret-fn');
    const accepted = await p.call('/secret-fn/hello', {
      method: 'POST',
      headers: { 'x-skiff-async': 'true', 'x-auth-token': token },
    });
    expect(accepted.status).toBe(202);
  });

  it('lets another function ctx.call it without a token (access.callers governs calls)', async () => {
    const res = await p.call('/open/ping?peer=secret-fn', { method: 'POST', body: 'x' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ function: 'secret-fn', trigger: 'call', caller: 'open' });
  });

  it('needs the token over gRPC too, in the call metadata', async () => {
    const client: Client = new InvokerClient(target(p), credentials.createInsecure());
    try {
      const without = await invoke(client, { function: 'secret-fn', path: '/hello' });
      expect(without.error?.code).toBe(status.PERMISSION_DENIED);
      expect(without.trailers.get('skiff-error-code')).toEqual(['SKIFF_E_FORBIDDEN']);
      const bad = new Metadata();
      bad.set('x-auth-token', 'bad');
      expect((await invoke(client, { function: 'secret-fn' }, { metadata: bad })).error?.code).toBe(
        status.UNAUTHENTICATED,
      );
      const md = new Metadata();
      md.set('x-auth-token', (await mint(p, 'secret-fn')).token);
      const ok = await invoke(client, { function: 'secret-fn', path: '/hello' }, { metadata: md });
      expect(ok.error).toBeUndefined();
      expect(ok.response?.status).toBe(200);
    } finally {
      client.close();
    }
  });

  it('refuses it over CoAP, which carries no token (4.03); a public function still answers', async () => {
    const base = p.server.endpoints['coap'];
    expect(base).toBeDefined();
    const agent = new Agent({ type: 'udp4' });
    try {
      expect((await coapCall(agent, base as string, '/secret-fn/hello')).code).toBe('4.03');
      expect((await coapCall(agent, base as string, '/open/hello')).code).toBe('2.05');
    } finally {
      agent.close();
    }
  });

  it('revokes every function token of a function, and keeps namespace tokens', async () => {
    const fn = await mint(p, 'secret-fn');
    const ns = await mint(p, 'secret-fn', { scope: 'namespace' });
    const res = await p.api('/v1/functions/secret-fn/tokens/revoke', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ function: 'secret-fn', revoked: true });
    expect(await outcome(p, 'secret-fn', { 'x-auth-token': fn.token })).toEqual(FORBIDDEN);
    expect(await outcome(p, 'secret-fn', { 'x-auth-token': ns.token })).toMatchObject({ status: 200 });
    expect(
      await outcome(p, 'secret-fn', { 'x-auth-token': (await mint(p, 'secret-fn')).token }),
    ).toMatchObject({
      status: 200,
    });
  });

  it('keeps function tokens across redeploys, and refuses them once the function is deleted and made again', async () => {
    const { token } = await mint(p, 'secret-fn');
    expect((await p.deploy('secret-fn', privateDir)).status).toBe(200);
    expect(await outcome(p, 'secret-fn', { 'x-auth-token': token })).toMatchObject({ status: 200 });
    expect((await p.api('/v1/functions/secret-fn', { method: 'DELETE' })).status).toBeLessThan(300);
    expect((await p.deploy('secret-fn', privateDir)).status).toBe(201);
    expect(await outcome(p, 'secret-fn', { 'x-auth-token': token })).toEqual(FORBIDDEN);
    expect(
      await outcome(p, 'secret-fn', { 'x-auth-token': (await mint(p, 'secret-fn')).token }),
    ).toMatchObject({
      status: 200,
    });
  });

  it('answers token requests for unknown functions and bad bodies with Skiff errors', async () => {
    expect((await p.api('/v1/functions/nobody/tokens', { method: 'POST' })).status).toBe(404);
    const bad = await p.api('/v1/functions/secret-fn/tokens', {
      method: 'POST',
      body: JSON.stringify({ scope: 'everything' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('SKIFF_E_INVALID_REQUEST');
    const noAdmin = await fetch(`${p.controlUrl}/v1/functions/secret-fn/tokens`, { method: 'POST' });
    expect(noAdmin.status).toBe(401);
  });

  it('makes a working token with `skiff fn token`, and revokes with --revoke', async () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '', SKIFF_HOME: p.dataDir };
    const run = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [BIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
          resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr });
        });
      });
    const made = await run('fn', 'token', 'secret-fn', '--expires', '15m');
    expect(made.code, made.stderr).toBe(0);
    const token = made.stdout.trim();
    expect(await outcome(p, 'secret-fn', { 'scw-functions-token': token })).toMatchObject({ status: 200 });
    const json = await run('--json', 'fn', 'token', 'secret-fn', '--scope', 'namespace');
    expect(JSON.parse(json.stdout)).toMatchObject({ scope: 'namespace', expiresAt: null });
    const usage = await run('fn', 'token', 'secret-fn', '--expires', 'soon');
    expect(usage.code).toBe(2);
    const shown = await run('fn', 'get', 'secret-fn');
    expect(shown.stdout).toMatch(/Access:\s+private/);
    expect((await run('fn', 'get', 'open')).stdout).toMatch(/Access:\s+public/);
    const revoked = await run('fn', 'token', 'secret-fn', '--revoke');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(await outcome(p, 'secret-fn', { 'scw-functions-token': token })).toEqual(FORBIDDEN);
  });

  it('refuses a skiff.json whose access.private is not a boolean', async () => {
    const dir = await callNodeWith({ access: { private: 'yes' } });
    dirs.push(dir);
    const res = await p.deploy('badprivate', dir);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('access.private');
  });
});

describe('private functions without a usable signing key', () => {
  let p: TestPlatform | undefined;
  const dirs: string[] = [];

  afterAll(async () => {
    await p?.stop();
    if (p !== undefined) await removeDir(p.dataDir);
    for (const dir of dirs) await removeDir(dir);
  });

  it('keeps tokens across a restart, and answers 500 once the key file is corrupt or missing', async () => {
    p = await startPlatform();
    const dataDir = p.dataDir;
    const dir = await callNodeWith({ access: { private: true } });
    dirs.push(dir);
    expect((await p.deploy('locked', dir)).status).toBe(201);
    const { token } = await mint(p, 'locked', { scope: 'namespace' });
    await p.stop();

    p = await startPlatform({ dataDir });
    expect(await outcome(p, 'locked', { 'x-auth-token': token })).toMatchObject({ status: 200 });
    await p.stop();

    const keyFile = path.join(dataDir, 'access', 'signing-key.pem');
    await writeFile(keyFile, '-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n');
    p = await startPlatform({ dataDir });
    expect(await outcome(p, 'locked', { 'x-auth-token': token })).toEqual(NOT_SETUP);
    // no token is still 403 (that needs no key), and no token can be made
    expect(await outcome(p, 'locked')).toEqual(FORBIDDEN);
    const res = await p.api('/v1/functions/locked/tokens', { method: 'POST' });
    expect(res.status).toBe(500);
    await p.stop();

    await rm(keyFile);
    p = await startPlatform({ dataDir });
    expect(await outcome(p, 'locked', { 'x-auth-token': token })).toEqual(NOT_SETUP);
  }, 120_000);
});
