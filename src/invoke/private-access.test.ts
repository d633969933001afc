/** The token check of private functions, with real keys (jose) and fake lookups. */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { SkiffError } from '../shared/errors.js';
import type { AccessKeys } from '../store/access-keys.js';
import { mintToken, TOKEN_ISSUER } from './access-tokens.js';
import { ACCESS_DENIALS, accessError, accessFailureText, PrivateAccess, tokenOf } from './private-access.js';

const NAMESPACE = '11111111-2222-4333-8444-555555555555';
const APP = '99999999-8888-4777-8666-555555555555';
const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keys: AccessKeys = { namespaceId: NAMESPACE, keys: pair };

function access(over: Partial<{ private: boolean; app: string | undefined; keys: AccessKeys }> = {}) {
  return new PrivateAccess({
    keys: over.keys ?? keys,
    isPrivate: () => over.private ?? true,
    applicationId: () => ('app' in over ? over.app : APP),
  });
}

const sign = (claims: unknown, edit: (jwt: SignJWT) => SignJWT = (j) => j) =>
  edit(new SignJWT({ application_claim: claims }).setProtectedHeader({ alg: 'RS256' })).sign(pair.privateKey);

describe('PrivateAccess.check', () => {
  it('accepts a matching namespace or application claim, and refuses one that matches neither', async () => {
    const a = access();
    expect(await a.check('f', await sign([{ namespace_id: NAMESPACE, application_id: '' }]))).toEqual({
      ok: true,
    });
    expect(await a.check('f', await sign([{ namespace_id: '', application_id: APP }]))).toEqual({ ok: true });
    expect(await a.check('f', await sign([{ namespace_id: 'x', application_id: 'y' }]))).toEqual({
      ok: false,
      reason: 'forbidden',
    });
  });

  it('never matches an empty or missing id, nor a function without an application id', async () => {
    const none = access({ app: undefined });
    expect(await none.check('f', await sign([{ namespace_id: '', application_id: '' }]))).toMatchObject({
      reason: 'forbidden',
    });
    expect(await none.check('f', await sign([{}]))).toMatchObject({ reason: 'forbidden' });
  });

  it('refuses zero, several or malformed claims as invalid (401)', async () => {
    const a = access();
    const good = { namespace_id: NAMESPACE, application_id: APP };
    for (const claims of [[], [good, good], undefined, 'x', [null], [[good]]]) {
      expect(await a.check('f', await sign(claims)), JSON.stringify(claims)).toEqual({
        ok: false,
        reason: 'invalid',
      });
    }
  });

  it('refuses expired, not yet valid, tampered, unsigned and HS256 tokens', async () => {
    const a = access();
    const claim = [{ namespace_id: NAMESPACE, application_id: '' }];
    const now = Math.floor(Date.now() / 1000);
    const invalid = { ok: false, reason: 'invalid' };
    expect(await a.check('f', await sign(claim, (j) => j.setExpirationTime(now - 10)))).toEqual(invalid);
    expect(await a.check('f', await sign(claim, (j) => j.setNotBefore(now + 600)))).toEqual(invalid);
    const [h, p, s] = (await sign(claim)).split('.') as [string, string, string];
    const other = Buffer.from(JSON.stringify({ application_claim: [{ namespace_id: NAMESPACE, x: 1 }] }));
    expect(await a.check('f', `${h}.${other.toString('base64url')}.${s}`)).toEqual(invalid);
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    expect(await a.check('f', `${none}.${p}.`)).toEqual(invalid);
    const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' });
    const hs = await new SignJWT({ application_claim: claim })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(Buffer.from(publicPem));
    expect(await a.check('f', hs)).toEqual(invalid);
    expect(await a.check('f', 'not a jwt')).toEqual(invalid);
  });

  it('says no token (403) before anything else, and not set up (500) without a key', async () => {
    expect(await access().check('f', undefined)).toEqual({ ok: false, reason: 'no-token' });
    const broken = access({ keys: { namespaceId: NAMESPACE, keys: { problem: 'gone' } } });
    expect(await broken.check('f', 'x.y.z')).toEqual({ ok: false, reason: 'not-setup' });
    expect(await broken.check('f', undefined)).toEqual({ ok: false, reason: 'no-token' });
  });

  it('accepts the tokens mintToken makes, with the registered claims of SCW tokens', async () => {
    const a = access();
    const fn = await mintToken(keys, { scope: 'function', applicationId: APP, expiresInSec: 60 });
    expect(await a.check('f', fn.token)).toEqual({ ok: true });
    expect(Date.parse(fn.expiresAt ?? '') - Date.now()).toBeGreaterThan(50_000);
    const ns = await mintToken(keys, { scope: 'namespace', applicationId: APP });
    expect(ns.expiresAt).toBeNull();
    expect(await access({ app: 'another' }).check('f', ns.token)).toEqual({ ok: true });
    const payload = JSON.parse(Buffer.from(ns.token.split('.')[1] ?? '', 'base64url').toString()) as object;
    expect(payload).toMatchObject({
      iss: TOKEN_ISSUER,
      sub: 'token',
      aud: 'functions',
      application_claim: [{ namespace_id: NAMESPACE, application_id: '' }],
    });
    expect(await access({ app: 'another' }).check('f', fn.token)).toMatchObject({ reason: 'forbidden' });
  });
});

