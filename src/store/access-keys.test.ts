import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACCESS_DIR,
  loadAccessKeys,
  NAMESPACE_ID_FILE,
  publicKeyPem,
  SIGNING_KEY_FILE,
} from './access-keys.js';

const dirs: string[] = [];
const dataDir = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-access-'));
  dirs.push(dir);
  return dir;
};

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('loadAccessKeys', () => {
  it('makes an owner-only RSA key and a namespace id once, and reads the same ones back', async () => {
    const dir = dataDir();
    const first = await loadAccessKeys(dir);
    if ('problem' in first.keys) throw new Error(first.keys.problem);
    const keyFile = path.join(dir, ACCESS_DIR, SIGNING_KEY_FILE);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, ACCESS_DIR)).mode & 0o777).toBe(0o700);
    expect(first.keys.privateKey.asymmetricKeyType).toBe('rsa');
    const again = await loadAccessKeys(dir);
    expect(again.namespaceId).toBe(first.namespaceId);
    if ('problem' in again.keys) throw new Error(again.keys.problem);
    expect(publicKeyPem(again.keys)).toEqual(publicKeyPem(first.keys));
    expect(publicKeyPem(first.keys).pkcs1).toMatch(/^-----BEGIN RSA PUBLIC KEY-----/);
  });

  it('reports a damaged, foreign or missing key instead of replacing it', async () => {
    const dir = dataDir();
    const { namespaceId } = await loadAccessKeys(dir);
    const keyFile = path.join(dir, ACCESS_DIR, SIGNING_KEY_FILE);
    writeFileSync(keyFile, 'garbage');
    const damaged = await loadAccessKeys(dir);
    expect(damaged.namespaceId).toBe(namespaceId);
    expect(damaged.keys).toEqual({ problem: expect.stringContaining('not a private key') });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(keyFile, ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect((await loadAccessKeys(dir)).keys).toEqual({ problem: expect.stringContaining('not an RSA key') });
    unlinkSync(keyFile);
    expect((await loadAccessKeys(dir)).keys).toEqual({ problem: expect.stringContaining('is missing') });
    expect(readFileSync(path.join(dir, ACCESS_DIR, NAMESPACE_ID_FILE), 'utf8').trim()).toBe(namespaceId);
  });
});