describe('PrivateAccess.authorize', () => {
  it('asks HTTP and gRPC for a token, refuses CoAP, and lets the platform’s own triggers pass', async () => {
    const a = access();
    await expect(a.authorize('f', 'http', [])).rejects.toMatchObject({ code: 'SKIFF_E_FORBIDDEN' });
    await expect(a.authorize('f', 'grpc', [['x-auth-token', 'bad']])).rejects.toMatchObject({
      code: 'SKIFF_E_UNAUTHORIZED',
      message: 'authorization token not valid',
    });
    const token = (await mintToken(keys, { scope: 'function', applicationId: APP })).token;
    await expect(a.authorize('f', 'coap', [['x-auth-token', token]])).rejects.toMatchObject({
      code: 'SKIFF_E_FORBIDDEN',
    });
    for (const trigger of ['async', 'mqtt', 'cron', 'call', 'cast'] as const) {
      await expect(a.authorize('f', trigger, [['x', '1']])).resolves.toEqual([['x', '1']]);
    }
    const sent: [string, string][] = [
      ['x-auth-token', 'anything'],
      ['authorization', 'Bearer t'],
      ['x', '1'],
    ];
    await expect(access({ private: false }).authorize('f', 'http', sent)).resolves.toEqual(sent);
  });

  it('hands a private function the headers without its callers’ tokens', async () => {
    const token = (await mintToken(keys, { scope: 'function', applicationId: APP })).token;
    const sent: [string, string][] = [
      ['X-Auth-Token', token],
      ['scw-functions-token', 'other'],
      ['SCW_FUNCTIONS_TOKEN', 'other'],
      ['authorization', 'Bearer other'],
      ['authorization-extra', 'kept'],
      ['x', '1'],
    ];
    await expect(access().authorize('f', 'http', sent)).resolves.toEqual([
      ['authorization-extra', 'kept'],
      ['x', '1'],
    ]);
  });
});

describe('tokenOf', () => {
  it('reads X-Auth-Token, then SCW-Functions-Token, then SCW_FUNCTIONS_TOKEN, then a bearer token', () => {
    const all: [string, string][] = [
      ['authorization', 'Bearer d'],
      ['SCW_FUNCTIONS_TOKEN', 'c'],
      ['scw-functions-token', 'b'],
      ['X-Auth-Token', 'a'],
    ];
    expect(tokenOf(all)).toBe('a');
    expect(tokenOf(all.slice(0, 3))).toBe('b');
    expect(tokenOf(all.slice(0, 2))).toBe('c');
    expect(tokenOf(all.slice(0, 1))).toBe('d');
    expect(tokenOf([['authorization', 'Basic eA==']])).toBeUndefined();
    expect(tokenOf([])).toBeUndefined();
    expect(
      tokenOf([
        ['x-auth-token', ' '],
        ['scw-functions-token', 'b'],
      ]),
    ).toBe('b');
  });
});

describe('accessFailureText', () => {
  it('gives the SCW text with its newline for a refusal only', () => {
    expect(accessFailureText(accessError('no-token'))).toBe('Forbidden\n');
    expect(accessFailureText(accessError('not-setup'))).toBe('function runtime not setup correctly\n');
    expect(accessFailureText(accessError('invalid'))).toBe('authorization token not valid\n');
    expect(accessError('invalid').status).toBe(ACCESS_DENIALS.invalid.status);
    expect(accessError('not-setup').status).toBe(500);
    expect(accessFailureText(new SkiffError('SKIFF_E_FORBIDDEN', 'Forbidden'))).toBeUndefined();
  });
});
